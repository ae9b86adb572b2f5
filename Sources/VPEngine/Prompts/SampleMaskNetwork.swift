import VPData
import VPTensor

/// SMM's sample-specific mask network (Cai et al., ICML 2024, "Sample-Specific Multi-Channel Masks for Visual
/// Reprogramming"), patch size 8, 5 layers, 3 mask channels, with trainable weights.
///
/// The network reads the image resized to the whole canvas `S × S` (`S` a multiple of 8, values in `[0, 1]`, not
/// normalised) and gives a 3-channel mask at `S/8 × S/8`; each mask value covers its 8×8 patch of the canvas:
///
///     conv1 3→8   3×3 pad 1 → BN(8)  → ReLU → max-pool 2×2
///     conv2 8→16  3×3 pad 1 → BN(16) → ReLU → max-pool 2×2
///     conv3 16→32 3×3 pad 1 → BN(32) → ReLU → max-pool 2×2
///     conv4 32→64 3×3 pad 1 → BN(64) → ReLU
///     conv6 64→3  3×3 pad 1                  (the mask m, unbounded)
///
/// The prompted input (before the model's normalisation) is `x' = x + δ ⊙ enlarge(m(x))`, with `δ` a shared
/// trainable `[S, S, 3]` pattern and `enlarge` the nearest-neighbour repetition of every mask value over its
/// 8×8 patch. Batch norms are PyTorch's `BatchNorm2d` (ε = 1e-5, momentum 0.1): batch statistics and a
/// running-statistics update in training mode, the running statistics in eval mode.
///
/// Tensors are named as in PyTorch (`conv1.weight` `[8, 3, 3, 3]` in `OIHW`, `conv1.bias`, `bn1.weight` = γ,
/// `bn1.bias` = β, …, `conv6.weight` `[3, 64, 3, 3]`, `conv6.bias`; buffers `bn1.running_mean`,
/// `bn1.running_var`, …), 26,499 parameters in all. Every computation is deterministic: the same numbers for any
/// thread count.
///
/// **Memory kept for the backward pass.** A training-mode `prompt` keeps, per image at canvas `S`, a copy of the
/// image (`3 S²` floats) and the four convolutions' outputs before their batch norms (`8 S²`, `4 S²`, `2 S²` and
/// `S²` floats), plus the mask (`3 S²/64` floats): `(72 + 3/16) · S²` bytes per image, 3.6 MB at `S = 224`,
/// 74 KB at `S = 32`. Per batch it also keeps `δ` (`12 S²` bytes) and the batch statistics (240 floats). The
/// activations after the batch norms, the ReLU masks and the pooling positions are recomputed in the backward
/// pass from these.
///
/// One instance is used by one thread at a time (its kernels parallelise internally).
public final class SampleMaskNetwork: Trainable, @unchecked Sendable {
  /// The side of the canvas patch one mask value covers.
  public static let patch = 8
  /// The input and output channels of the four conv–BN–ReLU blocks.
  static let widths = [3, 8, 16, 32, 64]
  /// The mask's channels.
  public static let maskChannels = 3
  /// The convolutions' PyTorch names (SMM numbers the last one 6).
  static let convolutionNames = ["conv1", "conv2", "conv3", "conv4", "conv6"]
  /// The convolutions' weight shapes `[C_out, C_in, 3, 3]`.
  static let convolutionShapes =
    (0..<4).map { [widths[$0 + 1], widths[$0], 3, 3] } + [[maskChannels, widths[4], 3, 3]]

  /// The trainable tensors' PyTorch names and shapes, in the fixed order used by `trainableTensors` and
  /// `state`: `conv1.weight`, `conv1.bias`, `bn1.weight`, `bn1.bias`, … `conv4…`, `bn4…`, `conv6.weight`,
  /// `conv6.bias`.
  public static let parameterLayout: [(name: String, shape: [Int])] = {
    var layout: [(name: String, shape: [Int])] = []
    for block in 0..<4 {
      let shape = convolutionShapes[block]
      layout.append(("conv\(block + 1).weight", shape))
      layout.append(("conv\(block + 1).bias", [shape[0]]))
      layout.append(("bn\(block + 1).weight", [shape[0]]))
      layout.append(("bn\(block + 1).bias", [shape[0]]))
    }
    layout.append(("conv6.weight", convolutionShapes[4]))
    layout.append(("conv6.bias", [maskChannels]))
    return layout
  }()

  /// The batch norms' running statistics (not trained), in the fixed order `bn1.running_mean`,
  /// `bn1.running_var`, …, `bn4.running_var`.
  public static let bufferLayout: [(name: String, shape: [Int])] = (0..<4).flatMap { block in
    [("bn\(block + 1).running_mean", [widths[block + 1]]), ("bn\(block + 1).running_var", [widths[block + 1]])]
  }

  /// The number of trainable values (26,499: 26,259 in the convolutions, 240 in the batch norms).
  public var parameterCount: Int { Self.parameterLayout.reduce(0) { $0 + $1.shape.reduce(1, *) } }

  /// Bytes a training batch keeps per image at canvas `side` for the backward pass (see above).
  public static func bytesPerImage(side: Int) -> Int { (72 * side * side) + (3 * side * side) / 16 }

  /// The number of values in `state` (the parameters, then the 240 running statistics).
  public static var stateCount: Int {
    (parameterLayout + bufferLayout).reduce(0) { $0 + $1.shape.reduce(1, *) }
  }

  /// `conv1 … conv4, conv6` weights in PyTorch's `OIHW` layout.
  private var convolutionWeights: [[Float]]
  private var convolutionBiases: [[Float]]
  /// `bn1 … bn4`: γ, β and the running statistics.
  private var norms: [TrainableBatchNorm]
  /// The convolutions built from the current weights (rebuilt after a weight is written).
  private var builtConvolutions: [Conv2D]?
  private let pool = MaxPool2D(kernel: 2, stride: 2, padding: 0)
  private let workspace: Workspace
  /// What the last training-mode `prompt` kept for `promptBackward`.
  private var saved: SavedPass?

  private struct SavedPass {
    var images: FeatureMap
    /// The four convolutions' outputs before their batch norms.
    var preNorm: [FeatureMap]
    var statistics: [TrainableBatchNorm.BatchStatistics]
    /// `[B, S/8, S/8, 3]`.
    var mask: [Float]
    var delta: [Float]
  }

  /// A network initialised like PyTorch's defaults, drawn from `SplitMix64(seed:)`: every convolution's
  /// weights and then its bias from `U(−1/√fan_in, 1/√fan_in)` (`fan_in = C_in · 3 · 3`), in the order conv1 …
  /// conv4, conv6; γ = 1, β = 0, running mean 0, running variance 1.
  ///
  /// - Parameters:
  ///   - seed: fixes every initial weight.
  ///   - parallel: whether the kernels split their work over threads (off for a network that one worker of a
  ///     data-parallel loop owns). The results are the same bits either way.
  public init(seed: UInt64, parallel: Bool = true) {
    workspace = Workspace(parallel: parallel)
    var rng = SplitMix64(seed: seed)
    var weights: [[Float]] = []
    var biases: [[Float]] = []
    for shape in Self.convolutionShapes {
      let (outputs, inputs) = (shape[0], shape[1])
      let bound = 1 / Float(inputs * 9).squareRoot()
      func u() -> Float { (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
      weights.append((0..<(outputs * inputs * 9)).map { _ in u() })
      biases.append((0..<outputs).map { _ in u() })
    }
    convolutionWeights = weights
    convolutionBiases = biases
    norms = Self.widths.dropFirst().map { TrainableBatchNorm(channels: $0, epsilon: 1e-5, momentum: 0.1) }
  }

  deinit { discardSavedPass() }

  // MARK: - Named tensors and state

  /// Where a named tensor lives.
  private enum Slot {
    case weight(Int), bias(Int), gamma(Int), beta(Int), runningMean(Int), runningVariance(Int)
  }

  private static func slot(_ name: String) -> Slot? {
    let parts = name.split(separator: ".")
    guard parts.count == 2 else { return nil }
    let (layer, field) = (String(parts[0]), String(parts[1]))
    if let index = convolutionNames.firstIndex(of: layer) {
      switch field {
      case "weight": return .weight(index)
      case "bias": return .bias(index)
      default: return nil
      }
    }
    guard layer.hasPrefix("bn"), let number = Int(layer.dropFirst(2)), (1...4).contains(number) else { return nil }
    switch field {
    case "weight": return .gamma(number - 1)
    case "bias": return .beta(number - 1)
    case "running_mean": return .runningMean(number - 1)
    case "running_var": return .runningVariance(number - 1)
    default: return nil
    }
  }

  private static func expectedCount(_ name: String) -> Int? {
    (parameterLayout + bufferLayout).first { $0.name == name }?.shape.reduce(1, *)
  }

  /// A parameter or buffer by its PyTorch name (weights in `OIHW`).
  public func tensor(_ name: String) -> [Float] {
    guard let slot = Self.slot(name) else { preconditionFailure("SampleMaskNetwork has no tensor named \(name)") }
    switch slot {
    case .weight(let i): return convolutionWeights[i]
    case .bias(let i): return convolutionBiases[i]
    case .gamma(let i): return norms[i].gamma
    case .beta(let i): return norms[i].beta
    case .runningMean(let i): return norms[i].runningMean
    case .runningVariance(let i): return norms[i].runningVariance
    }
  }

  /// Writes a parameter or buffer by its PyTorch name; the count must match its shape.
  public func setTensor(_ name: String, _ values: [Float]) {
    guard let slot = Self.slot(name), let count = Self.expectedCount(name) else {
      preconditionFailure("SampleMaskNetwork has no tensor named \(name)")
    }
    precondition(values.count == count, "\(name) needs \(count) values, got \(values.count)")
    switch slot {
    case .weight(let i):
      convolutionWeights[i] = values
      builtConvolutions = nil
    case .bias(let i):
      convolutionBiases[i] = values
      builtConvolutions = nil
    case .gamma(let i): norms[i].gamma = values
    case .beta(let i): norms[i].beta = values
    case .runningMean(let i): norms[i].runningMean = values
    case .runningVariance(let i): norms[i].runningVariance = values
    }
  }

  /// Every parameter in `parameterLayout` order, then every buffer in `bufferLayout` order, flattened
  /// (`stateCount` = 26,739 values; weights in `OIHW`). Setting it replaces all of them (to resume or restore a
  /// snapshot); it does not touch a pending backward pass.
  public var state: [Float] {
    get { (Self.parameterLayout + Self.bufferLayout).flatMap { tensor($0.name) } }
    set {
      precondition(newValue.count == Self.stateCount, "state needs \(Self.stateCount) values, got \(newValue.count)")
      var offset = 0
      for entry in Self.parameterLayout + Self.bufferLayout {
        let count = entry.shape.reduce(1, *)
        setTensor(entry.name, Array(newValue[offset..<(offset + count)]))
        offset += count
      }
    }
  }

  /// The trainable tensors by PyTorch name, in `parameterLayout` order; weight decay applies to all of them
  /// (as it does to every parameter given to a PyTorch optimiser).
  public func trainableTensors(_ training: TrainingConfig) -> [TrainableTensor] {
    Self.parameterLayout.map { entry in
      TrainableTensor(
        name: entry.name, decays: true, read: { self.tensor(entry.name) }, write: { self.setTensor(entry.name, $0) })
    }
  }

  // MARK: - Forward

  private var convolutions: [Conv2D] {
    if let built = builtConvolutions { return built }
    let built = (0..<5).map { i in
      Conv2D(
        torchWeight: convolutionWeights[i], shape: Self.convolutionShapes[i], bias: convolutionBiases[i], stride: 1,
        padding: .symmetric(1))
    }
    builtConvolutions = built
    return built
  }

  /// The sample-specific masks `m(x)`, `[B, S/8, S/8, 3]` channels-last.
  ///
  /// Eval mode uses the running statistics and changes no state. Training mode normalises with the batch's
  /// statistics and updates the running statistics, as a PyTorch forward pass in training mode does, but keeps
  /// nothing for a backward pass.
  ///
  /// - Parameters:
  ///   - images: `[B, S, S, 3]` channels-last, values in `[0, 1]`.
  ///   - side: the canvas side `S`, a multiple of 8.
  public func mask(_ images: UnsafePointer<Float>, count: Int, side: Int, training: Bool) -> [Float] {
    forward(images, count: count, side: side, training: training, keep: false)
  }

  /// The SMM prompt `x' = x + δ ⊙ enlarge(m(x))` (before the model's input normalisation).
  ///
  /// In training mode the batch norms use the batch's statistics and update their running statistics, and what
  /// `promptBackward` needs is kept (replacing any earlier pass); eval mode changes no state.
  ///
  /// - Parameters:
  ///   - images: `x`, `[B, S, S, 3]` channels-last, values in `[0, 1]`.
  ///   - side: the canvas side `S`, a multiple of 8.
  ///   - delta: `δ`, `[S, S, 3]`.
  /// - Returns: `x'`, `[B, S, S, 3]` channels-last.
  public func prompt(_ images: UnsafePointer<Float>, count: Int, side: Int, delta: [Float], training: Bool)
    -> [Float]
  {
    precondition(delta.count == side * side * 3, "δ needs \(side * side * 3) values, got \(delta.count)")
    let m = forward(images, count: count, side: side, training: training, keep: training)
    if training { saved?.delta = delta }
    var out = [Float](repeating: 0, count: count * side * side * 3)
    let cells = side / Self.patch
    out.withUnsafeMutableBufferPointer { o in
      delta.withUnsafeBufferPointer { d in
        m.withUnsafeBufferPointer { mp in
          let (o, d, mp) = (o.baseAddress!, d.baseAddress!, mp.baseAddress!)
          workspace.forRanges(count * side, minimum: 8) { rows in
            for row in rows {
              let (b, y) = (row / side, row % side)
              let cellRow = mp + (b * cells + y / Self.patch) * cells * 3
              for x in 0..<side {
                let cell = cellRow + (x / Self.patch) * 3
                let p = row * side + x
                for c in 0..<3 { o[p * 3 + c] = images[p * 3 + c] + d[(y * side + x) * 3 + c] * cell[c] }
              }
            }
          }
        }
      }
    }
    return out
  }

  /// The mask network's forward pass; keeps what the backward pass needs when `keep` (training mode only).
  private func forward(_ images: UnsafePointer<Float>, count: Int, side: Int, training: Bool, keep: Bool) -> [Float] {
    precondition(side > 0 && side % Self.patch == 0, "the canvas side \(side) is not a multiple of \(Self.patch)")
    precondition(count > 0, "an empty batch")
    let ws = workspace
    if keep { discardSavedPass() }
    let convs = convolutions
    let input = ws.featureMap(n: count, h: side, w: side, c: 3)
    input.pointer.update(from: images, count: input.count)
    var kept = SavedPass(images: input, preNorm: [], statistics: [], mask: [], delta: [])
    var a = input
    for block in 0..<4 {
      let z = convs[block].forward(a, workspace: ws, tape: nil)
      if block > 0 { ws.release(a) }
      let y: FeatureMap
      if training {
        let result = norms[block].forwardTraining(z, workspace: ws)
        y = result.output
        kept.statistics.append(result.statistics)
      } else {
        y = norms[block].forwardInference(z, workspace: ws)
      }
      ws.activate(y, .relu, tape: nil, inputH: y.h, inputW: y.w)
      if keep { kept.preNorm.append(z) } else { ws.release(z) }
      if block < 3 {
        a = pool.forward(y, workspace: ws, tape: nil)
        ws.release(y)
      } else {
        a = y
      }
    }
    let m = convs[4].forward(a, workspace: ws, tape: nil)
    ws.release(a)
    let mask = Array(UnsafeBufferPointer(start: m.pointer, count: m.count))
    ws.release(m)
    if keep {
      kept.mask = mask
      saved = kept
    } else {
      ws.release(input)
    }
    return mask
  }

  private func discardSavedPass() {
    guard let pass = saved else { return }
    workspace.release(pass.images)
    for z in pass.preNorm { workspace.release(z) }
    saved = nil
  }

  // MARK: - Backward

  /// The gradients of the last training-mode `prompt` for `∂L/∂x'`:
  /// `∂L/∂δ[y, x, c] = Σ_b ∂L/∂x'[b, y, x, c] · m[b, ⌊y/8⌋, ⌊x/8⌋, c]` (summed over the batch) and `∂L/∂θ` for
  /// every parameter θ of the mask network, through
  /// `∂L/∂m[b, i, j, c] = Σ_{8×8 patch (i, j)} ∂L/∂x'[b, y, x, c] · δ[y, x, c]`.
  ///
  /// Uses the parameters as they are now: call it before the optimiser changes them. Consumes the kept pass.
  ///
  /// - Parameter gx: `∂L/∂x'`, `[B, S, S, 3]` channels-last, for the batch of the last training-mode `prompt`.
  /// - Returns: `∂L/∂δ` (`[S, S, 3]`) and the parameter gradients by PyTorch name (weights in `OIHW`).
  public func promptBackward(_ gx: UnsafePointer<Float>) -> (delta: [Float], parameters: [String: [Float]]) {
    guard let pass = saved else {
      preconditionFailure("promptBackward needs a training-mode prompt(…) before it")
    }
    let ws = workspace
    let (count, side) = (pass.images.n, pass.images.h)
    let cells = side / Self.patch
    let p = Self.patch
    // ∂L/∂δ: each pixel sums over the batch in order; ∂L/∂m: each cell sums its patch in order.
    var gDelta = [Float](repeating: 0, count: side * side * 3)
    let gMask = ws.featureMap(n: count, h: cells, w: cells, c: 3)
    gDelta.withUnsafeMutableBufferPointer { gd in
      pass.mask.withUnsafeBufferPointer { mp in
        pass.delta.withUnsafeBufferPointer { dp in
          let (gd, mp, dp) = (gd.baseAddress!, mp.baseAddress!, dp.baseAddress!)
          ws.forRanges(side, minimum: 8) { rows in
            for y in rows {
              for x in 0..<side {
                for c in 0..<3 {
                  var s: Float = 0
                  for b in 0..<count {
                    s += gx[((b * side + y) * side + x) * 3 + c] * mp[((b * cells + y / p) * cells + x / p) * 3 + c]
                  }
                  gd[(y * side + x) * 3 + c] = s
                }
              }
            }
          }
          ws.forRanges(count * cells, minimum: 1) { rows in
            for row in rows {
              let (b, i) = (row / cells, row % cells)
              for j in 0..<cells {
                for c in 0..<3 {
                  var s: Float = 0
                  for dy in 0..<p {
                    for dx in 0..<p {
                      let (y, x) = (i * p + dy, j * p + dx)
                      s += gx[((b * side + y) * side + x) * 3 + c] * dp[(y * side + x) * 3 + c]
                    }
                  }
                  gMask.pointer[(row * cells + j) * 3 + c] = s
                }
              }
            }
          }
        }
      }
    }
    let convs = convolutions
    var gradients: [String: [Float]] = [:]
    // Going down: `g` is the gradient at the output of convolution `block + 1`, whose input `a` is block
    // `block`'s activation, recomputed from the kept pre-norm output and batch statistics.
    var g = gMask
    for block in stride(from: 3, through: 0, by: -1) {
      let z = pass.preNorm[block]
      let statistics = pass.statistics[block]
      let reluTape = Tape()
      let poolTape = Tape()
      let y = norms[block].forward(z, statistics: statistics, workspace: ws)
      ws.activate(y, .relu, tape: reluTape, inputH: y.h, inputW: y.w)
      let a: FeatureMap
      if block < 3 {
        a = pool.forward(y, workspace: ws, tape: poolTape)
        ws.release(y)
      } else {
        a = y
      }
      let next = Self.convolutionNames[block + 1]
      let parameters = convs[block + 1].parameterGradient(input: a, outputGradient: g, workspace: ws)
      gradients["\(next).weight"] = parameters.weight
      gradients["\(next).bias"] = parameters.bias
      let inputTape = Tape()
      inputTape.push(Tape.Entry(bytes: nil, count: 0, inputH: a.h, inputW: a.w))
      var ga = convs[block + 1].backward(g, workspace: ws, tape: inputTape)
      ws.release(a)
      if block < 3 { ga = pool.backward(ga, workspace: ws, tape: poolTape) }
      ga = ActivationLayer(.relu).backward(ga, workspace: ws, tape: reluTape)
      let norm = norms[block].backward(ga, input: z, statistics: statistics, workspace: ws)
      gradients["bn\(block + 1).weight"] = norm.gamma
      gradients["bn\(block + 1).bias"] = norm.beta
      g = norm.input
    }
    let first = convs[0].parameterGradient(input: pass.images, outputGradient: g, workspace: ws)
    gradients["conv1.weight"] = first.weight
    gradients["conv1.bias"] = first.bias
    ws.release(g)
    discardSavedPass()
    return (gDelta, gradients)
  }
}
