import VPTensor
import VPTestSupport
import XCTest

/// The transformer kernels (layer norm, multi-head self-attention with and without a causal mask, GELU,
/// QuickGELU, tanh, token-wise linear layers, the class token) against PyTorch (`transformer_kernels.json`,
/// written by `VPModelsTests/Reference/make_vit_fixture.py` in float64; relative tolerance 1e-4 of the largest
/// reference magnitude), central finite differences, and serial against parallel runs.
final class TransformerKernelTests: XCTestCase {
  let tolerance: Float = 1e-4

  static let cases: [KernelCase] = {
    struct File: Decodable { var cases: [KernelCase] }
    return try! loadFixture("transformer_kernels", as: File.self, in: .module).cases
  }()

  /// A `[N, T, D]` (or `[rows, D]`) reference tensor as the token layout `[N, 1, T, D]`.
  func tokens(_ stored: KernelCase.Stored) -> Tensor {
    let s = stored.shape
    let shape = s.count == 3 ? [s[0], 1, s[1], s[2]] : [1, 1, s[0], s[1]]
    return Tensor(shape: shape, data: stored.data)
  }

  func layer(for c: KernelCase) -> any FrozenLayer {
    switch c.op {
    case "layernorm":
      return LayerNorm(
        weight: c.inputs["weight"]!.data, bias: c.inputs["bias"]!.data, epsilon: Float(c.params["eps"]!.double!))
    case "attention":
      let d = c.inputs["x"]!.shape.last!
      return MultiHeadSelfAttention(
        embedDim: d, heads: c.params["heads"]!.int!, inProjWeight: c.inputs["in_proj_weight"]!.data,
        inProjBias: c.inputs["in_proj_bias"]!.data, outProjWeight: c.inputs["out_proj_weight"]!.data,
        outProjBias: c.inputs["out_proj_bias"]!.data, causal: c.params["causal"]!.bool!)
    case "activation":
      guard case .string(let name) = c.params["activation"]!, let f = SmoothActivation(rawValue: name) else {
        fatalError("unknown activation in \(c.name)")
      }
      return SmoothActivationLayer(f)
    default: fatalError("unknown op \(c.op)")
    }
  }

  /// The worst relative error of the forward pass and the input gradient over `cases`, each checked.
  func checkAgainstReference(_ cases: [KernelCase]) -> Float {
    var worst: Float = 0
    for c in cases {
      let f = layer(for: c)
      let x = tokens(c.inputs["x"]!)
      let y = f(x)
      let gx = f.inputGradient(at: x, outputGradient: tokens(c.inputs["gy"]!))
      for (actual, key) in [(y, "y"), (gx, "gx")] {
        let expected = tokens(c.outputs[key]!)
        XCTAssertEqual(actual.shape, expected.shape, "\(c.name) \(key) shape")
        assertClose(actual.data, expected.data, tolerance: tolerance, relativeTo: .largestExpected, "\(c.name) \(key)")
        worst = max(worst, actual.maxRelativeDifference(to: expected))
      }
    }
    return worst
  }

  func testLayerNormMatchesPyTorch() {
    let cases = Self.cases.filter { $0.op == "layernorm" }
    XCTAssertEqual(cases.count, 2)
    XCTAssertLessThan(checkAgainstReference(cases), tolerance)
  }

  func testAttentionMatchesPyTorchWithAndWithoutCausalMask() {
    let cases = Self.cases.filter { $0.op == "attention" }
    XCTAssertEqual(Set(cases.map { $0.params["causal"]!.bool! }), [false, true])
    XCTAssertLessThan(checkAgainstReference(cases), tolerance)
  }

  func testGELUQuickGELUAndTanhMatchPyTorch() {
    let cases = Self.cases.filter { $0.op == "activation" }
    XCTAssertEqual(cases.count, SmoothActivation.allCases.count)
    XCTAssertLessThan(checkAgainstReference(cases), tolerance)
  }

  /// The causal mask: the first token's output depends on the first token only.
  func testCausalAttentionIgnoresLaterTokens() {
    let c = Self.cases.first { $0.name == "attention_causal" }!
    let f = layer(for: c)
    var x = tokens(c.inputs["x"]!)
    let before = f(x)
    let d = x.shape[3]
    for i in d..<x.shape[2] * d { x.data[i] += 0.5 }  // every token of image 0 but the first
    let after = f(x)
    XCTAssertEqual(Array(before.data[0..<d]), Array(after.data[0..<d]))
    XCTAssertNotEqual(Array(before.data[d..<(2 * d)]), Array(after.data[d..<(2 * d)]))
  }

  /// `∂(Σ gy ⊙ f(x))/∂x` at a few coordinates against central differences (step 1e-2, loss in Double).
  func testInputGradientsMatchCentralFiniteDifferences() {
    var worst = 0.0
    for c in Self.cases {
      let f = layer(for: c)
      let x = tokens(c.inputs["x"]!)
      let gy = tokens(c.inputs["gy"]!)
      let gx = f.inputGradient(at: x, outputGradient: gy)
      func loss(_ input: Tensor) -> Double {
        zip(f(input).data, gy.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
      }
      let h: Float = 1e-2
      for i in Set([0, 1, x.count / 3, x.count / 2, x.count - 2, x.count - 1]) {
        var plus = x
        var minus = x
        plus.data[i] += h
        minus.data[i] -= h
        let numeric = (loss(plus) - loss(minus)) / Double(plus.data[i] - minus.data[i])
        let error = abs(numeric - Double(gx.data[i])) / max(1, abs(numeric))
        worst = max(worst, error)
        XCTAssertLessThan(error, 2e-3, "\(c.name) x[\(i)]: \(numeric) vs \(gx.data[i])")
      }
    }
    XCTAssertLessThan(worst, 2e-3)
  }

  /// Random values in [-1, 1) from a fixed linear congruential sequence.
  func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var s = seed
    return (0..<count).map { _ in
      s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return (Float(s >> 40) / Float(1 << 23) - 1) * scale
    }
  }

  /// Forward and input gradient on a serial or a parallel workspace.
  func run(_ f: any FrozenLayer, _ x: Tensor, _ gy: Tensor, parallel: Bool) -> (y: Tensor, gx: Tensor) {
    let ws = Workspace(parallel: parallel)
    let tape = Tape()
    let input = ws.featureMap(copying: x)
    let y = f.forward(input, workspace: ws, tape: tape)
    ws.release(input)
    let output = ws.tensor(consuming: y)
    let gx = f.backward(ws.featureMap(copying: gy), workspace: ws, tape: tape)
    XCTAssertTrue(tape.isEmpty)
    return (output, ws.tensor(consuming: gx))
  }

  /// Work is split over (image, head) pairs and fixed pieces of rows: the same bits on any thread count.
  func testResultsDoNotDependOnThreads() {
    let (n, t, d, heads) = (3, 50, 128, 2)
    let layers: [any FrozenLayer] = [
      MultiHeadSelfAttention(
        embedDim: d, heads: heads, inProjWeight: random(3 * d * d, seed: 1, scale: 0.1),
        inProjBias: random(3 * d, seed: 2, scale: 0.1), outProjWeight: random(d * d, seed: 3, scale: 0.1),
        outProjBias: random(d, seed: 4, scale: 0.1), causal: false),
      LayerNorm(weight: random(d, seed: 5).map { 1 + $0 / 4 }, bias: random(d, seed: 6), epsilon: 1e-6),
      TokenLinear(Linear(weight: random(4 * d * d, seed: 7, scale: 0.1), bias: nil, inFeatures: d, outFeatures: 4 * d)),
      SmoothActivationLayer(.gelu),
    ]
    for f in layers {
      let x = Tensor(shape: [n, 1, t, d], data: random(n * t * d, seed: 8, scale: 2))
      let width = (f as? TokenLinear)?.linear.outFeatures ?? d
      let gy = Tensor(shape: [n, 1, t, width], data: random(n * t * width, seed: 9))
      let serial = run(f, x, gy, parallel: false)
      let parallel = run(f, x, gy, parallel: true)
      XCTAssertEqual(serial.y, parallel.y, "\(type(of: f)) forward")
      XCTAssertEqual(serial.gx, parallel.gx, "\(type(of: f)) input gradient")
    }
  }

  /// Token-wise linear layers are `Linear` on every row.
  func testTokenLinearIsLinearOnEveryToken() {
    let linear = Linear(weight: random(6 * 4, seed: 1), bias: random(6, seed: 2), inFeatures: 4, outFeatures: 6)
    let x = Tensor(shape: [2, 1, 3, 4], data: random(24, seed: 3))
    let gy = Tensor(shape: [2, 1, 3, 6], data: random(36, seed: 4))
    let layer = TokenLinear(linear)
    let rows = Tensor(shape: [6, 4], data: x.data)
    XCTAssertEqual(layer(x).data, linear(rows).data)
    let expected = linear.gradients(x: rows, outputGradient: Tensor(shape: [6, 6], data: gy.data)).input
    assertClose(layer.inputGradient(at: x, outputGradient: gy).data, expected.data, tolerance: 1e-6)
  }

  /// The class token goes first, the positions are added; the backward pass drops the class token's row,
  /// and pooling takes token 0 and puts its gradient back there.
  func testClassTokenEmbeddingAndPooling() {
    let (d, grid) = (3, 2)
    let embed = ClassTokenEmbedding(classToken: [1, 2, 3], positions: (0..<(5 * d)).map { Float($0) / 4 })
    let patches = Tensor(shape: [2, grid, grid, d], data: (0..<24).map { Float($0) })
    let y = embed(patches)
    XCTAssertEqual(y.shape, [2, 1, 5, d])
    XCTAssertEqual(Array(y.data[0..<6]), [1, 2.25, 3.5, 0.75, 2, 3.25])
    XCTAssertEqual(Array(y.data[15..<21]), [1, 2.25, 3.5, 12.75, 14, 15.25])
    let gy = Tensor(shape: [2, 1, 5, d], data: (0..<30).map { Float($0) })
    let gx = embed.inputGradient(at: patches, outputGradient: gy)
    XCTAssertEqual(gx.shape, [2, grid, grid, d])
    XCTAssertEqual(gx.data, (0..<30).filter { $0 % 15 >= 3 }.map { Float($0) })

    let pool = ClassTokenPooling()
    XCTAssertEqual(pool(y).data, [1, 2.25, 3.5, 1, 2.25, 3.5])
    let g = pool.inputGradient(at: y, outputGradient: Tensor(shape: [2, 1, 1, d], data: [1, 2, 3, 4, 5, 6]))
    XCTAssertEqual(g.shape, [2, 1, 5, d])
    XCTAssertEqual(
      g.data, [1, 2, 3] + [Float](repeating: 0, count: 12) + [4, 5, 6] + [Float](repeating: 0, count: 12))
  }
}
