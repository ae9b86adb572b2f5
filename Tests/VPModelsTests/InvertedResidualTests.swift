import Foundation
import VPModels
import VPTensor
import VPTestSupport
import XCTest

/// The fused inverted-residual blocks (`InvertedResidual`) against the layers one after the other: the same bits.
final class InvertedResidualTests: XCTestCase {
  static let fused = try? MobileNetV2.load(
    CheckpointWeights(path: requireAsset(ModelName.mobilenetV2.defaultWeights!)), fusion: .exact)
  static let unfused = try? MobileNetV2.load(
    CheckpointWeights(path: requireAsset(ModelName.mobilenetV2.defaultWeights!)), fusion: .off)

  /// A VP step's loss gradient: cross-entropy over 10 mapped classes.
  static func lossGradient(classes: Int, batch: Int) -> @Sendable ([Float], Range<Int>) -> [Float] {
    { logits, range in
      let idx = [1, 7, 42, 99, 151, 283, 404, 555, 817, 999]
      var z = [Float](repeating: 0, count: range.count * idx.count)
      for r in 0..<range.count { for (j, k) in idx.enumerated() { z[r * idx.count + j] = logits[r * classes + k] } }
      let labels = range.map { $0 % idx.count }
      let (_, gz) = Loss.crossEntropy(logits: z, labels: labels, classes: idx.count, scale: batch)
      var out = [Float](repeating: 0, count: range.count * classes)
      for r in 0..<range.count { for (j, k) in idx.enumerated() { out[r * classes + k] = gz[r * idx.count + j] } }
      return out
    }
  }

  func testMobileNetV2FusesTheSmallMatrixBlocksOnly() throws {
    let m = try XCTUnwrap(Self.fused)
    let fusedBlocks = m.body.layers.enumerated().filter { $0.element is InvertedResidual }.map(\.offset)
    XCTAssertEqual(fusedBlocks, [1, 2], "features.1 (dw + 32→16) and features.2 (16→96 + dw)")
    XCTAssertFalse(try XCTUnwrap(Self.unfused).body.layers.contains { $0 is InvertedResidual })
  }

  /// Logits and input gradients of a VP step, fused and unfused, equal bit for bit: odd batch, two canvases,
  /// micro-batches on serial workers (one image each; the default two at 224) and one micro-batch split over the
  /// threads.
  func checkBitIdentical(_ fused: ImageClassifier, _ unfused: ImageClassifier, _ what: String) {
    for (side, microBatch) in [(224, 1), (224, nil), (224, 3), (64, 1), (64, 3)] as [(Int, Int?)] {
      let x = ModelFixtures.input(n: 3, size: side)
      fused.microBatchOverride = microBatch
      unfused.microBatchOverride = microBatch
      defer {
        fused.microBatchOverride = nil
        unfused.microBatchOverride = nil
      }
      let loss = Self.lossGradient(classes: 1000, batch: 3)
      let a = fused.inputGradient(x, lossGradient: loss)
      let b = unfused.inputGradient(x, lossGradient: loss)
      XCTAssertTrue(
        a.logits.data == b.logits.data, "\(what) logits at \(side), micro-batch \(String(describing: microBatch))")
      XCTAssertTrue(
        a.gradient.data == b.gradient.data,
        "\(what) input gradient at \(side), micro-batch \(String(describing: microBatch))")
      XCTAssertTrue(fused.logits(x).data == b.logits.data, "\(what) inference logits at \(side)")
    }
  }

  func testMobileNetV2FusedIsBitIdentical() throws {
    checkBitIdentical(try XCTUnwrap(Self.fused), try XCTUnwrap(Self.unfused), "MobileNetV2")
  }

  /// EfficientNet-Lite0 starts with the same two blocks (3×3 depthwise, "SAME" padding, 32→16, 16→96→24 s2).
  func testEfficientNetLite0FusedIsBitIdentical() throws {
    let path = try requireAsset(ModelName.efficientnetLite0.defaultWeights!)
    let fused = try EfficientNetLite0.load(CheckpointWeights(path: path), fusion: .exact)
    let unfused = try EfficientNetLite0.load(CheckpointWeights(path: path), fusion: .off)
    XCTAssertEqual(fused.body.layers.enumerated().filter { $0.element is InvertedResidual }.map(\.offset), [1, 2])
    checkBitIdentical(fused, unfused, "EfficientNet-Lite0")
  }

  /// Fusing OpenBLAS's products too (`VPBOOK_FUSED=all`) moves the last bits only.
  func testMobileNetV2FullyFusedIsClose() throws {
    let all = try MobileNetV2.load(
      CheckpointWeights(path: requireAsset(ModelName.mobilenetV2.defaultWeights!)), fusion: .all)
    XCTAssertTrue(all.body.layers[1...17].allSatisfy { $0 is InvertedResidual })  // OpenBLAS tiled from 28×28 on
    let unfused = try XCTUnwrap(Self.unfused)
    let x = ModelFixtures.input(n: 3, size: 64)
    let loss = Self.lossGradient(classes: 1000, batch: 3)
    let a = all.inputGradient(x, lossGradient: loss)
    let b = unfused.inputGradient(x, lossGradient: loss)
    assertClose(a.logits.data, b.logits.data, tolerance: 1e-5, relativeTo: .largestExpected, "logits")
    assertClose(a.gradient.data, b.gradient.data, tolerance: 1e-4, relativeTo: .largestExpected, "input gradient")
  }

  // MARK: - Single blocks, with channels that keep every 1×1 product on the small-matrix kernel (all fused)

  static func conv(
    _ seed: inout UInt64, cin: Int, cout: Int, kernel: Int, stride: Int = 1, groups: Int = 1,
    activation: Activation
  ) -> Conv2D {
    func next() -> Float {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int(seed >> 40) % 2001 - 1000) / 1000
    }
    let shape = [cout, cin / groups, kernel, kernel]
    let scale = 1 / Float(cin / groups * kernel * kernel).squareRoot()
    return Conv2D(
      torchWeight: (0..<shape.reduce(1, *)).map { _ in next() * scale * 2 }, shape: shape,
      bias: (0..<cout).map { _ in next() * 0.5 }, stride: stride, padding: .symmetric(kernel / 2), groups: groups,
      activation: activation)
  }

  /// The block fused (with small tiles, so that windows move and segments meet) and as `Sequential`/`Residual`.
  static func block(cin: Int, cout: Int, hidden: Int, stride: Int, tileBytes: Int) -> (
    InvertedResidual, any FrozenLayer
  ) {
    var seed: UInt64 = 7
    let expand = conv(&seed, cin: cin, cout: hidden, kernel: 1, activation: .relu6)
    let depthwise = conv(
      &seed, cin: hidden, cout: hidden, kernel: 3, stride: stride, groups: hidden, activation: .relu6)
    let project = conv(&seed, cin: hidden, cout: cout, kernel: 1, activation: .identity)
    let residual = stride == 1 && cin == cout
    var fused = InvertedResidual(
      expand: expand, depthwise: depthwise, project: project, residual: residual, fusion: .exact)
    fused.tileBytes = tileBytes
    let sequence = Sequential([expand, depthwise, project])
    return (fused, residual ? Residual(body: sequence) : sequence)
  }

  func checkBlock(cin: Int, cout: Int, hidden: Int, stride: Int) {
    // One image: with two threads, its rows are split into segments that meet (and share expanded rows).
    for (n, h, w) in [(3, 15, 13), (3, 28, 28), (1, 28, 27)] {
      for tileBytes in [1, 3 * 1024, 1 << 20] {
        let (fused, unfused) = Self.block(cin: cin, cout: cout, hidden: hidden, stride: stride, tileBytes: tileBytes)
        XCTAssertTrue(fused.fusesAnything)
        var seed: UInt64 = 3
        let x = Tensor(
          shape: [n, h, w, cin],
          data: (0..<(n * h * w * cin)).map { _ in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1
            return Float(Int(seed >> 40) % 2001 - 1000) / 300
          })
        let y = unfused(x)
        XCTAssertTrue(fused(x).data == y.data, "output \(h)×\(w), tiles of \(tileBytes) bytes")
        let gy = Tensor(shape: y.shape, data: y.data.map { $0 * 0.37 - 0.1 })
        let expected = unfused.inputGradient(at: x, outputGradient: gy).data
        XCTAssertTrue(
          fused.inputGradient(at: x, outputGradient: gy).data == expected, "gradient \(h)×\(w), tiles \(tileBytes)")
        // One thread: a serial workspace runs whole images in order.
        let ws = Workspace(parallel: false)
        let tape = Tape()
        let input = ws.featureMap(copying: x)
        let out = fused.forward(input, workspace: ws, tape: tape)
        XCTAssertTrue(ws.tensor(consuming: out).data == y.data, "serial output \(h)×\(w)")
        let g = fused.backward(ws.featureMap(copying: gy), workspace: ws, tape: tape)
        XCTAssertTrue(ws.tensor(consuming: g).data == expected, "serial gradient \(h)×\(w)")
        XCTAssertTrue(tape.isEmpty)
      }
    }
  }

  func testResidualBlockIsBitIdentical() { checkBlock(cin: 16, cout: 16, hidden: 96, stride: 1) }
  func testStrideTwoBlockIsBitIdentical() { checkBlock(cin: 16, cout: 8, hidden: 48, stride: 2) }
}
