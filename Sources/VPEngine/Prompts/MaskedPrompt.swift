import Foundation
import VPData
import VPModels

/// SMM's prompt (REFERENCE.md §9): the image resized to the whole canvas, plus a shared pattern δ through a
/// mask that a small ConvNet computes from the image itself, `x = img + δ ⊙ enlarge(m(img))`, normalised.
/// δ starts at zero (the first input is the plain image); the mask network starts from PyTorch's default
/// initialisation, drawn from the run's seed. Its batch norms use the batch's statistics on training batches
/// and their running statistics everywhere else (validation, test, the frequency matrix of a remap).
public final class MaskedPrompt: InputPrompt, @unchecked Sendable {
  public let config: PromptConfig
  public let normalization: InputNormalization
  /// The shared pattern δ, `[S, S, 3]` channels-last.
  public var delta: [Float]
  public let network: SampleMaskNetwork

  init(_ config: PromptConfig, normalization: InputNormalization, seed: UInt64) {
    self.config = config
    self.normalization = normalization
    delta = [Float](repeating: 0, count: config.canvas * config.canvas * 3)
    network = SampleMaskNetwork(seed: seed)
  }

  /// δ, then the mask network's `state` (its parameters, then its batch norms' running statistics).
  public var values: [Float] {
    get { delta + network.state }
    set {
      let split = delta.count
      precondition(newValue.count == split + network.state.count, "an SMM prompt has another number of values")
      delta = Array(newValue[..<split])
      network.state = Array(newValue[split...])
    }
  }

  public var scale: Float {
    get { 1 }
    set {}
  }

  public var parameterCount: Int { delta.count + network.parameterCount }

  /// `prompt.delta`, then every weight of the mask network as `prompt.mask.NAME` (PyTorch's names).
  public func trainableTensors(_ training: TrainingConfig) -> [TrainableTensor] {
    [TrainableTensor(name: "prompt.delta", decays: true, read: { self.delta }, write: { self.delta = $0 })]
      + network.trainableTensors(training).map { tensor in
        TrainableTensor(
          name: "prompt.mask." + tensor.name, decays: tensor.decays, rate: tensor.rate, read: tensor.read,
          write: tensor.write)
      }
  }

  public func apply(_ images: UnsafePointer<Float>, count: Int, into x: UnsafeMutablePointer<Float>, training: Bool) {
    let prompted = network.prompt(images, count: count, side: config.canvas, delta: delta, training: training)
    normalize(prompted, count: prompted.count, into: x)
  }

  public func gradients(_ gx: UnsafePointer<Float>, images: UnsafePointer<Float>, count: Int) -> [String: [Float]] {
    let n = count * config.canvas * config.canvas * 3
    let g = unnormalizedGradient(gx, count: n)
    let (gDelta, gNetwork) = g.withUnsafeBufferPointer { network.promptBackward($0.baseAddress!) }
    var result = ["prompt.delta": gDelta]
    for (name, values) in gNetwork { result["prompt.mask." + name] = values }
    return result
  }

  /// Each image's own mask, `[B, S/8, S/8, 3]` (running statistics; nothing changes).
  public func masks(_ images: UnsafePointer<Float>, count: Int) -> [Float] {
    network.mask(images, count: count, side: config.canvas, training: false)
  }

  /// `0.5 + δ`, clamped (what δ adds where the mask is 1).
  public func visualization() -> [Float] { delta.map { min(max(0.5 + $0, 0), 1) } }

  public var savedTensors: [(name: String, shape: [Int], values: [Float])] {
    let s = config.canvas
    // In `values` order: δ, the parameters, the running statistics.
    return [(name: "prompt.delta", shape: [s, s, 3], values: delta)]
      + (SampleMaskNetwork.parameterLayout + SampleMaskNetwork.bufferLayout).map {
        (name: "prompt.mask." + $0.name, shape: $0.shape, values: network.tensor($0.name))
      }
  }
}
