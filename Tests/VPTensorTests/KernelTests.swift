import VPTensor
import VPTestSupport
import XCTest

/// Every kernel, forward and input gradient, against the numpy reference (relative tolerance 1e-4 of the
/// largest reference magnitude).
final class KernelTests: XCTestCase {
  let tolerance: Float = 1e-4

  func assertClose(
    _ actual: Tensor, _ expected: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    VPTestSupport.assertClose(
      actual.data, expected.data, tolerance: tolerance, relativeTo: .largestExpected, what, file: file, line: line)
  }

  func conv(for c: KernelCase) -> Conv2D {
    let w = c.inputs["w"]!
    let stride = c.params["stride"]!.ints!
    XCTAssertEqual(stride[0], stride[1])
    let pad = c.params["pad"]!.ints!
    let padding: Padding =
      c.params["same"]?.bool == true ? .same : .explicit(top: pad[0], left: pad[1], bottom: pad[2], right: pad[3])
    return Conv2D(
      torchWeight: w.data, shape: w.shape, bias: c.inputs["b"]?.data, stride: stride[0], padding: padding,
      groups: c.params["groups"]!.int!)
  }

  func testConvolutionsMatchReferenceForwardAndInputGradient() {
    let cases = KernelCase.cases("conv2d")
    XCTAssertGreaterThanOrEqual(cases.count, 25)
    var paths = Set<String>()
    for c in cases {
      let layer = conv(for: c)
      paths.insert(layer.isDepthwise ? "depthwise" : layer.isPointwise ? "pointwise" : "im2col")
      let x = c.nhwc("x")
      assertClose(layer(x), c.expectedNHWC("y"), "\(c.name) forward")
      assertClose(layer.inputGradient(at: x, outputGradient: c.nhwc("gy")), c.expectedNHWC("gx"), "\(c.name) gx")
    }
    XCTAssertEqual(paths, ["depthwise", "pointwise", "im2col"], "every convolution code path is exercised")
  }

  func testSamePaddingResolvesLikeTensorFlow() {
    for c in KernelCase.cases("conv2d") where c.params["same"]?.bool == true {
      let layer = conv(for: c)
      let x = c.inputs["x"]!.shape
      let p = Padding.same.resolve(
        h: x[2], w: x[3], kernelH: layer.kernelH, kernelW: layer.kernelW, strideH: layer.strideH,
        strideW: layer.strideW)
      XCTAssertEqual([p.top, p.left, p.bottom, p.right], c.params["pad"]!.ints!, c.name)
    }
  }

  func testFoldedBatchNormEqualsConvolutionThenBatchNorm() {
    let c = KernelCase.cases("conv2d").first { $0.name == "conv3x3_s1_p1" }!
    let layer = conv(for: c)
    let n = layer.outChannels
    let gamma = (0..<n).map { 0.5 + Float($0) * 0.1 }
    let beta = (0..<n).map { Float($0) * 0.05 - 0.1 }
    let mean = (0..<n).map { Float($0) * 0.02 }
    let variance = (0..<n).map { 0.8 + Float($0) * 0.07 }
    let bn = BatchNorm(gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: 1e-5)
    let x = c.nhwc("x")
    let expected = bn(layer(x))
    let folded = layer.foldingBatchNorm(gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: 1e-5)
    assertClose(folded(x), expected, "folded forward")
    let gy = c.nhwc("gy")
    let viaBoth = layer.inputGradient(at: x, outputGradient: bn.inputGradient(at: layer(x), outputGradient: gy))
    assertClose(folded.inputGradient(at: x, outputGradient: gy), viaBoth, "folded gradient")
  }

  func testBatchNormMatchesReference() {
    for c in KernelCase.cases("batchnorm") {
      let bn = BatchNorm(
        gamma: c.inputs["gamma"]!.data, beta: c.inputs["beta"]!.data, mean: c.inputs["mean"]!.data,
        variance: c.inputs["var"]!.data, epsilon: Float(c.params["eps"]!.double!))
      assertClose(bn(c.nhwc("x")), c.expectedNHWC("y"), "\(c.name) forward")
      assertClose(bn.inputGradient(at: c.nhwc("x"), outputGradient: c.nhwc("gy")), c.expectedNHWC("gx"), c.name)
    }
  }

  /// Rank-2 cases are treated as `[N, 1, 1, C]`.
  func asMap(_ t: Tensor) -> Tensor {
    t.shape.count == 4 ? t.nchwToNHWC() : Tensor(shape: [t.shape[0], 1, 1, t.shape[1]], data: t.data)
  }

  func testActivationsMatchReferenceIncludingKinks() {
    for (op, act) in [("relu", Activation.relu), ("relu6", .relu6)] {
      let cases = KernelCase.cases(op)
      XCTAssertEqual(cases.count, 2)
      for c in cases {
        let layer = ActivationLayer(act)
        let x = asMap(c.inputs["x"]!.tensor)
        assertClose(layer(x), asMap(c.outputs["y"]!.tensor), "\(c.name) forward")
        assertClose(
          layer.inputGradient(at: x, outputGradient: asMap(c.inputs["gy"]!.tensor)), asMap(c.outputs["gx"]!.tensor),
          "\(c.name) gx")
      }
    }
  }

  func testMaxPoolMatchesReference() {
    for c in KernelCase.cases("maxpool2d") {
      let pool = MaxPool2D(
        kernel: c.params["kernel"]!.int!, stride: c.params["stride"]!.int!, padding: c.params["pad"]!.int!)
      assertClose(pool(c.nhwc("x")), c.expectedNHWC("y"), "\(c.name) forward")
      assertClose(pool.inputGradient(at: c.nhwc("x"), outputGradient: c.nhwc("gy")), c.expectedNHWC("gx"), c.name)
    }
  }

  func testGlobalAveragePoolMatchesReference() {
    for c in KernelCase.cases("global_avgpool") {
      let pool = GlobalAveragePool()
      let y = pool(c.nhwc("x"))
      assertClose(Tensor(shape: [y.shape[0], y.shape[3]], data: y.data), c.outputs["y"]!.tensor, "\(c.name) forward")
      assertClose(
        pool.inputGradient(at: c.nhwc("x"), outputGradient: asMap(c.inputs["gy"]!.tensor)), c.expectedNHWC("gx"), c.name
      )
    }
  }

  func testResidualAddPassesTheGradientToBothBranches() {
    let c = KernelCase.cases("add").first!
    let ws = Workspace(parallel: false)
    let a = ws.featureMap(copying: c.nhwc("a"))
    let b = ws.featureMap(copying: c.nhwc("b"))
    ws.add(a.pointer, b.pointer, count: a.count)
    ws.release(b)  // (LeakSanitizer found this test's map never given back)
    assertClose(ws.tensor(consuming: a), c.expectedNHWC("y"), "add")
    XCTAssertEqual(c.outputs["ga"]!.data, c.inputs["gy"]!.data)
    XCTAssertEqual(c.outputs["gb"]!.data, c.inputs["gy"]!.data)
  }

  func testLinearGivesInputWeightAndBiasGradients() {
    for c in KernelCase.cases("linear") {
      let w = c.inputs["w"]!
      let layer = Linear(weight: w.data, bias: c.inputs["b"]!.data, inFeatures: w.shape[1], outFeatures: w.shape[0])
      let x = c.inputs["x"]!.tensor
      assertClose(layer(x), c.outputs["y"]!.tensor, "\(c.name) forward")
      let g = layer.gradients(x: x, outputGradient: c.inputs["gy"]!.tensor)
      assertClose(g.input, c.outputs["gx"]!.tensor, "\(c.name) gx")
      assertClose(Tensor(shape: w.shape, data: g.weight), c.outputs["gw"]!.tensor, "\(c.name) gw")
      assertClose(Tensor(shape: [w.shape[0]], data: g.bias), c.outputs["gb"]!.tensor, "\(c.name) gb")
    }
  }

  func testSoftmaxIsStableForLargeLogits() {
    for c in KernelCase.cases("softmax") {
      let x = c.inputs["x"]!
      let p = Loss.softmax(x.data, classes: x.shape[1])
      XCTAssertFalse(p.contains { !$0.isFinite }, c.name)
      assertClose(Tensor(shape: x.shape, data: p), c.outputs["y"]!.tensor, c.name)
    }
  }

  func testCrossEntropyLossAndGradientMatchReference() {
    for c in KernelCase.cases("cross_entropy") {
      let z = c.inputs["z"]!
      let labels = c.inputs["labels"]!.data.map { Int($0) }
      let (loss, g) = Loss.crossEntropy(logits: z.data, labels: labels, classes: z.shape[1])
      let expected = c.outputs["loss"]!.data[0]
      XCTAssertEqual(loss, expected, accuracy: 1e-4 * max(1, abs(expected)), c.name)
      assertClose(Tensor(shape: z.shape, data: g), c.outputs["gz"]!.tensor, "\(c.name) gz")
    }
  }

  /// With an identity activation a convolution is linear in its input, so a central difference with a unit
  /// step is exact up to rounding: `∂(Σ gy ⊙ conv(x))/∂x[i] = (L(x + e_i) − L(x − e_i)) / 2`.
  func testConvolutionInputGradientsAgreeWithFiniteDifferences() {
    var rng = SplitMix64(seed: 11)
    let shapes: [(k: Int, s: Int, groups: Int, cin: Int, cout: Int, pad: Padding)] = [
      (3, 1, 1, 3, 5, .symmetric(1)), (3, 2, 1, 4, 6, .same), (1, 1, 1, 6, 4, .symmetric(0)),
      (5, 2, 8, 8, 8, .same), (3, 1, 8, 8, 8, .symmetric(1)), (7, 2, 1, 3, 4, .symmetric(3)),
    ]
    for spec in shapes {
      let wShape = [spec.cout, spec.cin / spec.groups, spec.k, spec.k]
      let layer = Conv2D(
        torchWeight: (0..<wShape.reduce(1, *)).map { _ in rng.nextFloat() - 0.5 }, shape: wShape,
        bias: (0..<spec.cout).map { _ in rng.nextFloat() }, stride: spec.s, padding: spec.pad, groups: spec.groups)
      let x = Tensor(shape: [2, 9, 8, spec.cin]) { _ in rng.nextFloat() * 2 - 1 }
      let y = layer(x)
      let gy = Tensor(shape: y.shape) { _ in rng.nextFloat() - 0.5 }
      let gx = layer.inputGradient(at: x, outputGradient: gy)
      func loss(_ t: Tensor) -> Double {
        let out = layer(t)
        return zip(out.data, gy.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
      }
      for i in stride(from: 0, to: x.count, by: max(1, x.count / 40)) {
        var plus = x
        plus.data[i] += 1
        var minus = x
        minus.data[i] -= 1
        let fd = (loss(plus) - loss(minus)) / 2
        XCTAssertEqual(
          Double(gx.data[i]), fd, accuracy: 1e-4 * max(1, abs(fd)), "k\(spec.k) s\(spec.s) g\(spec.groups) at \(i)")
      }
    }
  }

  /// ReLU6 fused into a convolution: finite differences with a small step away from the kinks.
  func testFusedActivationGradientAgreesWithFiniteDifferences() {
    var rng = SplitMix64(seed: 5)
    let layer = Conv2D(
      torchWeight: (0..<(6 * 4 * 9)).map { _ in rng.nextFloat() * 2 - 1 }, shape: [6, 4, 3, 3],
      bias: (0..<6).map { _ in rng.nextFloat() * 4 - 1 }, stride: 1, padding: .symmetric(1), activation: .relu6)
    let x = Tensor(shape: [1, 6, 6, 4]) { _ in rng.nextFloat() * 3 - 1.5 }
    let y = layer(x)
    XCTAssertTrue(y.data.contains(0) && y.data.contains(6), "the test should exercise both clamps")
    let gy = Tensor(shape: y.shape) { _ in rng.nextFloat() - 0.5 }
    let gx = layer.inputGradient(at: x, outputGradient: gy)
    func loss(_ t: Tensor) -> Double { zip(layer(t).data, gy.data).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
    var checked = 0
    for i in 0..<x.count {
      let h: Float = 1e-2
      var plus = x
      plus.data[i] += h
      var minus = x
      minus.data[i] -= h
      // Skip inputs whose perturbation moves some output across a kink.
      let yp = layer(plus)
      let ym = layer(minus)
      let crosses = (0..<y.count).contains { j in
        func inside(_ v: Float) -> Bool { v > 0 && v < 6 }
        return inside(yp.data[j]) != inside(ym.data[j]) || inside(y.data[j]) != inside(yp.data[j])
      }
      if crosses { continue }
      let fd = (loss(plus) - loss(minus)) / Double(2 * h)
      XCTAssertEqual(Double(gx.data[i]), fd, accuracy: 2e-3 * max(1, abs(fd)), "input \(i)")
      checked += 1
    }
    XCTAssertGreaterThan(checked, 50)
  }
}

/// A small deterministic generator for test data.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
