import ArgumentParser
import Foundation
import VPCheckpoint
import VPData
import VPEngine
import VPModels
import VPNotebook
import VPTensor

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a visual prompt with a label mapping, for one or more seeds, and evaluate it.",
    discussion: "Every option: vpbook train --help.")

  /// What `--help` prints: the protocol, then every flag from the statements' tables (not re-wrapped).
  static var help: String {
    """
    Train a visual prompt with a label mapping, for one or more seeds, and evaluate it.

    USAGE: vpbook train [--option value] …

    Protocol FMNIST-VP-S (the defaults): MobileNetV2, Fashion-MNIST, the first 500 training images per
    class, the first 2000 test images, 28 → 64 px in a 128 canvas, padding prompt, Adam lr 0.01, MultiStep
    at 50/72 %, batch 64, 10 epochs.
      vpbook train --mapping ilm --seeds 7,8,9 --json output/ilm.json
    Selection uses the validation split (--val); the test split is evaluated once, at the end.

    The options are the notebook statements' (docs/NOTEBOOKS.md), with the same names (per_class is
    --per-class), defaults, help and errors; only the protocol's presets differ.

    \(TrainCommandLine.help)
    """
  }

  @Argument(parsing: .captureForPassthrough, help: "Options, --name value (see below).")
  var options: [String] = []

  func run() throws {
    // The options are parsed from the statements' tables, so ArgumentParser passes --help through too.
    if options.contains("--help") || options.contains("-h") {
      print(Train.help)
      return
    }
    let request = try TrainCommandLine.parse(options)
    if request.portable { try enterPortableMode() }
    try request.prompt.validate()
    let split = try DataCatalog.prepare(request.data, side: request.prompt.imageSide)
    let experiment = try request.experiment(data: split)
    let classifier = experiment.model
    experiment.testEveryEpoch = request.testCurve
    let bar = ProgressBar(enabled: !request.quiet)
    experiment.progress = { bar.update($0) }
    let epochs = request.training.epochs
    // A zero-shot run trains nothing: no epochs to announce.
    let budget = request.method.isSeeded ? ", \(epochs) epoch\(epochs == 1 ? "" : "s")" : ""
    note(
      "\(classifier.name) on \(request.data.name): \(split.train.count) train / \(split.validation?.count ?? 0) val / \(split.test.count) test images, \(split.train.classCount) classes; \(request.method.label)\(budget)"
    )
    var results: [RunResult] = []
    for seed in request.method.isSeeded ? request.seeds : [request.seeds[0]] {
      bar.label = "seed \(seed)"
      let r = try experiment.run(request.method, prompt: request.prompt, training: request.training, seed: seed)
      bar.finish()
      results.append(r)
      print(
        String(
          format: "seed %llu: test %.2f %% (epoch %d selected), %.1f s (%.1f s remapping)", r.seed,
          r.testAccuracy * 100, r.selectedEpoch, r.wallSeconds, r.remapSeconds)
          // The probe trains on features computed once: it has no images per second to show.
          + (r.trainImagesPerSecond > 0 ? String(format: ", %.0f img/s", r.trainImagesPerSecond) : "")
          + (r.inputScale.map { String(format: ", input scale σ = %.3f", $0) } ?? ""))
      if let warning = r.warning { note("warning: seed \(seed): \(warning)") }
    }
    let summary = Summary(results.map(\.testAccuracy))
    print("\(request.method.label): test accuracy \(summary.formatted()) % over \(summary.n) seed(s)")
    note("peak memory (RSS): \(MemoryBudget.format(MemoryBudget.peakResidentBytes)); kernels: \(BLASKernels.summary)")
    if let json = request.json {
      try writeJSON(
        TrainReport(
          vpbook: vpbookVersion, kernels: BLASKernels.summary, data: request.data, results: results,
          testAccuracy: summary), to: json)
      note("wrote \(json)")
    }
    if let csv = request.csv {
      try writeAtomically(Data(TrainCommandLine.csv(results).utf8), to: csv)
      note("wrote \(csv)")
    }
    if let savePrompt = request.savePrompt, let p = experiment.lastPrompt {
      try PromptFile.write(p, to: savePrompt)
      note("wrote \(savePrompt)")
    }
  }
}

struct TrainReport: Codable {
  var vpbook: String
  /// The kernels that ran (`BLASKernels.summary`): OpenBLAS's set, vpbook's own, portable mode.
  var kernels: String
  var data: DataSpec
  var results: [RunResult]
  var testAccuracy: Summary
}

/// Training progress on standard error: a one-line bar with ETA and images/s on a terminal; elsewhere (CI,
/// Slurm job logs, a pipe) a plain line every `logInterval` seconds, the first one with the whole run's size.
final class ProgressBar: @unchecked Sendable {
  let enabled: Bool
  let isTerminal: Bool
  var label = ""
  /// Seconds between plain lines when standard error is not a terminal (`VPBOOK_PROGRESS_SECONDS`, default 10).
  let logInterval: TimeInterval =
    ProcessInfo.processInfo.environment["VPBOOK_PROGRESS_SECONDS"].flatMap(TimeInterval.init) ?? 10
  private var lastDraw = Date.distantPast
  private var started = Date()
  private var lastEpoch = 0
  private var announced = false

  init(enabled: Bool) {
    self.enabled = enabled
    isTerminal = isatty(2) != 0
  }

  func update(_ p: TrainingProgress) {
    guard enabled else { return }
    if !announced {
      announced = true
      started = Date()
      if !isTerminal {
        note("\(label): \(p.epochs) epoch\(p.epochs == 1 ? "" : "s") of \(p.steps) batches")
      }
    }
    lastEpoch = p.epoch
    let now = Date()
    let done = Double((p.epoch - 1) * p.steps + p.step) / Double(max(1, p.epochs * p.steps))
    let elapsed = now.timeIntervalSince(started)
    let eta = done > 0 ? elapsed * (1 - done) / done : 0
    if !isTerminal {
      guard now.timeIntervalSince(lastDraw) >= logInterval, p.phase == "train", p.step > 0 else { return }
      lastDraw = now
      note(
        String(
          format: "%@: epoch %d/%d, batch %d/%d, loss %.3f, %.0f img/s, %.0f %% done, about %@ left", label, p.epoch,
          p.epochs, p.step, p.steps, p.loss, p.imagesPerSecond, done * 100, ProgressBar.duration(eta)))
      return
    }
    guard now.timeIntervalSince(lastDraw) > 0.1 || p.step == p.steps else { return }
    lastDraw = now
    let width = 24
    let filled = Int(done * Double(width))
    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    let text =
      p.phase == "remap"
      ? "\r\(label) epoch \(p.epoch)/\(p.epochs) [\(bar)] remapping labels…"
      : String(
        format: "\r%@ epoch %d/%d [%@] %3.0f%% loss %.3f %.0f img/s ETA %.0fs ", label, p.epoch, p.epochs, bar,
        done * 100,
        p.loss, p.imagesPerSecond, eta)
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// `3 h 20 min`, `4 min 10 s`, `12 s`.
  static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600) h \(s % 3600 / 60) min" }
    if s >= 60 { return "\(s / 60) min \(s % 60) s" }
    return "\(s) s"
  }

  func finish() {
    announced = false
    guard enabled, isTerminal else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
  }
}

/// Encodes `value` as pretty JSON (the results' JSON form) and writes it atomically.
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
  try writeAtomically(try ResultsJSON.encoder(pretty: true).encode(value), to: path)
}
