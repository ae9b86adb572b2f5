import Foundation
import VPCheckpoint
import VPModels
import VPTensor
import VPTestSupport
import XCTest

/// ResNet's 3×3 stride-1 convolutions run as Winograd F(4×4, 3×3): the whole model's logits and input gradients
/// must stay within 1e-3 of the direct convolution's (see `compare`), and only those layers may change path.
final class ResNetWinogradTests: XCTestCase {
  /// `max |a − b| / max |b|`.
  func relativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    XCTAssertEqual(actual.shape, expected.shape)
    return maxRelativeError(actual.data, expected.data)
  }

  /// Every convolution in a model, in order.
  func convolutions(_ layer: any FrozenLayer) -> [Conv2D] {
    switch layer {
    case let conv as Conv2D: return [conv]
    case let sequence as Sequential: return sequence.layers.flatMap(convolutions)
    case let block as Residual: return convolutions(block.body) + (block.shortcut.map(convolutions) ?? [])
    default: return []
    }
  }

  /// `∂L/∂logits` of the VP step's loss: cross-entropy over the first `min(10, classes)` logits of rows `range`,
  /// labels `row % 10`, averaged over `batch` rows.
  static func lossGradient(_ logits: [Float], _ range: Range<Int>, classes: Int, batch: Int) -> [Float] {
    let mapped = min(10, classes)
    var z = [Float](repeating: 0, count: range.count * mapped)
    for r in 0..<range.count { for j in 0..<mapped { z[r * mapped + j] = logits[r * classes + j] } }
    let (_, gz) = Loss.crossEntropy(logits: z, labels: range.map { $0 % mapped }, classes: mapped, scale: batch)
    var g = [Float](repeating: 0, count: range.count * classes)
    for r in 0..<range.count { for j in 0..<mapped { g[r * classes + j] = gz[r * mapped + j] } }
    return g
  }

  /// The VP step's logits and input gradient.
  func step(_ model: ImageClassifier, _ x: Tensor) -> (logits: Tensor, gradient: Tensor) {
    let (classes, batch) = (model.classCount, x.shape[0])
    return model.inputGradient(x) { Self.lossGradient($0, $1, classes: classes, batch: batch) }
  }

  /// The forward pass of `model` (body, pooling, head, as `ImageClassifier` runs them) with a tape.
  func record(_ model: ImageClassifier, _ x: Tensor, _ ws: Workspace) -> (tape: Tape, logits: [Float]) {
    let tape = Tape()
    let input = ws.featureMap(copying: x)
    let features = model.body.forward(input, workspace: ws, tape: tape)
    ws.release(input)
    let pooled = model.pool.forward(features, workspace: ws, tape: tape)
    ws.release(features)
    var logits = [Float](repeating: 0, count: x.shape[0] * model.classCount)
    logits.withUnsafeMutableBufferPointer {
      model.head.forward(pooled.pointer, rows: x.shape[0], into: $0.baseAddress!)
    }
    ws.release(pooled)
    return (tape, logits)
  }

  /// The input gradient of the VP step's loss computed by `model`'s backward pass from a forward pass's `tape`
  /// and `logits` (possibly recorded by another model with the same layers).
  func backward(_ model: ImageClassifier, tape: Tape, logits: [Float], shape: [Int], _ ws: Workspace) -> Tensor {
    let batch = shape[0]
    let gl = Self.lossGradient(logits, 0..<batch, classes: model.classCount, batch: batch)
    let gp = ws.featureMap(n: batch, h: 1, w: 1, c: model.featureCount)
    gl.withUnsafeBufferPointer { model.head.inputGradient($0.baseAddress!, rows: batch, into: gp.pointer) }
    let gx = model.body.backward(model.pool.backward(gp, workspace: ws, tape: tape), workspace: ws, tape: tape)
    XCTAssertTrue(tape.isEmpty)
    return ws.tensor(consuming: gx)
  }

  /// Per image, how many units' recorded masks (ReLU in its linear range, max-pool winner) differ between two
  /// tapes of the same layers.
  /// Also counts the recorded units (`total`); the tapes' buffers go back to `ws`.
  func maskDifferences(_ a: Tape, _ b: Tape, batch: Int, _ ws: Workspace) -> (perImage: [Int], total: Int) {
    var differing = [Int](repeating: 0, count: batch)
    var total = 0
    while !a.isEmpty {
      let (p, q) = (a.pop(), b.pop())
      guard let pb = p.bytes, let qb = q.bytes else { continue }
      total += p.count
      for i in 0..<p.count where pb[i] != qb[i] { differing[i / (p.count / batch)] += 1 }
      ws.release(pb, count: p.count)
      ws.release(qb, count: q.count)
    }
    return (differing, total)
  }

  /// `max |a − b| / max |b|` over image `n` of `[N, …]` tensors.
  func relativeError(_ actual: Tensor, _ expected: Tensor, image n: Int) -> Float {
    let per = expected.count / expected.shape[0]
    let range = (n * per)..<((n + 1) * per)
    return relativeError(
      Tensor(shape: [per], data: Array(actual.data[range])), Tensor(shape: [per], data: Array(expected.data[range])))
  }

  /// Winograd against the direct convolution on the same model, at each size:
  /// - logits (of the VP step and of the forward pass) within 1e-3 of the largest logit;
  /// - the input gradient of the Winograd backward pass and of the direct one, both run from the same forward
  ///   record (the Winograd model's masks), within 1e-3 of the largest gradient: the error of the backward pass;
  /// - end to end, each model with its own forward pass: the input gradient of every image whose masks agree within
  ///   1e-3. A ReLU whose pre-activation is within rounding of zero may switch between the two forward passes
  ///   (as it may between any two BLAS kernels or micro-batch sizes); it routes that unit's gradient differently,
  ///   so that image's gradient differs by more. Such units must be rare: at most 1 in 10⁵.
  func compare(
    _ winograd: ImageClassifier, _ direct: ImageClassifier, sizes: [(side: Int, batch: Int)], _ what: String
  ) {
    for (side, batch) in sizes {
      let x = ModelFixtures.input(n: batch, size: side)
      let a = step(winograd, x)
      let b = step(direct, x)
      let logitsError = max(relativeError(a.logits, b.logits), relativeError(winograd.logits(x), b.logits))
      XCTAssertLessThanOrEqual(logitsError, 1e-3, "\(what) at \(side) px: logits")

      let ws = Workspace(parallel: true)
      let recorded = record(winograd, x, ws)
      let again = record(winograd, x, ws)
      let viaWinograd = backward(winograd, tape: recorded.tape, logits: recorded.logits, shape: x.shape, ws)
      let viaDirect = backward(direct, tape: again.tape, logits: recorded.logits, shape: x.shape, ws)
      let backwardError = relativeError(viaWinograd, viaDirect)
      XCTAssertLessThanOrEqual(backwardError, 1e-3, "\(what) at \(side) px: input gradient from the same record")

      let (flips, units) = maskDifferences(record(winograd, x, ws).tape, record(direct, x, ws).tape, batch: batch, ws)
      XCTAssertLessThanOrEqual(flips.reduce(0, +) * 100_000, units, "\(what) at \(side) px: masks that differ")
      var endToEnd: [String] = []
      for n in 0..<batch {
        let error = relativeError(a.gradient, b.gradient, image: n)
        if flips[n] == 0 {
          XCTAssertLessThanOrEqual(error, 1e-3, "\(what) at \(side) px: input gradient of image \(n)")
        }
        endToEnd.append(String(format: "%.1e", error) + (flips[n] > 0 ? " (\(flips[n]) unit switched)" : ""))
      }
      print(
        "\(what) at \(side) px, Winograd vs direct: logits \(logitsError); input gradient from the same record "
          + "\(backwardError); end to end per image \(endToEnd.joined(separator: ", "))")
    }
  }

  func testResNet18WithWinogradMatchesDirectConvolution() throws {
    try XCTSkipUnless(ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0", "VPBOOK_WINOGRAD=0")
    let path = try requireAsset("models/resnet18-random-10class.pth")
    let winograd = try ResNet.load(CheckpointWeights(path: path), depth: .r18)
    let direct = try ResNet.load(CheckpointWeights(path: path), depth: .r18, winograd: false)
    let layers = convolutions(winograd.body)
    XCTAssertEqual(layers.filter(\.winogradEnabled).count, 13, "ResNet-18's 3×3 stride-1 convolutions")
    XCTAssertTrue(layers.filter(\.winogradEnabled).allSatisfy { $0.kernelH == 3 && $0.strideH == 1 })
    XCTAssertFalse(convolutions(direct.body).contains(where: \.winogradEnabled))
    // 224: feature maps of 56/28/14/7 px; 128: 32/16/8/4; 64: 16/8/4/2 (one 4×4 tile holding 2×2 pixels). Six
    // images: the 512-channel layers' input gradients run as Winograd too (`winogradPaysBackward`).
    compare(winograd, direct, sizes: [(224, 2), (128, 6), (64, 6)], "ResNet-18")
  }

  func testResNet34And50WithWinogradMatchDirectConvolution() throws {
    try XCTSkipUnless(ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0", "VPBOOK_WINOGRAD=0")
    for depth in [ResNet.Depth.r34, .r50] {
      let winograd = try ResNet.build(WeightReader(syntheticSeed: 3), depth: depth, classes: 1000)
      let direct = try ResNet.build(WeightReader(syntheticSeed: 3), depth: depth, classes: 1000, winograd: false)
      XCTAssertEqual(
        convolutions(winograd.body).filter(\.winogradEnabled).count, depth == .r34 ? 29 : 13, "ResNet-\(depth.rawValue)"
      )
      compare(winograd, direct, sizes: [(64, 2)], "ResNet-\(depth.rawValue)")
    }
  }

  /// MobileNetV2 and EfficientNet-Lite0 have no 3×3 stride-1 ungrouped convolutions, and nothing there opts in.
  func testOtherModelsDoNotRunWinograd() throws {
    for m in [Loaded.mobilenet, Loaded.efficientnet] {
      let model = try XCTUnwrap(m)
      XCTAssertGreaterThan(convolutions(model.body).count, 30, model.name)
      XCTAssertFalse(convolutions(model.body).contains { $0.winogradEnabled || $0.winograd != .never }, model.name)
    }
  }
}
