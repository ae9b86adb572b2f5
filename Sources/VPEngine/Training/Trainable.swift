import Foundation

/// How a trainable tensor's learning rate follows the schedule.
public enum TrainableRate: Sendable, Equatable {
  /// The schedule's rate.
  case schedule
  /// The schedule's rate × `numerator / denominator` (FullyMap's layer: `mapping_lr / lr`).
  case ratio(Double, Double)

  func rate(_ scheduled: Double) -> Double {
    switch self {
    case .schedule: return scheduled
    case .ratio(let numerator, let denominator): return scheduled * numerator / denominator
    }
  }
}

/// One named trainable tensor of a trained part (the prompt, a mapping's layer, a probe), with how the
/// optimiser treats it. The optimiser reads and writes it through `read`/`write`, so a new trainable part
/// needs no optimiser wiring: it lists its tensors.
public struct TrainableTensor {
  /// `prompt.delta`, `prompt.scale`, `mapping.weight`, `probe.bias` …
  public let name: String
  /// Whether the training's weight decay applies to it.
  public let decays: Bool
  public let rate: TrainableRate
  public let read: () -> [Float]
  public let write: ([Float]) -> Void

  public init(
    name: String, decays: Bool, rate: TrainableRate = .schedule, read: @escaping () -> [Float],
    write: @escaping ([Float]) -> Void
  ) {
    self.name = name
    self.decays = decays
    self.rate = rate
    self.read = read
    self.write = write
  }
}

/// A part of a run that has trainable tensors.
public protocol Trainable: AnyObject {
  /// Its trainable tensors, in a fixed order (`training` sets rates such as FullyMap's `mapping_lr`).
  func trainableTensors(_ training: TrainingConfig) -> [TrainableTensor]
}

extension Trainable {
  /// The number of trainable values.
  public func trainableCount(_ training: TrainingConfig) -> Int {
    trainableTensors(training).reduce(0) { $0 + $1.read().count }
  }
}

/// One optimiser state per named tensor; `step` updates every tensor that has a gradient.
struct ParameterOptimizer {
  private let tensors: [TrainableTensor]
  private var states: [String: Optimizer] = [:]

  init(_ training: TrainingConfig, tensors: [TrainableTensor]) {
    self.tensors = tensors
    for tensor in tensors {
      precondition(states[tensor.name] == nil, "two trainable tensors are named \(tensor.name)")
      states[tensor.name] = Optimizer(
        training.optimizer, count: tensor.read().count, weightDecay: tensor.decays ? training.weightDecay : 0)
    }
  }

  /// Every tensor's optimiser moments, by name (a resumed trial continues from them).
  var moments: [String: Optimizer.Moments] {
    get { states.mapValues(\.moments) }
    set {
      for (name, value) in newValue {
        precondition(states[name] != nil, "no trainable tensor is named \(name)")
        states[name]!.moments = value
      }
    }
  }

  /// One step of every tensor in `gradients` at the schedule's rate `rate`.
  mutating func step(_ gradients: [String: [Float]], rate: Double) {
    for tensor in tensors {
      guard let gradient = gradients[tensor.name] else { continue }
      var values = tensor.read()
      states[tensor.name]!.step(&values, gradient: gradient, lr: tensor.rate.rate(rate))
      tensor.write(values)
    }
  }
}
