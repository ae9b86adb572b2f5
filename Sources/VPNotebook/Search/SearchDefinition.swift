import Foundation
import VPData
import VPEngine

/// One configuration of a search: everything a worker needs to train it, on any machine.
struct TrialConfig: Codable, Sendable, Equatable {
  var id: Int
  /// The axis values that make it this trial, `[[axis, value]]` in the order the axes were written.
  var point: [[String]]
  var model: ModelChoice
  var data: DataSpec
  var prompt: PromptConfig
  var mapping: MappingConfig
  /// `epochs` is the search's maximum budget: the learning-rate schedule is defined on it.
  var training: TrainingConfig
  var seed: UInt64

  /// `image=64 mapping=ilm`.
  var label: String { point.map { "\($0[0])=\($0[1])" }.joined(separator: " ") }
}

/// A search: its axes, its trials, how they are scheduled, and the final retraining. It is written once to
/// the ledger; a later run on the same ledger must define the same search.
struct SearchDefinition: Codable, Sendable, Equatable {
  static let format = 1
  var format = SearchDefinition.format
  var plan: SchedulePlan
  /// `[[axis, value, value…]]`, in the order written.
  var axes: [[String]]
  var trials: [TrialConfig]
  /// Seeds of the final retraining of the chosen configuration (trials train with the first).
  var seeds: [UInt64]
  /// Epochs of the final retraining.
  var finalEpochs: Int
  /// The vpbook build and the digests of the model and data files it ran on (`currentProvenance()`):
  /// a rebuilt engine or a changed input file is another search, never a resumed one.
  var provenance: [String] = []

  /// `build SHA256` of the running executable, then `input PATH SHA256` for every model and data file of
  /// the trials (folders by their listing), as the notebook cache digests them.
  func currentProvenance() throws -> [String] {
    let digests = DigestStore(file: nil)
    var inputs = Set<String>()
    var lines = ["build " + NotebookRunner.buildIdentity]
    for trial in trials {
      let files = try InputFiles.files(for: trial.model) + (try InputFiles.files(forData: trial.data.name))
      for (path, listing) in files where inputs.insert(path).inserted {
        lines.append("input \(path) " + (try digests.digest(path, listing: listing)).sha256)
      }
    }
    return lines
  }

  /// The final runs' configuration: the chosen trial with the final budget.
  func finalConfig(_ chosen: Int) -> TrialConfig {
    var config = trials[chosen]
    config.training.epochs = finalEpochs
    return config
  }

  /// A short, stable digest of the definition (the ledger folder of a notebook's search).
  var digest: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(SHA256.hex((try? encoder.encode(self)) ?? Data()).prefix(16))
  }

  /// The grid product of `axes` (each `[name, values…]`), in written order (the last axis varies fastest).
  static func grid(_ axes: [[String]]) -> [[[String]]] {
    var points: [[[String]]] = [[]]
    for axis in axes {
      points = points.flatMap { point in axis.dropFirst().map { point + [[axis[0], $0]] } }
    }
    return points
  }

  /// `count` distinct indices of `0..<size`, drawn with `seed` (all of them, in order, when count ≥ size).
  static func sample(_ count: Int, of size: Int, seed: UInt64) -> [Int] {
    guard count < size else { return Array(0..<size) }
    var rng = SplitMix64(seed: seed).fork(0x5345)
    return Array(rng.permutation(size).prefix(count))
  }
}

/// A trial's result at a rung: written when the trial reaches `epochs`, beside its saved state.
struct RungRecord: Codable, Sendable, Equatable {
  var trial: Int
  var epochs: Int
  /// Validation accuracy of the state selected so far (what ASHA compares).
  var score: Double
  var selectedEpoch: Int
  var history: [EpochRecord]
  /// Wall seconds of the job that produced it.
  var seconds: Double
  var host: String
  /// SHA-256 of the state file's body.
  var stateSHA256: String
}

/// A final retraining run of the chosen configuration.
struct FinalRecord: Codable, Sendable {
  var seed: UInt64
  var result: RunResult
  /// The learned prompt (for `show prompt`).
  var delta: PackedFloats
  var host: String
}
