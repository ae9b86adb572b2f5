import Foundation
import VPTensor
import VPTestSupport
import XCTest

/// The cases of `Fixtures/winograd.json`, written by `Reference/make_winograd_fixtures.py` (numpy, float64;
/// NCHW activations, OIHW weights).
struct WinogradFixture: Decodable {
  struct Case: Decodable {
    var name: String
    var pad: Int
    var inputs: [String: KernelCase.Stored]
    var outputs: [String: KernelCase.Stored]
  }
  var cases: [Case]

  static let shared: WinogradFixture = try! loadFixture("winograd", as: WinogradFixture.self, in: .module)
}

/// Winograd F(4×4, 3×3), forward and input gradient, against the float64 reference and against the direct
/// (im2col) convolution on every layer shape of ResNet-18.
///
/// The error is `max |a − b| / max |b|` over the whole output. Measured: at most 1.9e-6 against the fixture's float64
/// values (channels 5–16); on ResNet-18's channel counts at most 1.2e-5 (forward) and 5.5e-6 (input gradient)
/// against the float32 im2col path, whose own error against float64 is 3e-7–6e-7 (the reference script's error
/// study, which also gives F(4,3) in float32 6e-6–8.5e-6 against float64).
final class WinogradTests: XCTestCase {
  /// Per-layer bound: about twice the largest error measured on ResNet-18's shapes.
  let layerTolerance: Float = 2e-5

  func relativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    XCTAssertEqual(actual.shape, expected.shape)
    return maxRelativeError(actual.data, expected.data)
  }

  /// Seeded values in [−1, 1) (SplitMix64).
  func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return (Float((z ^ (z >> 31)) >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
  }

  func convolution(_ cin: Int, _ cout: Int, seed: UInt64, activation: Activation = .identity, pad: Int = 1) -> Conv2D {
    let w = values(cout * cin * 9, seed: seed, scale: (6 / Float(9 * cin)).squareRoot())
    return Conv2D(
      torchWeight: w, shape: [cout, cin, 3, 3], bias: values(cout, seed: seed + 1, scale: 0.1),
      padding: .symmetric(pad), activation: activation)
  }

  func testWinogradIsOnlyUsedWhenAllowedAndTheShapeFits() throws {
    try XCTSkipUnless(ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0", "VPBOOK_WINOGRAD=0")
    let plain = convolution(8, 8, seed: 1)
    XCTAssertTrue(plain.hasWinogradShape)
    XCTAssertFalse(plain.winogradEnabled, "off unless the builder opts in")
    XCTAssertTrue(plain.withWinograd(.whenFaster).winogradEnabled)
    let strided = Conv2D(
      torchWeight: values(8 * 8 * 9, seed: 2), shape: [8, 8, 3, 3], stride: 2, padding: .symmetric(1))
    XCTAssertFalse(strided.withWinograd(.always).winogradEnabled)
    let grouped = Conv2D(
      torchWeight: values(8 * 4 * 9, seed: 3), shape: [8, 4, 3, 3], padding: .symmetric(1), groups: 2)
    XCTAssertFalse(grouped.withWinograd(.always).winogradEnabled)
    let pointwise = Conv2D(torchWeight: values(64, seed: 4), shape: [8, 8, 1, 1])
    XCTAssertFalse(pointwise.withWinograd(.always).winogradEnabled)
    // `.whenFaster`: ResNet-18's layers at one worker's micro-batch (two 224² images, six 128², 24 64²).
    XCTAssertTrue(Conv2D.winogradPays(n: 2, outputH: 56, outputW: 56, channels: 64))
    XCTAssertTrue(Conv2D.winogradPays(n: 2, outputH: 14, outputW: 14, channels: 256))
    XCTAssertTrue(Conv2D.winogradPays(n: 24, outputH: 4, outputW: 4, channels: 256))
    XCTAssertFalse(Conv2D.winogradPays(n: 2, outputH: 7, outputW: 7, channels: 512), "8 tiles for 512 channels")
    XCTAssertTrue(Conv2D.winogradPays(n: 16, outputH: 7, outputW: 7, channels: 512))
    XCTAssertFalse(Conv2D.winogradPays(n: 24, outputH: 2, outputW: 2, channels: 64), "2×2 pixels in a 4×4 tile")
    let small = Tensor(shape: [2, 2, 2, 8], data: values(64, seed: 6))
    XCTAssertTrue(plain.withWinograd(.whenFaster)(small).data == plain(small).data, "falls back to im2col's bits")
    XCTAssertFalse(plain.withWinograd(.always)(small).data == plain(small).data, "runs Winograd")
    XCTAssertFalse(Conv2D.winogradPaysBackward(n: 2, outputH: 7, outputW: 7, channels: 512))
    XCTAssertTrue(Conv2D.winogradPaysBackward(n: 6, outputH: 4, outputW: 4, channels: 512), "6 images")
    XCTAssertTrue(Conv2D.winogradPaysBackward(n: 24, outputH: 2, outputW: 2, channels: 512))
    // The input gradient runs as Winograd where its own rule says (here: two images, 2 tiles ≥ 8 / 32).
    let gy = Tensor(shape: [2, 2, 2, 8], data: values(64, seed: 7))
    let gradient = plain.withWinograd(.whenFaster).inputGradient(at: small, outputGradient: gy).data
    XCTAssertTrue(gradient == plain.withWinograd(.always).inputGradient(at: small, outputGradient: gy).data)
    XCTAssertFalse(gradient == plain.inputGradient(at: small, outputGradient: gy).data)
    // Folding a batch norm changes the weights: the transformed filters must follow (not stay the cached ones).
    let x = Tensor(shape: [1, 6, 6, 8], data: values(288, seed: 5))
    let allowed = plain.withWinograd(.always)
    _ = allowed(x)
    let n = 8
    let folded = allowed.foldingBatchNorm(
      gamma: (0..<n).map { 0.5 + Float($0) * 0.1 }, beta: [Float](repeating: 0.1, count: n),
      mean: [Float](repeating: 0.2, count: n), variance: [Float](repeating: 0.9, count: n), epsilon: 1e-5)
    XCTAssertTrue(folded.winogradEnabled)
    XCTAssertLessThan(relativeError(folded(x), folded.withWinograd(.never)(x)), layerTolerance)
  }

  func testWinogradMatchesReferenceForwardAndInputGradient() throws {
    try XCTSkipUnless(ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0", "VPBOOK_WINOGRAD=0")
    let cases = WinogradFixture.shared.cases
    XCTAssertEqual(cases.count, 3)
    var worst: Float = 0
    for c in cases {
      let w = c.inputs["w"]!
      let layer = Conv2D(
        torchWeight: w.data, shape: w.shape, bias: c.inputs["b"]!.data, padding: .symmetric(c.pad)
      ).withWinograd(.always)
      XCTAssertTrue(layer.winogradEnabled, c.name)
      let x = c.inputs["x"]!.tensor.nchwToNHWC()
      let y = layer(x)
      let gx = layer.inputGradient(at: x, outputGradient: c.inputs["gy"]!.tensor.nchwToNHWC())
      let forwardError = relativeError(y, c.outputs["y"]!.tensor.nchwToNHWC())
      let gradientError = relativeError(gx, c.outputs["gx"]!.tensor.nchwToNHWC())
      XCTAssertLessThan(forwardError, 2e-6, "\(c.name) forward")
      XCTAssertLessThan(gradientError, 2e-6, "\(c.name) input gradient")
      worst = max(worst, forwardError, gradientError)
    }
    print("Winograd against the float64 reference: max relative error \(worst)")
  }

  /// Every 3×3 stride-1 layer of ResNet-18 (64, 128, 256, 512 channels) at the sizes the model sees at canvas
  /// 224, 128 and 64 (56/28/14/7, 32/16/8/4, 16/8/4/2 px; the largest replaced by odd sizes that are not
  /// multiples of the tile), batch 3, with the fused ReLU and its mask.
  func testWinogradMatchesDirectConvolutionOnResNet18Shapes() throws {
    try XCTSkipUnless(ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0", "VPBOOK_WINOGRAD=0")
    let shapes: [(channels: Int, sizes: [Int])] = [
      (64, [16, 13]), (128, [16, 8, 11]), (256, [14, 8, 4, 5]), (512, [7, 4, 2, 3]),
    ]
    var worstForward: Float = 0
    var worstGradient: Float = 0
    for (c, sizes) in shapes {
      for (i, s) in sizes.enumerated() {
        let seed = UInt64(c * 100 + i * 10)
        for activation in [Activation.identity, .relu] {
          let direct = convolution(c, c, seed: seed, activation: activation)
          let winograd = direct.withWinograd(.always)
          let x = Tensor(shape: [3, s, s, c], data: values(3 * s * s * c, seed: seed + 2))
          let gy = Tensor(shape: [3, s, s, c], data: values(3 * s * s * c, seed: seed + 3))
          let y = winograd(x)
          let forwardError = relativeError(y, direct(x))
          XCTAssertLessThan(forwardError, layerTolerance, "\(c) ch at \(s) px \(activation) forward")
          worstForward = max(worstForward, forwardError)
          // The ReLU's mask comes from each path's own pre-activations, which may differ in sign where they are
          // within rounding of zero: the direct reference uses Winograd's mask (y > 0) through an identity layer.
          let mask = Tensor(
            shape: gy.shape, data: zip(gy.data, y.data).map { $1 > 0 || activation == .identity ? $0 : 0 })
          let expected = convolution(c, c, seed: seed).inputGradient(at: x, outputGradient: mask)
          let gradientError = relativeError(winograd.inputGradient(at: x, outputGradient: gy), expected)
          XCTAssertLessThan(gradientError, layerTolerance, "\(c) ch at \(s) px \(activation) input gradient")
          worstGradient = max(worstGradient, gradientError)
        }
      }
    }
    print("Winograd against im2col on ResNet-18's shapes: forward \(worstForward), input gradient \(worstGradient)")
  }

  /// The data-parallel workers use serial workspaces; a single micro-batch splits the transforms and the 36 GEMMs
  /// over threads. Both must give the same bits, and so must blocks of different sizes.
  func testSerialAndParallelWorkspacesGiveTheSameBits() throws {
    try XCTSkipUnless(ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0", "VPBOOK_WINOGRAD=0")
    let layer = convolution(24, 40, seed: 9, activation: .relu).withWinograd(.always)
    let (n, h, w) = (3, 11, 9)
    let x = Tensor(shape: [n, h, w, 24], data: values(n * h * w * 24, seed: 10))
    let gy = Tensor(shape: [n, h, w, 40], data: values(n * h * w * 40, seed: 11))
    func run(parallel: Bool) -> (Tensor, Tensor) {
      let ws = Workspace(parallel: parallel)
      let tape = Tape()
      let input = ws.featureMap(copying: x)
      let y = layer.forward(input, workspace: ws, tape: tape)
      ws.release(input)
      let output = ws.tensor(consuming: y)
      let g = layer.backward(ws.featureMap(copying: gy), workspace: ws, tape: tape)
      return (output, ws.tensor(consuming: g))
    }
    let serial = run(parallel: false)
    let parallel = run(parallel: true)
    XCTAssertTrue(serial.0.data == parallel.0.data, "forward: serial and parallel bits differ")
    XCTAssertTrue(serial.1.data == parallel.1.data, "input gradient: serial and parallel bits differ")
    // One image at a time: the same up to OpenBLAS's rounding, which depends on a row's place in the GEMM.
    for i in 0..<n {
      let one = Tensor(shape: [1, h, w, 24], data: Array(x.data[(i * h * w * 24)..<((i + 1) * h * w * 24)]))
      let together = Tensor(
        shape: [1, h, w, 40], data: Array(serial.0.data[(i * h * w * 40)..<((i + 1) * h * w * 40)]))
      XCTAssertLessThan(relativeError(layer(one), together), 1e-6, "image \(i) alone")
    }
  }
}
