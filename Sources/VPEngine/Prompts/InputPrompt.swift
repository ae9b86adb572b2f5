import Foundation
import VPData
import VPModels

/// A trainable input prompt of any family (REFERENCE.md §2 and §9): it maps a batch of `[0, 1]` images to the
/// model's normalised input, and the gradient with respect to that input back to its trainable tensors.
///
/// The training core (`PromptLearner`), evaluation, the trial state of a search, the notebook cache and the
/// saved files all go through this protocol only; a new prompt family is one type conforming to it plus its
/// case in `PromptKind` and `PromptConfig.makePrompt` (docs/ARCHITECTURE.md, "How to add a prompt").
public protocol InputPrompt: AnyObject, Trainable {
  var config: PromptConfig { get }
  var normalization: InputNormalization { get }
  /// Every value that defines the prompt, trainable or not (SMM's running statistics), flat in the family's
  /// documented order: what a run's selected state, the cache, the ledger and a resumed trial hold.
  var values: [Float] { get set }
  /// AutoVP's learnable input scale σ (the pad prompt only; 1 for every other family, whose setter ignores it).
  var scale: Float { get set }
  /// The number of trainable values.
  var parameterCount: Int { get }
  /// The prompted, normalised model input `[B, S, S, 3]` for images `[B, s, s, 3]`. `training` marks a training
  /// batch: SMM's mask network then uses the batch's statistics, updates its running ones and keeps what
  /// `gradients` needs; otherwise nothing of the prompt changes.
  func apply(_ images: UnsafePointer<Float>, count: Int, into x: UnsafeMutablePointer<Float>, training: Bool)
  /// The gradient of every trainable tensor (by `TrainableTensor` name) from `∂L/∂x` of the batch of the last
  /// `apply(…, training: true)` and its images.
  func gradients(_ gx: UnsafePointer<Float>, images: UnsafePointer<Float>, count: Int) -> [String: [Float]]
  /// The shared pattern as an RGB image in `[0, 1]` (`[S, S, 3]`): what is drawn or added on the canvas.
  func visualization() -> [Float]
  /// The tensors a saved prompt file holds, by name, with their shapes.
  var savedTensors: [(name: String, shape: [Int], values: [Float])] { get }
}

extension InputPrompt {
  /// The prompted input of evaluation images (nothing of the prompt changes).
  public func apply(_ images: UnsafePointer<Float>, count: Int, into x: UnsafeMutablePointer<Float>) {
    apply(images, count: count, into: x, training: false)
  }

  /// `(v − mean) / std` per channel of channels-last `values` into `x`.
  func normalize(_ values: UnsafePointer<Float>, count: Int, into x: UnsafeMutablePointer<Float>) {
    let mean = normalization.mean
    let invStd = normalization.std.map { 1 / $0 }
    for i in 0..<count {
      let c = i % 3
      x[i] = (values[i] - mean[c]) * invStd[c]
    }
  }

  /// `∂L/∂v` of the unnormalised input from `∂L/∂x` of the normalised one.
  func unnormalizedGradient(_ gx: UnsafePointer<Float>, count: Int) -> [Float] {
    let invStd = normalization.std.map { 1 / $0 }
    return (0..<count).map { gx[$0] * invStd[$0 % 3] }
  }
}

extension PromptConfig {
  /// A new prompt of this family with its initial values. `seed` draws the random initial values of the families
  /// that have them (LoR-VP's `A`, SMM's mask network); the pad and watermark prompts start at zero.
  public func makePrompt(normalization: InputNormalization, seed: UInt64) -> any InputPrompt {
    var generator = SplitMix64(seed: seed).fork(0x5052)
    switch kind {
    case .pad, .watermark: return VisualPrompt(self, normalization: normalization)
    case .lowrank: return LowRankPrompt(self, normalization: normalization, generator: generator)
    case .smm: return MaskedPrompt(self, normalization: normalization, seed: generator.next())
    }
  }
}
