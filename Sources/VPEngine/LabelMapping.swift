import Foundation
import VPData
import VPTensor

/// The output label mappings of REFERENCE.md §3.
public enum MappingKind: String, Codable, Sendable, CaseIterable {
  /// A random injective map, fixed.
  case rlm
  /// Greedy (or optimal) one-to-one map from the frequency matrix with the initial prompt, fixed.
  case flm
  /// The same, recomputed every `interval` epochs with the current prompt (an extra forward pass).
  case ilm
  /// ILM whose frequency matrix is re-estimated from the forward passes already made while training.
  case fastILM = "fast-ilm"
  /// AutoVP's m-to-1 FreqMap: m sources per target (mean of their logits), fixed after the first estimate.
  case freqMap = "freqmap"
  /// AutoVP's m-to-1 IterMap: the same, recomputed every `interval` epochs.
  case iterMap = "itermap"
  /// AutoVP's FullyMap: a trainable linear layer from the source logits to the targets.
  case fullyMap = "fullymap"
  /// Bayesian-guided label mapping: all source logits, weighted by ω from the frequency matrix.
  case blm
  /// BLM with top-k probability aggregation.
  case blmPlus = "blm+"
  /// AutoVP's SemanticMap: each target takes its most similar source class names (WordNet Wu–Palmer
  /// similarity instead of CLIP text embeddings), round-robin, m per target; fixed.
  case semantic

  /// Whether the mapping reads a frequency matrix at the start of epoch `epoch` (0-based).
  func needsFrequency(epoch: Int, interval: Int) -> Bool {
    switch self {
    case .rlm, .fullyMap, .semantic: return false
    case .flm, .freqMap: return epoch == 0
    case .ilm, .iterMap, .blm, .blmPlus, .fastILM: return epoch % max(1, interval) == 0
    }
  }
}

/// The settings of a label mapping.
public struct MappingConfig: Codable, Sendable, Equatable {
  public var kind: MappingKind
  /// Greedy (ILM-VP) or the optimal (Hungarian) one-to-one assignment.
  public var assignment: AssignmentMethod
  /// Epochs between remappings (ILM, IterMap, BLM).
  public var interval: Int
  /// Sources per target (FreqMap/IterMap).
  public var sourcesPerTarget: Int
  /// BLM+'s k; nil for `max(1, int(0.15 K))` (the published rule, without its k = 0 bug for K < 7).
  public var topK: Int?
  /// BLM's Laplace smoothing λ.
  public var lambda: Double

  public init(
    _ kind: MappingKind, assignment: AssignmentMethod = .greedy, interval: Int = 1, sourcesPerTarget: Int = 1,
    topK: Int? = nil, lambda: Double = 1
  ) {
    self.kind = kind
    self.assignment = assignment
    self.interval = interval
    self.sourcesPerTarget = sourcesPerTarget
    self.topK = topK
    self.lambda = lambda
  }

  /// A short name for tables: `ilm`, `ilm/hungarian`, `itermap(m=5)`, `blm+(k=2)`.
  public var label: String {
    var s = kind.rawValue
    if [.freqMap, .iterMap].contains(kind) || (kind == .semantic && sourcesPerTarget > 1) {
      s += "(m=\(sourcesPerTarget))"
    }
    if kind == .blmPlus, let k = topK { s += "(k=\(k))" }
    if [.flm, .ilm, .fastILM].contains(kind), assignment == .hungarian { s += "/hungarian" }
    if [.ilm, .iterMap, .blm, .blmPlus, .fastILM].contains(kind), interval != 1 { s += "/every \(interval)" }
    return s
  }

  func validate(targets: Int, sources: Int) throws {
    guard interval >= 1 else { throw EngineError("mapping: interval must be ≥ 1, got \(interval)") }
    guard sourcesPerTarget >= 1 else { throw EngineError("mapping: sources per target must be ≥ 1") }
    let m = [.freqMap, .iterMap, .semantic].contains(kind) ? sourcesPerTarget : 1
    guard targets * m <= sources else {
      throw EngineError(
        "mapping: \(targets) target classes × \(m) need more than the model's \(sources) source classes")
    }
    if let k = topK, k < 1 || k > sources { throw EngineError("mapping: top-k must be in 1…\(sources), got \(k)") }
    guard lambda >= 0, lambda.isFinite else { throw EngineError("mapping: BLM's λ must be ≥ 0, got \(lambda)") }
  }
}

/// A label mapping's state: the map from the model's source logits to the task's target logits.
public final class LabelMapping: @unchecked Sendable {
  public let config: MappingConfig
  public let sourceCount: Int
  public let targetCount: Int
  /// One-to-one and m-to-1 mappings: the sources of each target (`[K][m]`).
  public private(set) var sources: [[Int]]
  /// BLM/BLM+: `ω`, `[S, K]` row-major.
  public private(set) var omega: [Float] = []
  /// FullyMap: the trainable layer.
  public var linear: Linear?
  /// The last frequency matrix the mapping was computed from.
  public private(set) var frequency: FrequencyMatrix?

  public init(_ config: MappingConfig, sources: Int, targets: Int, seed: UInt64) throws {
    try config.validate(targets: targets, sources: sources)
    self.config = config
    self.sourceCount = sources
    self.targetCount = targets
    var rng = SplitMix64(seed: seed).fork(0x4C4D)
    switch config.kind {
    case .rlm:
      self.sources = rng.permutation(sources).prefix(targets).map { [$0] }
    case .fullyMap:
      self.sources = []
      // PyTorch's default Linear initialisation: U(−1/√in, 1/√in) for weights and bias.
      let bound = 1 / Float(sources).squareRoot()
      func u() -> Float { (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
      linear = Linear(
        weight: (0..<(sources * targets)).map { _ in u() }, bias: (0..<targets).map { _ in u() }, inFeatures: sources,
        outFeatures: targets)
    default:
      // Until the first frequency matrix: the first K source classes (Bahng et al.'s choice).
      self.sources = (0..<targets).map { [$0] }
    }
  }

  /// BLM+'s k.
  public var topK: Int {
    switch config.kind {
    case .blmPlus: return config.topK ?? max(1, Int(0.15 * Double(targetCount)))
    default: return 0
    }
  }

  /// Whether a frequency matrix is needed before epoch `epoch`.
  public func needsFrequency(epoch: Int) -> Bool { config.kind.needsFrequency(epoch: epoch, interval: config.interval) }

  /// Recomputes the mapping from a frequency matrix.
  /// - Returns: the targets whose sources changed.
  @discardableResult
  public func update(from d: FrequencyMatrix) -> [Int] {
    precondition(d.sources == sourceCount && d.targets == targetCount)
    frequency = d
    let before = sources
    switch config.kind {
    case .rlm, .fullyMap, .semantic: return []
    case .flm, .ilm, .fastILM:
      let map = config.assignment == .hungarian ? Assignment.hungarian(d) : Assignment.greedy(d)
      sources = map.map { [$0] }
    case .freqMap, .iterMap:
      sources = Assignment.manyToOne(d, m: config.sourcesPerTarget)
    case .blm, .blmPlus:
      // ω[s, t] = D[s, t] / (Σ_t' D[s, t'] + λ), then each column normalised to sum 1.
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
      omega = w
      // For reports: each target's most heavily weighted source.
      sources = (0..<targetCount).map { t in
        [(0..<sourceCount).max { w[$0 * targetCount + t] < w[$1 * targetCount + t] }!]
      }
    }
    return (0..<targetCount).filter { before.count != sources.count || before[$0] != sources[$0] }
  }

  /// SemanticMap: sets the sources from a similarity matrix `[S, K]` (see `SemanticSimilarity`).
  public func setSemantic(similarity: [Double]) {
    precondition(config.kind == .semantic && similarity.count == sourceCount * targetCount)
    sources = SemanticSimilarity.roundRobin(
      similarity, sources: sourceCount, targets: targetCount, m: config.sourcesPerTarget)
  }

  /// Target logits `[rows, K]` from source logits `[rows, S]`.
  public func targetLogits(_ z: UnsafePointer<Float>, rows: Int) -> [Float] {
    let (s, k) = (sourceCount, targetCount)
    var out = [Float](repeating: 0, count: rows * k)
    switch config.kind {
    case .fullyMap:
      out.withUnsafeMutableBufferPointer { linear!.forward(z, rows: rows, into: $0.baseAddress!) }
    case .blm, .blmPlus:
      omega.withUnsafeBufferPointer { w in
        out.withUnsafeMutableBufferPointer { o in
          BLAS.sgemm(
            transA: false, transB: false, m: rows, n: k, k: s, a: z, lda: s, b: w.baseAddress!, ldb: k,
            c: o.baseAddress!, ldc: k)
        }
      }
    default:
      for r in 0..<rows {
        for t in 0..<k {
          let list = sources[t]
          var v: Float = 0
          for src in list { v += z[r * s + src] }
          out[r * k + t] = v / Float(list.count)
        }
      }
    }
    return out
  }

  /// `∂L/∂z` (source logits, `[rows, S]`) from `∂L/∂(target logits)`; for FullyMap also the layer's gradients.
  public func sourceGradient(_ g: [Float], sourceLogits z: UnsafePointer<Float>, rows: Int) -> (
    source: [Float], weight: [Float]?, bias: [Float]?
  ) {
    let (s, k) = (sourceCount, targetCount)
    var out = [Float](repeating: 0, count: rows * s)
    switch config.kind {
    case .fullyMap:
      let layer = linear!
      g.withUnsafeBufferPointer { gp in
        out.withUnsafeMutableBufferPointer { layer.inputGradient(gp.baseAddress!, rows: rows, into: $0.baseAddress!) }
      }
      let p = g.withUnsafeBufferPointer { layer.parameterGradients(x: z, gy: $0.baseAddress!, rows: rows) }
      return (out, p.weight, p.bias)
    case .blm, .blmPlus:
      omega.withUnsafeBufferPointer { w in
        g.withUnsafeBufferPointer { gp in
          out.withUnsafeMutableBufferPointer { o in
            BLAS.sgemm(
              transA: false, transB: true, m: rows, n: s, k: k, a: gp.baseAddress!, lda: k, b: w.baseAddress!, ldb: k,
              c: o.baseAddress!, ldc: s)
          }
        }
      }
    default:
      for r in 0..<rows {
        for t in 0..<k {
          let list = sources[t]
          let share = g[r * k + t] / Float(list.count)
          for src in list { out[r * s + src] += share }
        }
      }
    }
    return (out, nil, nil)
  }

  /// The share of the frequency mass the mapping captures: `Σ_t Σ_{s ∈ map(t)} D[s, t] / Σ D` — for top-1
  /// counts, the fraction of training images whose predicted source class is one their class is mapped to.
  public var precision: Double? {
    guard let d = frequency, !sources.isEmpty else { return nil }
    let total = d.counts.reduce(0, +)
    guard total > 0 else { return nil }
    var hit = 0.0
    for (t, list) in sources.enumerated() { for s in list { hit += d[s, t] } }
    return hit / total
  }
}

extension LabelMapping {
  /// A copy of the mapping's state.
  public var state: State {
    get { State(sources: sources, omega: omega, linear: linear, frequency: frequency) }
    set {
      sources = newValue.sources
      omega = newValue.omega
      linear = newValue.linear
      frequency = newValue.frequency
    }
  }
}
