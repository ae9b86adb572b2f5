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
    var largest: Float = 0
    var difference: Float = 0
    for (a, b) in zip(actual.data, expected.data) {
      largest = max(largest, abs(b))
      difference = max(difference, abs(a - b))
    }
    return difference / max(largest, .leastNormalMagnitude)
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

  /// The VP step's logits and input gradient: cross-entropy over the first `min(10, classes)` logits.
  func step(_ model: ImageClassifier, _ x: Tensor) -> (logits: Tensor, gradient: Tensor) {
    let classes = model.classCount
    let mapped = min(10, classes)
    let batch = x.shape[0]
    return model.inputGradient(x) { logits, range in
      var z = [Float](repeating: 0, count: range.count * mapped)
      for r in 0..<range.count { for j in 0..<mapped { z[r * mapped + j] = logits[r * classes + j] } }
      let labels = range.map { $0 % mapped }
      let (_, gz) = Loss.crossEntropy(logits: z, labels: labels, classes: mapped, scale: batch)
      var g = [Float](repeating: 0, count: range.count * classes)
      for r in 0..<range.count { for j in 0..<mapped { g[r * classes + j] = gz[r * mapped + j] } }
      return g
    }
  }

  /// How many units' recorded masks (ReLU in the linear range, max-pool winner) differ between the two models'
  /// forward passes on `x`, and how many there are.
  func maskDifferences(_ a: ImageClassifier, _ b: ImageClassifier, _ x: Tensor) -> (differing: Int, total: Int) {
    var tapes: [[Tape.Entry]] = []
    for model in [a, b] {
      let ws = Workspace(parallel: true)
      let tape = Tape()
      let input = ws.featureMap(copying: x)
      ws.release(model.body.forward(input, workspace: ws, tape: tape))
      var entries: [Tape.Entry] = []
      while !tape.isEmpty { entries.append(tape.pop()) }
      tapes.append(entries)
    }
    var result = (differing: 0, total: 0)
    for (p, q) in zip(tapes[0], tapes[1]) {
      guard let pb = p.bytes, let qb = q.bytes else { continue }
      result.total += p.count
      for i in 0..<p.count where pb[i] != qb[i] { result.differing += 1 }
    }
    return result
  }

  /// `‖a − b‖₂ / ‖b‖₂`.
  func normRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    var difference = 0.0
    var norm = 0.0
    for (a, b) in zip(actual.data, expected.data) {
      difference += Double(a - b) * Double(a - b)
      norm += Double(b) * Double(b)
    }
    return Float((difference / norm).squareRoot())
  }

  /// Logits within 1e-3 of the direct convolution's (largest difference relative to the largest logit), input
  /// gradients within 1e-3 in norm, and elementwise (relative to the largest) wherever the two forward passes
  /// recorded the same masks: a ReLU whose pre-activation is within rounding of zero may switch, which routes
  /// its unit's gradient differently; that must be rare (at most 1 unit in 10⁵).
  func compare(_ winograd: ImageClassifier, _ direct: ImageClassifier, sides: [Int], batch: Int, _ what: String) {
    for side in sides {
      let x = ModelFixtures.input(n: batch, size: side)
      let a = step(winograd, x)
      let b = step(direct, x)
      let logitsError = relativeError(a.logits, b.logits)
      let forwardError = relativeError(winograd.logits(x), b.logits)
      let gradientError = relativeError(a.gradient, b.gradient)
      let gradientNormError = normRelativeError(a.gradient, b.gradient)
      let masks = maskDifferences(winograd, direct, x)
      XCTAssertLessThanOrEqual(logitsError, 1e-3, "\(what) at \(side) px: logits of the step")
      XCTAssertLessThanOrEqual(forwardError, 1e-3, "\(what) at \(side) px: logits of the forward pass")
      XCTAssertLessThanOrEqual(gradientNormError, 1e-3, "\(what) at \(side) px: input gradient (norm)")
      XCTAssertLessThanOrEqual(masks.differing * 100_000, masks.total, "\(what) at \(side) px: masks that differ")
      if masks.differing == 0 {
        XCTAssertLessThanOrEqual(gradientError, 1e-3, "\(what) at \(side) px: input gradient")
      }
      print(
        "\(what) at \(side) px, Winograd vs direct: logits \(max(logitsError, forwardError)), input gradient "
          + "\(gradientError) (norm \(gradientNormError)); masks differing \(masks.differing) of \(masks.total)")
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
    // 224: feature maps of 56/28/14/7 px; 128: 32/16/8/4; 64: 16/8/4/2 (one 4×4 tile holding 2×2 pixels).
    compare(winograd, direct, sides: [224, 128, 64], batch: 2, "ResNet-18")
  }

  func testResNet34And50WithWinogradMatchDirectConvolution() throws {
    try XCTSkipUnless(ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0", "VPBOOK_WINOGRAD=0")
    for depth in [ResNet.Depth.r34, .r50] {
      let winograd = try ResNet.build(WeightReader(syntheticSeed: 3), depth: depth, classes: 1000)
      let direct = try ResNet.build(WeightReader(syntheticSeed: 3), depth: depth, classes: 1000, winograd: false)
      XCTAssertEqual(
        convolutions(winograd.body).filter(\.winogradEnabled).count, depth == .r34 ? 29 : 13, "ResNet-\(depth.rawValue)"
      )
      compare(winograd, direct, sides: [64], batch: 2, "ResNet-\(depth.rawValue)")
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
