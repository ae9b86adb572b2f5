import VPTensor
import VPTestSupport
import XCTest

/// The kernels a trainable network needs on top of the frozen ones: convolution weight and bias gradients and
/// batch normalisation in training mode, against the numpy reference (relative tolerance 1e-4 of the largest
/// reference magnitude), finite differences, and serial runs (the results must not depend on threads).
final class TrainingKernelTests: XCTestCase {
  let tolerance: Float = 1e-4

  func convolution(_ c: KernelCase) -> Conv2D {
    let w = c.inputs["w"]!
    let stride = c.params["stride"]!.ints!
    let pad = c.params["pad"]!.ints!
    return Conv2D(
      torchWeight: w.data, shape: w.shape, bias: c.inputs["b"]?.data, stride: stride[0],
      padding: .explicit(top: pad[0], left: pad[1], bottom: pad[2], right: pad[3]), groups: c.params["groups"]!.int!)
  }

  /// The largest difference relative to `max(1, max |expected|)` (`VPTestSupport`'s `.largestExpected`).
  func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    Tensor(shape: [actual.count], data: actual).maxRelativeDifference(
      to: Tensor(shape: [expected.count], data: expected))
  }

  func testConvolutionWeightAndBiasGradientsMatchReference() {
    let cases = KernelCase.cases("conv2d").filter { $0.params["groups"]!.int! == 1 }
    XCTAssertGreaterThanOrEqual(cases.count, 15)
    var worst: Float = 0
    for c in cases {
      let layer = convolution(c)
      let g = layer.parameterGradient(at: c.nhwc("x"), outputGradient: c.nhwc("gy"))
      let expected = c.outputs["gw"]!
      XCTAssertEqual(g.weight.count, expected.data.count, c.name)
      assertClose(g.weight, expected.data, tolerance: tolerance, relativeTo: .largestExpected, "\(c.name) gw")
      worst = max(worst, relativeError(g.weight, expected.data))
      if let gb = c.outputs["gb"] {
        assertClose(g.bias, gb.data, tolerance: tolerance, relativeTo: .largestExpected, "\(c.name) gb")
        worst = max(worst, relativeError(g.bias, gb.data))
      }
    }
    XCTAssertLessThan(worst, tolerance)
  }

  /// Random `[n, h, w, c]` values in [-1, 1) from a fixed linear congruential sequence.
  func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var s = seed
    return Tensor(shape: shape) { _ in
      s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(s >> 40) / Float(1 << 23) - 1
    }
  }

  /// `L = Σ gy ⊙ conv(x)` in Double.
  func loss(_ layer: Conv2D, _ x: Tensor, _ gy: Tensor) -> Double {
    zip(layer(x).data, gy.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
  }

  /// The convolution is linear in its weights, so a central difference with a large step is exact up to
  /// float32 rounding of the loss.
  func testWeightGradientMatchesCentralFiniteDifferences() {
    let specs: [(shape: [Int], input: [Int], stride: Int, padding: Padding)] = [
      ([6, 4, 3, 3], [2, 7, 7, 4], 1, .symmetric(1)),
      ([5, 3, 3, 3], [2, 9, 8, 3], 2, .symmetric(1)),
      ([4, 3, 7, 7], [1, 15, 15, 3], 2, .symmetric(3)),
      ([5, 8, 1, 1], [3, 5, 5, 8], 1, .symmetric(0)),
      ([4, 6, 2, 3], [2, 6, 7, 6], 1, .explicit(top: 0, left: 1, bottom: 1, right: 0)),
    ]
    var worst = 0.0
    for (index, spec) in specs.enumerated() {
      let count = spec.shape.reduce(1, *)
      let w = randomTensor([count], seed: UInt64(index) + 1).data.map { $0 * 0.3 }
      let b = randomTensor([spec.shape[0]], seed: UInt64(index) + 11).data
      let layer = Conv2D(torchWeight: w, shape: spec.shape, bias: b, stride: spec.stride, padding: spec.padding)
      let x = randomTensor(spec.input, seed: UInt64(index) + 21)
      let out = layer.outputSize(h: spec.input[1], w: spec.input[2])
      let gy = randomTensor([spec.input[0], out.h, out.w, spec.shape[0]], seed: UInt64(index) + 31)
      let g = layer.parameterGradient(at: x, outputGradient: gy)
      let h: Float = 0.05
      for i in [0, count / 3, count / 2, count - 1] {
        var plus = w
        var minus = w
        plus[i] += h
        minus[i] -= h
        let lp = loss(
          Conv2D(torchWeight: plus, shape: spec.shape, bias: b, stride: spec.stride, padding: spec.padding), x, gy)
        let lm = loss(
          Conv2D(torchWeight: minus, shape: spec.shape, bias: b, stride: spec.stride, padding: spec.padding), x, gy)
        let numeric = (lp - lm) / Double(plus[i] - minus[i])
        let error = abs(numeric - Double(g.weight[i])) / max(1, abs(numeric))
        worst = max(worst, error)
        XCTAssertLessThan(error, 1e-3, "case \(index) weight \(i): \(numeric) vs \(g.weight[i])")
      }
      for o in [0, spec.shape[0] - 1] {
        var plus = b
        var minus = b
        plus[o] += h
        minus[o] -= h
        let lp = loss(
          Conv2D(torchWeight: w, shape: spec.shape, bias: plus, stride: spec.stride, padding: spec.padding), x, gy)
        let lm = loss(
          Conv2D(torchWeight: w, shape: spec.shape, bias: minus, stride: spec.stride, padding: spec.padding), x, gy)
        let numeric = (lp - lm) / Double(plus[o] - minus[o])
        XCTAssertLessThan(abs(numeric - Double(g.bias[o])) / max(1, abs(numeric)), 1e-3, "case \(index) bias \(o)")
      }
    }
    XCTAssertLessThan(worst, 1e-3)
  }

  /// A convolution whose output rows span several im2col pieces (the partial sums are added in piece order):
  /// the serial and the parallel workspace give the same bits, and both match a direct Double sum.
  func testWeightGradientOverSeveralPiecesIsIndependentOfThreads() {
    let shape = [16, 64, 3, 3]
    let w = randomTensor([shape.reduce(1, *)], seed: 5).data
    let layer = Conv2D(torchWeight: w, shape: shape, bias: nil, stride: 1, padding: .symmetric(1))
    let x = randomTensor([2, 48, 48, 64], seed: 6)  // 4,608 output rows; a piece holds 3,640 at k = 576
    let gy = randomTensor([2, 48, 48, 16], seed: 7)
    func run(_ parallel: Bool) -> (weight: [Float], bias: [Float]) {
      let ws = Workspace(parallel: parallel)
      let input = ws.featureMap(copying: x)
      let g = ws.featureMap(copying: gy)
      defer {
        ws.release(input)
        ws.release(g)
      }
      return layer.parameterGradient(input: input, outputGradient: g, workspace: ws)
    }
    let serial = run(false)
    let parallel = run(true)
    XCTAssertEqual(serial.weight, parallel.weight)
    XCTAssertEqual(serial.bias, parallel.bias)
    // Direct sums for a few weights: W[o, c, ky, kx] = Σ gy[n, i, j, o] · x[n, i + ky − 1, j + kx − 1, c].
    var scale: Float = 1
    var worst: Float = 0
    for (o, c, ky, kx) in [(0, 0, 0, 0), (3, 17, 1, 2), (15, 63, 2, 2), (8, 40, 2, 0)] {
      var s = 0.0
      for n in 0..<2 {
        for i in 0..<48 {
          for j in 0..<48 {
            let (yy, xx) = (i + ky - 1, j + kx - 1)
            guard yy >= 0, yy < 48, xx >= 0, xx < 48 else { continue }
            s += Double(gy.data[((n * 48 + i) * 48 + j) * 16 + o]) * Double(x.data[((n * 48 + yy) * 48 + xx) * 64 + c])
          }
        }
      }
      scale = max(scale, Float(abs(s)))
      worst = max(worst, abs(Float(s) - serial.weight[((o * 64 + c) * 3 + ky) * 3 + kx]))
    }
    XCTAssertLessThan(worst / scale, 1e-4)
    var biasSum = 0.0
    for r in 0..<(2 * 48 * 48) { biasSum += Double(gy.data[r * 16 + 5]) }
    XCTAssertEqual(Double(serial.bias[5]), biasSum, accuracy: 1e-4 * max(1, abs(biasSum)))
  }

  // MARK: - Batch norm in training mode

  func testTrainingBatchNormMatchesReference() {
    let cases = KernelCase.cases("batchnorm_train")
    XCTAssertEqual(cases.count, 4)
    for c in cases {
      var bn = TrainableBatchNorm(
        channels: c.inputs["gamma"]!.data.count, epsilon: Float(c.params["eps"]!.double!),
        momentum: Float(c.params["momentum"]!.double!))
      bn.gamma = c.inputs["gamma"]!.data
      bn.beta = c.inputs["beta"]!.data
      bn.runningMean = c.inputs["running_mean"]!.data
      bn.runningVariance = c.inputs["running_var"]!.data
      let ws = Workspace(parallel: true)
      let x = ws.featureMap(copying: c.nhwc("x"))
      let forward = bn.forwardTraining(x, workspace: ws)
      let y = ws.tensor(consuming: forward.output)
      assertClose(y.data, c.expectedNHWC("y").data, tolerance: tolerance, relativeTo: .largestExpected, "\(c.name) y")
      assertClose(
        bn.runningMean, c.outputs["running_mean"]!.data, tolerance: tolerance, relativeTo: .largestExpected,
        "\(c.name) running mean")
      assertClose(
        bn.runningVariance, c.outputs["running_var"]!.data, tolerance: tolerance, relativeTo: .largestExpected,
        "\(c.name) running variance")
      let eval = ws.tensor(consuming: bn.forwardInference(x, workspace: ws))
      assertClose(
        eval.data, c.expectedNHWC("y_eval").data, tolerance: tolerance, relativeTo: .largestExpected,
        "\(c.name) y eval")
      let recomputed = ws.tensor(consuming: bn.forward(x, statistics: forward.statistics, workspace: ws))
      XCTAssertEqual(recomputed, y, "\(c.name): the output recomputed from the statistics is the same bits")
      let g = bn.backward(
        ws.featureMap(copying: c.nhwc("gy")), input: x, statistics: forward.statistics, workspace: ws)
      let gx = ws.tensor(consuming: g.input)
      assertClose(
        gx.data, c.expectedNHWC("gx").data, tolerance: tolerance, relativeTo: .largestExpected, "\(c.name) gx")
      assertClose(g.gamma, c.outputs["ggamma"]!.data, tolerance: tolerance, relativeTo: .largestExpected, c.name)
      assertClose(g.beta, c.outputs["gbeta"]!.data, tolerance: tolerance, relativeTo: .largestExpected, c.name)
      ws.release(x)
    }
  }

  func testTrainingBatchNormIsIndependentOfThreads() {
    let x = randomTensor([3, 40, 50, 16], seed: 9)  // 6,000 rows: two reduction pieces
    let gy = randomTensor([3, 40, 50, 16], seed: 10)
    func run(_ parallel: Bool) -> [[Float]] {
      var bn = TrainableBatchNorm(channels: 16)
      bn.gamma = randomTensor([16], seed: 11).data
      let ws = Workspace(parallel: parallel)
      let input = ws.featureMap(copying: x)
      let forward = bn.forwardTraining(input, workspace: ws)
      let y = ws.tensor(consuming: forward.output)
      let g = bn.backward(ws.featureMap(copying: gy), input: input, statistics: forward.statistics, workspace: ws)
      let gx = ws.tensor(consuming: g.input)
      ws.release(input)
      return [y.data, bn.runningMean, bn.runningVariance, gx.data, g.gamma, g.beta]
    }
    XCTAssertEqual(run(false), run(true))
  }
}
