import Foundation
import VPData
import VPTensor

/// Everything that differs between label mappings, declared once per mapping (one type per file here).
///
/// The engine never switches on a mapping's kind: the trainer asks the policy when to remap and where its
/// frequency matrix comes from, `LabelMapping` asks it for the initial and the recomputed map, and reports ask
/// it whether the mapping remaps and has a one-to-one map to show.
public protocol MappingPolicy: Sendable {
  /// A one-line description, for help and the docs.
  static var summary: String { get }
  /// The options of `MappingConfig` it reads.
  static var options: [MappingOption] { get }
  /// How target logits are formed from source logits (and so which state and trainable parameters it has).
  static var form: MappingForm { get }
  /// When the map is computed from a frequency matrix.
  static var schedule: RemapSchedule { get }
  /// Whether, after the first estimate, the frequency matrix is gathered from the training passes of the
  /// previous epoch instead of an extra forward pass (fast ILM).
  static var reusesTrainingPasses: Bool { get }
  /// What the experiment must provide besides the training images.
  static var needs: [MappingNeed] { get }

  /// The sources of each target before the first frequency matrix (for fixed mappings: the map).
  static func initialSources(
    _ config: MappingConfig, sources: Int, targets: Int, rng: inout SplitMix64, context: MappingContext
  ) throws -> [[Int]]
  /// The new sources of each target (and, for the weighted form, ω `[S, K]`) from a frequency matrix.
  static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float])
  /// The top-k of the probability frequency matrix it reads (0: top-1 counts).
  static func frequencyTopK(_ config: MappingConfig, targets: Int) -> Int
  /// The short name for tables.
  static func label(_ config: MappingConfig) -> String
}

/// The options a mapping may read from `MappingConfig` (their notebook/CLI names).
public enum MappingOption: String, Sendable, CaseIterable {
  case assignment
  case interval
  case m
  case topk
  case lambda
  case mappingLR = "mapping_lr"
  case text
}

/// Where SemanticMap's similarity of class names comes from.
public enum SemanticText: String, Codable, Sendable, CaseIterable {
  /// Wu–Palmer similarity of WordNet synsets (ImageNet-1k models only; no CLIP needed).
  case wordnet
  /// Cosine similarity of CLIP text embeddings of "This is a photo of a {name}." (AutoVP's choice).
  case clip
}

/// Unit-length text embeddings `[n, E]` (row-major) of `n` texts: CLIP's text tower, given to an experiment by
/// its front end.
public typealias TextEmbedder = @Sendable ([String]) throws -> [Float]

/// How target logits come from source logits.
public enum MappingForm: Sendable, Equatable {
  /// Each target averages the logits of its source classes (one-to-one or m-to-1).
  case sourceAverage
  /// Each target is `Σ_s z_s ω[s, t]` (BLM, BLM+).
  case weighted
  /// A trainable linear layer (FullyMap): trainable tensors `mapping.weight`, `mapping.bias`.
  case linear
}

/// When a mapping is (re)computed from a frequency matrix.
public enum RemapSchedule: Sendable, Equatable {
  /// Never: the initial map stays (random, semantic, or a trained layer).
  case never
  /// Once, before the first epoch.
  case once
  /// Before every `interval`-th epoch.
  case everyInterval

  /// Whether a frequency matrix is read before epoch `epoch` (0-based).
  public func isDue(epoch: Int, interval: Int) -> Bool {
    switch self {
    case .never: return false
    case .once: return epoch == 0
    case .everyInterval: return epoch % max(1, interval) == 0
    }
  }

  /// Whether the map can change after the first epoch.
  public var remapsDuringTraining: Bool { self == .everyInterval }
}

/// What a mapping needs from the experiment.
public enum MappingNeed: String, Sendable {
  /// The WordNet synset of every source class (SemanticMap; ImageNet-1k models only).
  case sourceSynsets
  /// The source class names and a CLIP text tower (SemanticMap with `text=clip`).
  case textEmbeddings
}

/// What an experiment offers a mapping when it is built.
public struct MappingContext {
  /// The task's class names.
  public var targetNames: [String]
  /// The WordNet synsets of the source classes, loaded on demand.
  public var sourceSynsets: () throws -> [Int]
  /// The source classes' names (nil: unknown).
  public var sourceNames: [String]?
  /// CLIP's text tower, when the front end has one (nil: none).
  public var embedTexts: TextEmbedder?

  public init(
    targetNames: [String], sourceNames: [String]? = nil, embedTexts: TextEmbedder? = nil,
    sourceSynsets: @escaping () throws -> [Int]
  ) {
    self.targetNames = targetNames
    self.sourceNames = sourceNames
    self.embedTexts = embedTexts
    self.sourceSynsets = sourceSynsets
  }

  /// A context for mappings that need nothing.
  public static func none(targets: Int) -> MappingContext {
    MappingContext(targetNames: (0..<targets).map { "class \($0)" }) {
      throw EngineError("mapping: no WordNet synsets for the source classes")
    }
  }
}

extension MappingPolicy {
  public static var reusesTrainingPasses: Bool { false }
  public static var needs: [MappingNeed] { [] }

  /// Until the first frequency matrix: the first K source classes (Bahng et al.'s choice).
  public static func initialSources(
    _ config: MappingConfig, sources: Int, targets: Int, rng: inout SplitMix64, context: MappingContext
  ) throws -> [[Int]] {
    (0..<targets).map { [$0] }
  }

  public static func frequencyTopK(_ config: MappingConfig, targets: Int) -> Int { 0 }

  /// `kind`, then `(m=…)`, `(k=…)`, `/hungarian`, `/every N` for the options it reads that are not at their default.
  public static func label(_ config: MappingConfig) -> String {
    var s = config.kind.rawValue
    if options.contains(.m) { s += "(m=\(config.sourcesPerTarget))" }
    if options.contains(.topk), let k = config.topK { s += "(k=\(k))" }
    if options.contains(.assignment), config.assignment == .hungarian { s += "/hungarian" }
    if options.contains(.interval), config.interval != 1 { s += "/every \(config.interval)" }
    return s
  }

  /// Whether the map changes while training (remaps after the first epoch).
  public static var remaps: Bool { schedule.remapsDuringTraining }
  /// Whether it has a list of sources per target to show (not a trained layer).
  public static var hasSourceMap: Bool { form != .linear }
}

// MARK: - The recomputations the mappings share

/// One source per target by greedy or Hungarian assignment (FLM, ILM, fast ILM).
enum OneToOneRemap {
  static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    let map = config.assignment == .hungarian ? Assignment.hungarian(d) : Assignment.greedy(d)
    return (map.map { [$0] }, [])
  }
}

/// AutoVP's m sources per target (FreqMap, IterMap).
enum ManyToOneRemap {
  static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    (Assignment.manyToOne(d, m: config.sourcesPerTarget), [])
  }
}

/// A mapping that is never recomputed: `remap` keeps nothing (it is never called).
enum NoRemap {
  static func remap(_ d: FrequencyMatrix) -> (sources: [[Int]], omega: [Float]) { ([], []) }
}

/// BLM's ω: `ω[s, t] = D[s, t] / (Σ_t' D[s, t'] + λ)`, then each column normalised to sum 1; the reported
/// source of each target is its most heavily weighted one.
enum BayesianRemap {
  static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    let (sourceCount, targetCount) = (d.sources, d.targets)
    var w = [Float](repeating: 0, count: sourceCount * targetCount)
    for s in 0..<sourceCount {
      var rowSum = 0.0
      for t in 0..<targetCount { rowSum += d[s, t] }
      let denominator = rowSum + config.lambda
      for t in 0..<targetCount { w[s * targetCount + t] = denominator > 0 ? Float(d[s, t] / denominator) : 0 }
    }
    for t in 0..<targetCount {
      var col: Float = 0
      for s in 0..<sourceCount { col += w[s * targetCount + t] }
      if col > 0 { for s in 0..<sourceCount { w[s * targetCount + t] /= col } }
    }
    let sources = (0..<targetCount).map { t in
      [(0..<sourceCount).max { w[$0 * targetCount + t] < w[$1 * targetCount + t] }!]
    }
    return (sources, w)
  }
}
