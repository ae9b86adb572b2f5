import Foundation
import VPData
import VPModels

/// LoR-VP's low-rank prompt (REFERENCE.md §9): a pattern `P_c = B_c · A_c` per channel `c`, with
/// `B_c ∈ R^{S×r}` and `A_c ∈ R^{r×S}`, added to the whole resized image: `x = img + P`, unclamped, then
/// normalised. `B` starts at zero (so training starts from the plain image) and `A` from `N(0, 0.01²)`; rank 4 at
/// 224 px is 5,376 trainable values where a full-canvas pattern has 150,528.
public final class LowRankPrompt: InputPrompt, @unchecked Sendable {
  public let config: PromptConfig
  public let normalization: InputNormalization
  public let rank: Int
  /// `[3, S, r]` (PyTorch's `left_bar` layout: channel, row, rank).
  public var b: [Float] { didSet { refresh() } }
  /// `[3, r, S]` (channel, rank, column).
  public var a: [Float] { didSet { refresh() } }
  /// The pattern `B·A` channels-last, `[S, S, 3]`, recomputed whenever a factor changes.
  public private(set) var pattern: [Float]

  init(_ config: PromptConfig, normalization: InputNormalization, generator: SplitMix64) {
    self.config = config
    self.normalization = normalization
    rank = config.rank ?? PromptConfig.defaultRank
    let s = config.canvas
    var draw = generator
    b = [Float](repeating: 0, count: 3 * s * rank)
    a = (0..<(3 * rank * s)).map { _ in Float(0.01 * draw.gaussian()) }
    pattern = [Float](repeating: 0, count: s * s * 3)
    refresh()
  }

  /// `pattern[y, x, c] = Σ_k B[c, y, k] · A[c, k, x]`.
  private func refresh() {
    let s = config.canvas
    let r = rank
    var p = [Float](repeating: 0, count: s * s * 3)
    for c in 0..<3 {
      for y in 0..<s {
        for x in 0..<s {
          var sum: Float = 0
          for k in 0..<r { sum += b[(c * s + y) * r + k] * a[(c * r + k) * s + x] }
          p[(y * s + x) * 3 + c] = sum
        }
      }
    }
    pattern = p
  }

  /// `B` then `A`.
  public var values: [Float] {
    get { b + a }
    set {
      let split = 3 * config.canvas * rank
      precondition(newValue.count == 2 * split, "a rank-\(rank) prompt has \(2 * split) values")
      b = Array(newValue[..<split])
      a = Array(newValue[split...])
    }
  }

  public var scale: Float {
    get { 1 }
    set {}
  }

  public var parameterCount: Int { b.count + a.count }

  public func trainableTensors(_ training: TrainingConfig) -> [TrainableTensor] {
    [
      TrainableTensor(name: "prompt.B", decays: true, read: { self.b }, write: { self.b = $0 }),
      TrainableTensor(name: "prompt.A", decays: true, read: { self.a }, write: { self.a = $0 }),
    ]
  }

  public func apply(_ images: UnsafePointer<Float>, count: Int, into x: UnsafeMutablePointer<Float>, training: Bool) {
    let n = config.canvas * config.canvas * 3
    var sum = [Float](repeating: 0, count: n)
    for i in 0..<count {
      for j in 0..<n { sum[j] = images[i * n + j] + pattern[j] }
      normalize(sum, count: n, into: x + i * n)
    }
  }

  /// `∂L/∂P` summed over the batch, then `∂L/∂B_c = G_c · A_cᵀ` and `∂L/∂A_c = B_cᵀ · G_c`.
  public func gradients(_ gx: UnsafePointer<Float>, images: UnsafePointer<Float>, count: Int) -> [String: [Float]] {
    let s = config.canvas
    let r = rank
    let n = s * s * 3
    var g = [Float](repeating: 0, count: n)
    for i in 0..<count {
      for j in 0..<n { g[j] += gx[i * n + j] }
    }
    g = unnormalizedGradient(g, count: n)
    var gb = [Float](repeating: 0, count: b.count)
    var ga = [Float](repeating: 0, count: a.count)
    for c in 0..<3 {
      for y in 0..<s {
        for x in 0..<s {
          let gp = g[(y * s + x) * 3 + c]
          for k in 0..<r {
            gb[(c * s + y) * r + k] += gp * a[(c * r + k) * s + x]
            ga[(c * r + k) * s + x] += gp * b[(c * s + y) * r + k]
          }
        }
      }
    }
    return ["prompt.B": gb, "prompt.A": ga]
  }

  /// `0.5 + B·A`, clamped (as the watermark prompt's view).
  public func visualization() -> [Float] { pattern.map { min(max(0.5 + $0, 0), 1) } }

  public var savedTensors: [(name: String, shape: [Int], values: [Float])] {
    let s = config.canvas
    return [
      (name: "prompt.B", shape: [3, s, rank], values: b), (name: "prompt.A", shape: [3, rank, s], values: a),
    ]
  }
}
