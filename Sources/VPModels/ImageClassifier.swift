import Foundation
import VPTensor

/// How a model expects its `[0, 1]` RGB input to be normalised: `(x − mean[c]) / std[c]`.
public struct InputNormalization: Sendable, Equatable {
  public var mean: [Float]
  public var std: [Float]
  public init(mean: [Float], std: [Float]) {
    self.mean = mean
    self.std = std
  }
  /// torchvision's ImageNet statistics.
  public static let imageNet = InputNormalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
  /// `(255 x − 127) / 128`, the EfficientNet-Lite convention.
  public static let centered127 = InputNormalization(
    mean: [127 / 255, 127 / 255, 127 / 255], std: [128 / 255, 128 / 255, 128 / 255])
}

/// The input sides of a vision transformer: any side that is a multiple of its patch size, at least one patch
/// (a whole grid of patches). At its checkpoint's image size the positional embedding is used as stored; at
/// another side it is interpolated (`ClassTokenEmbedding`).
public struct PatchGeometry: Sendable, Equatable {
  /// The checkpoint's image side: its positional embedding's grid times the patch size.
  public var imageSize: Int
  public var patchSize: Int

  public init(imageSize: Int, patchSize: Int) {
    precondition(patchSize > 0 && imageSize % patchSize == 0, "image size \(imageSize), patch size \(patchSize)")
    self.imageSize = imageSize
    self.patchSize = patchSize
  }

  /// Whether `side × side` inputs make a whole grid of patches.
  public func accepts(side: Int) -> Bool { side >= patchSize && side % patchSize == 0 }

  /// The accepted sides nearest to `side`: the multiple of the patch size below it (when at least one patch) and
  /// the one above; `side` itself when accepted.
  public func nearestSides(to side: Int) -> [Int] {
    if accepts(side: side) { return [side] }
    let below = side / patchSize * patchSize
    return (below >= patchSize ? [below] : []) + [max(patchSize, below + patchSize)]
  }
}

/// A frozen, pretrained image classifier: `logits = head(pool(body(x)))`.
///
/// Inputs are normalised, channels-last batches `[N, H, W, 3]`. Work is split into micro-batches that are
/// processed by independent workers (one per core), each with its own cached workspace, so that a batch's
/// activations stay in cache and a training step allocates nothing after the first. One caller at a time.
public final class ImageClassifier: @unchecked Sendable {
  public let name: String
  public let body: Sequential
  public let pool = GlobalAveragePool()
  public let head: Linear
  public let normalization: InputNormalization
  /// A vision transformer's patch and image sizes: it takes sides that are multiples of its patch size. Nil for
  /// the convolutional networks, which take any size.
  public let patches: PatchGeometry?
  /// The side of the checkpoint's images (a vision transformer's image size, where its positional embedding is
  /// used without interpolation), or nil for the convolutional networks.
  public var inputSide: Int? { patches?.imageSize }
  /// The source classes' names when the model has its own (CLIP's text prompts); nil: ImageNet's names for a
  /// 1000-class model, `class N` otherwise.
  public var classNames: [String]?
  /// Images per micro-batch for an `h × w` input (override with `VPBOOK_MICROBATCH`).
  public var microBatchOverride: Int? = ProcessInfo.processInfo.environment["VPBOOK_MICROBATCH"].flatMap(Int.init)
  private var workspaces: [Workspace] = []
  private let lock = NSLock()
  /// `probedBytesPerImage`'s measurement, once per model.
  private var probed: (forward: Double, step: Double)?

  public var classCount: Int { head.outFeatures }
  public var featureCount: Int { head.inFeatures }

  public init(
    name: String, body: Sequential, head: Linear, normalization: InputNormalization, patches: PatchGeometry? = nil
  ) {
    self.name = name
    self.body = body
    self.head = head
    self.normalization = normalization
    self.patches = patches
  }

  /// Throws unless the model accepts `side × side` inputs: a vision transformer takes multiples of its patch size
  /// (see `patches`), the error naming the nearest ones.
  public func checkInput(side: Int) throws {
    if let patches, !patches.accepts(side: side) {
      let sides = patches.nearestSides(to: side).map { "canvas=\($0)" }.joined(separator: " or ")
      throw ModelError(
        file: name,
        "takes inputs whose side is a multiple of its patch size \(patches.patchSize) (a whole grid of patches), "
          + "not \(side)×\(side); use \(sides)")
    }
  }

  /// The most bytes held by the workers' workspaces so far.
  public var peakWorkspaceBytes: Int { workspaces.reduce(0) { $0 + $1.peakBytes } }

  /// The logits `[N, classes]` for a normalised batch `[N, H, W, 3]`.
  public func logits(_ x: Tensor) -> Tensor {
    run(x, features: false, lossGradient: nil).output
  }

  /// The penultimate features `[N, featureCount]` (after global pooling).
  public func features(_ x: Tensor) -> Tensor {
    run(x, features: true, lossGradient: nil).output
  }

  /// One visual-prompting step through the frozen model.
  ///
  /// - Parameters:
  ///   - x: a normalised batch `[N, H, W, 3]`.
  ///   - lossGradient: given the logits of rows `range` (`range.count × classes`), returns `∂L/∂logits` for
  ///     those rows. Called from worker threads, possibly concurrently.
  /// - Returns: the logits `[N, classes]` and `∂L/∂x` `[N, H, W, 3]`.
  public func inputGradient(
    _ x: Tensor, lossGradient: @escaping @Sendable (_ logits: [Float], _ range: Range<Int>) -> [Float]
  ) -> (logits: Tensor, gradient: Tensor) {
    let r = run(x, features: false, lossGradient: lossGradient)
    return (r.output, r.gradient!)
  }

  /// What the model holds at its peak over a batch of `batch` images at `side × side` px (bytes, an estimate):
  /// the images of the micro-batches the workers hold at once, each with its activations — with
  /// `inputGradient` everything a visual-prompting step keeps for the backward pass, otherwise a forward pass's
  /// — and a transformer's attention scratch (`2·T²` floats per concurrent (image, head) task, allocated outside
  /// the workspaces). Per image it scales `probedBytesPerImage` — one image's measured peak at `probeSide` —
  /// with the pixels (convolutional networks) or the tokens (transformers): every activation has one row per
  /// pixel or token. Checked before training and before the baselines' passes, so that a canvas too large for
  /// the machine is an error, not an allocation failure or an out-of-memory kill.
  public func peakBytes(side: Int, batch: Int, inputGradient: Bool) -> Double {
    let (mb, _, workers) = schedule(n: max(1, batch), h: side, w: side)
    let probed = probedBytesPerImage()
    let perImage = (inputGradient ? probed.step : probed.forward) * units(side: side) / units(side: probeSide)
    var bytes = Double(workers * min(mb, batch)) * perImage
    if patches != nil {
      let tokens = units(side: side)
      bytes += Double(Parallel.threadCount) * 2 * tokens * tokens * 4
    }
    return bytes
  }

  /// The side `probedBytesPerImage` measures at: 224 px, or the nearest whole grid of a transformer's patches.
  public var probeSide: Int {
    guard let patches else { return 224 }
    return max(1, (224 + patches.patchSize / 2) / patches.patchSize) * patches.patchSize
  }

  /// Pixels, or tokens with the class token, of a `side × side` input: what the activations scale with.
  private func units(side: Int) -> Double {
    guard let patches else { return Double(side) * Double(side) }
    let g = side / patches.patchSize
    return Double(g * g + 1)
  }

  /// The peak bytes of one image at `probeSide` in a fresh workspace: a forward pass, and a visual-prompting
  /// step (the forward pass with the record its input gradient needs, then the backward pass). Measured once and
  /// kept; the probe reads zeros and writes only its own buffers, so nothing the model computes changes.
  public func probedBytesPerImage() -> (forward: Double, step: Double) {
    lock.lock()
    defer { lock.unlock() }
    if let probed { return probed }
    let side = probeSide
    func pass(tape: Tape?) -> Double {
      let ws = Workspace(parallel: false)
      let x = ws.featureMap(n: 1, h: side, w: side, c: 3)
      x.pointer.update(repeating: 0, count: x.count)
      let pooled = pooledFeatures(x, workspace: ws, tape: tape)
      if let tape {
        let gp = ws.featureMap(n: 1, h: 1, w: 1, c: featureCount)
        gp.pointer.update(repeating: 0, count: gp.count)
        ws.release(inputGradient(atPooled: gp, workspace: ws, tape: tape))
      }
      ws.release(pooled)
      return Double(ws.peakBytes)
    }
    let result = (forward: pass(tape: nil), step: pass(tape: Tape()))
    probed = result
    return result
  }

  /// How `run` splits a batch of `n` images at `h × w`: images per micro-batch, micro-batches, and workers.
  private func schedule(n: Int, h: Int, w: Int) -> (microBatch: Int, chunks: Int, workers: Int) {
    let mb = microBatch(h: h, w: w)
    let chunks = (n + mb - 1) / mb
    return (mb, chunks, min(Parallel.threadCount, chunks))
  }

  /// The body and the pooling over a micro-batch `x` (released), recording on `tape`.
  private func pooledFeatures(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let f = body.forward(x, workspace: ws, tape: tape)
    ws.release(x)
    let pooled = pool.forward(f, workspace: ws, tape: tape)
    ws.release(f)
    return pooled
  }

  /// `∂L/∂x` from `∂L/∂pooled` (released), back through the pooling and the body recorded on `tape`.
  private func inputGradient(atPooled gp: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let gf = pool.backward(gp, workspace: ws, tape: tape)
    return body.backward(gf, workspace: ws, tape: tape)
  }

  func microBatch(h: Int, w: Int) -> Int {
    if let m = microBatchOverride, m > 0 { return m }
    // About two 224² images' worth of pixels: large enough for efficient GEMMs in the 7×7 stages, small
    // enough for the widest activations of two workers to stay in the last-level cache.
    return max(1, (2 * 224 * 224) / max(1, h * w))
  }

  private func run(
    _ x: Tensor, features: Bool, lossGradient: (@Sendable ([Float], Range<Int>) -> [Float])?
  ) -> (output: Tensor, gradient: Tensor?) {
    lock.lock()
    defer { lock.unlock() }
    let (n, h, w, c) = x.nhwc
    precondition(c == 3, "\(name) expects 3 input channels, got shape \(x.shape)")
    precondition(
      patches.map { $0.accepts(side: h) && $0.accepts(side: w) } ?? true,
      "\(name) takes sides that are multiples of its patch size \(patches?.patchSize ?? 0), got \(h)×\(w)")
    let (mb, chunks, workers) = schedule(n: n, h: h, w: w)
    // A single chunk is split inside the kernels instead.
    let intraParallel = workers == 1
    while workspaces.count < Parallel.threadCount { workspaces.append(Workspace(parallel: false)) }
    let shared = intraParallel ? Workspace(parallel: true) : nil
    let width = features ? featureCount : classCount
    var output = [Float](repeating: 0, count: n * width)
    var gradient: [Float] = lossGradient == nil ? [] : [Float](repeating: 0, count: x.count)
    let pixels = h * w * c
    output.withUnsafeMutableBufferPointer { outBuffer in
      gradient.withUnsafeMutableBufferPointer { gradBuffer in
        x.data.withUnsafeBufferPointer { xBuffer in
          let out = outBuffer.baseAddress!
          let grad = gradBuffer.baseAddress
          let input = xBuffer.baseAddress!
          Parallel.forEach(workers) { worker in
            let ws = shared ?? self.workspaces[worker]
            var chunk = worker
            while chunk < chunks {
              let range = (chunk * mb)..<min(n, chunk * mb + mb)
              let tape = lossGradient == nil ? nil : Tape()
              let xm = ws.featureMap(n: range.count, h: h, w: w, c: c)
              xm.pointer.update(from: input + range.lowerBound * pixels, count: xm.count)
              let pooled = self.pooledFeatures(xm, workspace: ws, tape: tape)
              if features {
                (out + range.lowerBound * width).update(from: pooled.pointer, count: pooled.count)
                ws.release(pooled)
              } else {
                let logits = out + range.lowerBound * width
                self.head.forward(pooled.pointer, rows: range.count, into: logits)
                if let lossGradient, let tape, let grad {
                  let gl = lossGradient(Array(UnsafeBufferPointer(start: logits, count: range.count * width)), range)
                  precondition(gl.count == range.count * width, "loss gradient has \(gl.count) values")
                  let gp = ws.featureMap(n: range.count, h: 1, w: 1, c: self.featureCount)
                  gl.withUnsafeBufferPointer {
                    self.head.inputGradient($0.baseAddress!, rows: range.count, into: gp.pointer)
                  }
                  let gx = self.inputGradient(atPooled: gp, workspace: ws, tape: tape)
                  (grad + range.lowerBound * pixels).update(from: gx.pointer, count: gx.count)
                  ws.release(gx)
                  precondition(tape.isEmpty, "tape not balanced after the backward pass")
                }
                ws.release(pooled)
              }
              chunk += workers
            }
          }
        }
      }
    }
    let result = Tensor(shape: [n, width], data: output)
    return (result, lossGradient == nil ? nil : Tensor(shape: x.shape, data: gradient))
  }
}
