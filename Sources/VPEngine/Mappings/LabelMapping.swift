import Foundation
import VPData
import VPTensor

/// A label mapping's state: the map from the model's source logits to the task's target logits.
///
/// What the map is and when it changes is its kind's `MappingPolicy`; this type holds the state of one of the
/// three forms (source lists, BLM's ω, FullyMap's layer) and does the arithmetic of each.
public final class LabelMapping: @unchecked Sendable {
  public let config: MappingConfig
  public let sourceCount: Int
  public let targetCount: Int
  /// Source-average and weighted forms: the sources of each target (`[K][m]`; for BLM the heaviest one).
  public private(set) var sources: [[Int]]
  /// Weighted form (BLM/BLM+): `ω`, `[S, K]` row-major.
  public private(set) var omega: [Float] = []
  /// Linear form (FullyMap): the trainable layer.
  public var linear: Linear?
  /// The last frequency matrix the mapping was computed from.
  public private(set) var frequency: FrequencyMatrix?

  /// - Parameter context: what the policy may need (class names, WordNet synsets); nil for mappings that need
  ///   nothing beyond the frequency matrix.
  public init(
    _ config: MappingConfig, sources: Int, targets: Int, seed: UInt64, context: MappingContext? = nil
  ) throws {
    try config.validate(targets: targets, sources: sources)
    self.config = config
    self.sourceCount = sources
    self.targetCount = targets
    var rng = SplitMix64(seed: seed).fork(0x4C4D)
    let policy = config.policy
    self.sources = try policy.initialSources(
      config, sources: sources, targets: targets, rng: &rng, context: context ?? .none(targets: targets))
    switch policy.form {
    case .linear:
      // PyTorch's default Linear initialisation: U(−1/√in, 1/√in) for weights and bias.
      let bound = 1 / Float(sources).squareRoot()
      func u() -> Float { (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
      linear = Linear(
        weight: (0..<(sources * targets)).map { _ in u() }, bias: (0..<targets).map { _ in u() }, inFeatures: sources,
        outFeatures: targets)
    case .sourceAverage, .weighted:
      break
    }
  }

  /// The policy of the mapping's kind.
  public var policy: any MappingPolicy.Type { config.policy }

  /// The k of the top-k probability frequency matrix the mapping reads (0: top-1 counts).
  public var topK: Int { policy.frequencyTopK(config, targets: targetCount) }

  /// Whether a frequency matrix is needed before epoch `epoch`.
  public func needsFrequency(epoch: Int) -> Bool { policy.schedule.isDue(epoch: epoch, interval: config.interval) }

  /// Recomputes the mapping from a frequency matrix.
  /// - Returns: the targets whose sources changed.
  @discardableResult
  public func update(from d: FrequencyMatrix) -> [Int] {
    precondition(d.sources == sourceCount && d.targets == targetCount)
    frequency = d
    guard policy.schedule != .never else { return [] }
    let before = sources
    let new = policy.remap(d, config: config)
    sources = new.sources
    if policy.form == .weighted { omega = new.omega }
    return (0..<targetCount).filter { before.count != sources.count || before[$0] != sources[$0] }
  }

  /// Target logits `[rows, K]` from source logits `[rows, S]`.
  public func targetLogits(_ z: UnsafePointer<Float>, rows: Int) -> [Float] {
    let (s, k) = (sourceCount, targetCount)
    var out = [Float](repeating: 0, count: rows * k)
    switch policy.form {
    case .linear:
      out.withUnsafeMutableBufferPointer { linear!.forward(z, rows: rows, into: $0.baseAddress!) }
    case .weighted:
      omega.withUnsafeBufferPointer { w in
        out.withUnsafeMutableBufferPointer { o in
          BLAS.sgemm(
            transA: false, transB: false, m: rows, n: k, k: s, a: z, lda: s, b: w.baseAddress!, ldb: k,
            c: o.baseAddress!, ldc: k)
        }
      }
    case .sourceAverage:
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

  /// `∂L/∂z` (source logits, `[rows, S]`) from `∂L/∂(target logits)`, and the gradients of the mapping's own
  /// trainable tensors by name (FullyMap: `mapping.weight`, `mapping.bias`).
  public func sourceGradient(_ g: [Float], sourceLogits z: UnsafePointer<Float>, rows: Int) -> (
    source: [Float], parameters: [String: [Float]]
  ) {
    let (s, k) = (sourceCount, targetCount)
    var out = [Float](repeating: 0, count: rows * s)
    switch policy.form {
    case .linear:
      let layer = linear!
      g.withUnsafeBufferPointer { gp in
        out.withUnsafeMutableBufferPointer { layer.inputGradient(gp.baseAddress!, rows: rows, into: $0.baseAddress!) }
      }
      let p = g.withUnsafeBufferPointer { layer.parameterGradients(x: z, gy: $0.baseAddress!, rows: rows) }
      return (out, ["mapping.weight": p.weight, "mapping.bias": p.bias])
    case .weighted:
      omega.withUnsafeBufferPointer { w in
        g.withUnsafeBufferPointer { gp in
          out.withUnsafeMutableBufferPointer { o in
            BLAS.sgemm(
              transA: false, transB: true, m: rows, n: s, k: k, a: gp.baseAddress!, lda: k, b: w.baseAddress!, ldb: k,
              c: o.baseAddress!, ldc: s)
          }
        }
      }
    case .sourceAverage:
      for r in 0..<rows {
        for t in 0..<k {
          let list = sources[t]
          let share = g[r * k + t] / Float(list.count)
          for src in list { out[r * s + src] += share }
        }
      }
    }
    return (out, [:])
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

  /// The sources of each target for reports (nil for a trained layer).
  public var sourceMap: [[Int]]? { sources.isEmpty ? nil : sources }
}

extension LabelMapping: Trainable {
  /// FullyMap's layer (`mapping.weight` with weight decay off, as AutoVP trains it, and `mapping.bias`), at
  /// `mapping_lr`; the other forms train nothing.
  public func trainableTensors(_ training: TrainingConfig) -> [TrainableTensor] {
    switch policy.form {
    case .linear:
      let rate = TrainableRate.ratio(training.mappingLearningRate ?? training.learningRate, training.learningRate)
      return [
        TrainableTensor(
          name: "mapping.weight", decays: false, rate: rate, read: { self.linear!.weight },
          write: { self.linear!.weight = $0 }),
        TrainableTensor(
          name: "mapping.bias", decays: false, rate: rate, read: { self.linear!.bias },
          write: { self.linear!.bias = $0 }),
      ]
    case .sourceAverage, .weighted:
      return []
    }
  }
}

extension LabelMapping {
  /// Everything that defines the mapping's current behaviour (for selection and restore).
  public struct State: Sendable {
    var sources: [[Int]]
    var omega: [Float]
    var linear: Linear?
    var frequency: FrequencyMatrix?
  }

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
