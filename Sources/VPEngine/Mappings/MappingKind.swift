import Foundation
import VPData

/// The output label mappings of REFERENCE.md §3, each with its policy type (one file per mapping in
/// `Mappings/`). Adding a mapping: a new `MappingPolicy` type, a case here and its line in `policy`.
public enum MappingKind: String, Codable, Sendable, CaseIterable {
  case rlm
  case flm
  case ilm
  case fastILM = "fast-ilm"
  case freqMap = "freqmap"
  case iterMap = "itermap"
  case fullyMap = "fullymap"
  case blm
  case blmPlus = "blm+"
  case semantic
  case identity

  /// The type that says how this mapping behaves (exhaustive: a new case does not compile without one).
  public var policy: any MappingPolicy.Type {
    switch self {
    case .rlm: return RandomLabelMapping.self
    case .flm: return FrequencyLabelMapping.self
    case .ilm: return IterativeLabelMapping.self
    case .fastILM: return FastIterativeLabelMapping.self
    case .freqMap: return FreqMap.self
    case .iterMap: return IterMap.self
    case .fullyMap: return FullyMap.self
    case .blm: return BayesianLabelMapping.self
    case .blmPlus: return BayesianLabelMappingPlus.self
    case .semantic: return SemanticMap.self
    case .identity: return IdentityLabelMapping.self
    }
  }

  /// Whether the mapping reads a frequency matrix at the start of epoch `epoch` (0-based).
  public func needsFrequency(epoch: Int, interval: Int) -> Bool {
    policy.schedule.isDue(epoch: epoch, interval: interval)
  }
}

/// The settings of a label mapping. Each mapping reads the fields its policy's `options` name.
public struct MappingConfig: Codable, Sendable, Equatable {
  public var kind: MappingKind
  /// Greedy (ILM-VP) or the optimal (Hungarian) one-to-one assignment.
  public var assignment: AssignmentMethod
  /// Epochs between remappings (ILM, IterMap, BLM).
  public var interval: Int
  /// Sources per target (FreqMap/IterMap, SemanticMap).
  public var sourcesPerTarget: Int
  /// BLM+'s k; nil for `max(1, int(0.15 K))` (the published rule, without its k = 0 bug for K < 7).
  public var topK: Int?
  /// BLM's Laplace smoothing λ.
  public var lambda: Double
  /// SemanticMap's similarity of names; nil: WordNet's (`SemanticText.wordnet`).
  public var text: SemanticText?

  public init(
    _ kind: MappingKind, assignment: AssignmentMethod = .greedy, interval: Int = 1, sourcesPerTarget: Int = 1,
    topK: Int? = nil, lambda: Double = 1, text: SemanticText? = nil
  ) {
    self.kind = kind
    self.assignment = assignment
    self.interval = interval
    self.sourcesPerTarget = sourcesPerTarget
    self.topK = topK
    self.lambda = lambda
    self.text = text == .wordnet ? nil : text
  }

  /// The policy of `kind`.
  public var policy: any MappingPolicy.Type { kind.policy }

  /// A short name for tables: `ilm`, `ilm/hungarian`, `itermap(m=5)`, `blm+(k=2)`.
  public var label: String { policy.label(self) }

  func validate(targets: Int, sources: Int) throws {
    guard interval >= 1 else { throw EngineError("mapping: interval must be ≥ 1, got \(interval)") }
    guard sourcesPerTarget >= 1 else { throw EngineError("mapping: sources per target must be ≥ 1") }
    let m = policy.options.contains(.m) ? sourcesPerTarget : 1
    guard targets * m <= sources else {
      throw EngineError(
        "mapping: \(targets) target classes × \(m) need more than the model's \(sources) source classes")
    }
    if let k = topK, k < 1 || k > sources { throw EngineError("mapping: top-k must be in 1…\(sources), got \(k)") }
    guard lambda >= 0, lambda.isFinite else { throw EngineError("mapping: BLM's λ must be ≥ 0, got \(lambda)") }
  }
}
