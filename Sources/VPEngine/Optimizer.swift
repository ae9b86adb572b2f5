import Foundation

/// The optimisers of the published recipes.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
  /// Adam (β₁ 0.9, β₂ 0.999, ε 1e-8): ILM-VP and AutoVP.
  case adam
  /// SGD with momentum 0.9: the CLIP recipe.
  case sgd
}

/// Learning-rate schedules.
public enum ScheduleKind: String, Codable, Sendable, CaseIterable {
  /// ×0.1 at 50 % and again at 72 % of the epochs (ILM-VP's MultiStepLR).
  case multistep
  /// Half a cosine from the base rate to 0 over all steps.
  case cosine
  case constant

  /// The learning rate for `epoch` (0-based) and `step` within it.
  public func rate(base: Double, epoch: Int, epochs: Int, step: Int, stepsPerEpoch: Int) -> Double {
    switch self {
    case .constant: return base
    case .multistep:
      let milestones = [Int(0.5 * Double(epochs)), Int(0.72 * Double(epochs))]
      return base * pow(0.1, Double(milestones.filter { epoch >= $0 && $0 > 0 }.count))
    case .cosine:
      let total = Double(max(1, epochs * stepsPerEpoch))
      let t = Double(epoch * stepsPerEpoch + step)
      return base * 0.5 * (1 + cos(Double.pi * t / total))
    }
  }
}

/// One parameter vector's optimiser state.
public struct Optimizer: Sendable {
  public let kind: OptimizerKind
  public var momentum: Double = 0.9
  public var beta1: Double = 0.9
  public var beta2: Double = 0.999
  public var epsilon: Double = 1e-8
  public var weightDecay: Double = 0
  private var m: [Float]
  private var v: [Float]
  private var t = 0

  /// The moving state (first and second moments, step count): what a resumed run must continue from.
  public struct Moments: Codable, Sendable, Equatable {
    public var m: PackedFloats
    public var v: PackedFloats
    public var t: Int
  }

  public var moments: Moments {
    get { Moments(m: PackedFloats(m), v: PackedFloats(v), t: t) }
    set {
      precondition(newValue.m.values.count == m.count && newValue.v.values.count == v.count)
      m = newValue.m.values
      v = newValue.v.values
      t = newValue.t
    }
  }

  public init(_ kind: OptimizerKind, count: Int, weightDecay: Double = 0) {
    self.kind = kind
    self.weightDecay = weightDecay
    m = [Float](repeating: 0, count: count)
    v = kind == .adam ? [Float](repeating: 0, count: count) : []
  }

  /// One update of `parameters` with gradient `g` at learning rate `lr` (PyTorch's formulas).
  public mutating func step(_ parameters: inout [Float], gradient g: [Float], lr: Double) {
    precondition(parameters.count == g.count && m.count == g.count)
    t += 1
    let wd = Float(weightDecay)
    switch kind {
    case .sgd:
      let mu = Float(momentum)
      let rate = Float(lr)
      for i in 0..<g.count {
        let gi = g[i] + wd * parameters[i]
        m[i] = t == 1 ? gi : mu * m[i] + gi
        parameters[i] -= rate * m[i]
      }
    case .adam:
      let b1 = Float(beta1)
      let b2 = Float(beta2)
      let c1 = Float(1 - pow(beta1, Double(t)))
      let c2 = Float(1 - pow(beta2, Double(t)))
      let rate = Float(lr)
      let eps = Float(epsilon)
      for i in 0..<g.count {
        let gi = g[i] + wd * parameters[i]
        m[i] = b1 * m[i] + (1 - b1) * gi
        v[i] = b2 * v[i] + (1 - b2) * gi * gi
        let mHat = m[i] / c1
        let vHat = v[i] / c2
        parameters[i] -= rate * mHat / (vHat.squareRoot() + eps)
      }
    }
  }
}
