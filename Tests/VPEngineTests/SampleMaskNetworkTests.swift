import Foundation
import VPData
import VPEngine
import XCTest

/// `Fixtures/smm.json`, written by `Reference/make_smm_fixture.py` (PyTorch, float64): the network's weights
/// and initial running statistics, and for B = 3 images at S = 16 and S = 32 the training-mode mask and prompt,
/// the gradients of `L = Σ G ⊙ x'`, the running statistics after the step and the eval-mode mask.
struct SMMFixture: Decodable {
  /// `value = q · scale`, the integers `q` little-endian in base64 (`i8`, `u16` or `i16`).
  struct Stored: Decodable {
    var shape: [Int]
    var scale: Double
    var i8: String?
    var u16: String?
    var i16: String?

    var values: [Float] {
      if let text = i8 { return Self.bytes(text).map { Float(Double(Int8(bitPattern: $0)) * scale) } }
      let bytes = Self.bytes(u16 ?? i16 ?? "")
      let words = (0..<(bytes.count / 2)).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
      if u16 != nil { return words.map { Float(Double($0) * scale) } }
      return words.map { Float(Double(Int16(bitPattern: $0)) * scale) }
    }

    static func bytes(_ text: String) -> [UInt8] { [UInt8](Data(base64Encoded: text) ?? Data()) }
  }

  struct Outputs: Decodable {
    var maskTrain: Stored
    var prompt: Stored
    var gradDelta: Stored
    var grad: [String: Stored]
    var running: [String: Stored]
    var maskEval: Stored

    enum CodingKeys: String, CodingKey {
      case maskTrain = "mask_train", prompt, gradDelta = "grad_delta", grad, running, maskEval = "mask_eval"
    }
  }

  struct Case: Decodable {
    var side: Int
    var count: Int
    var inputs: [String: Stored]
    var outputs: Outputs
  }

  var parameterOrder: [String]
  var parameters: [String: Stored]
  var buffers: [String: Stored]
  var cases: [Case]

  enum CodingKeys: String, CodingKey {
    case parameterOrder = "parameter_order", parameters, buffers, cases
  }

  static func load() throws -> SMMFixture { try loadFixture("smm", as: SMMFixture.self) }

  /// A network holding the fixture's weights and initial running statistics.
  func network(parallel: Bool = true) -> SampleMaskNetwork {
    let network = SampleMaskNetwork(seed: 0, parallel: parallel)
    for (name, stored) in parameters { network.setTensor(name, stored.values) }
    for (name, stored) in buffers { network.setTensor(name, stored.values) }
    return network
  }
}

/// SMM's mask network against PyTorch, finite differences, and its state and determinism contracts.
///
/// Comparisons with the reference use `max |a − b| ≤ 1e-4 · max |b|` per tensor (relative to the tensor's
/// largest reference magnitude, without a floor of 1, so small gradients are held to the same relative
/// standard); the fixture's outputs are themselves quantised to `1.6e-5 · max |b|`.
final class SampleMaskNetworkTests: XCTestCase {
  let tolerance: Float = 1e-4

  /// `max |a − b| / scale`, the scale `max |b|` unless given.
  func relativeError(_ actual: [Float], _ expected: [Float], scale: Float? = nil) -> Float {
    guard let scale else { return maxRelativeError(actual, expected) }
    let difference = zip(actual, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    return scale > 0 ? difference / scale : difference
  }

  func assertMatches(
    _ actual: [Float], _ expected: SMMFixture.Stored, _ what: String, scale: Float? = nil, worst: inout Float,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    let reference = expected.values
    XCTAssertEqual(actual.count, reference.count, "\(what): count", file: file, line: line)
    guard actual.count == reference.count else { return }
    let error = relativeError(actual, reference, scale: scale)
    worst = max(worst, error)
    XCTAssertLessThanOrEqual(error, tolerance, "\(what): relative error \(error)", file: file, line: line)
  }

  func testParameterLayoutAndCount() throws {
    let network = SampleMaskNetwork(seed: 1)
    XCTAssertEqual(network.parameterCount, 26_499)
    XCTAssertEqual(SampleMaskNetwork.patch, 8)
    XCTAssertEqual(SampleMaskNetwork.stateCount, 26_499 + 240)
    XCTAssertEqual(network.state.count, SampleMaskNetwork.stateCount)
    let convolutions = SampleMaskNetwork.parameterLayout.filter { $0.name.hasPrefix("conv") }
    XCTAssertEqual(convolutions.reduce(0) { $0 + $1.shape.reduce(1, *) }, 26_259)
    XCTAssertEqual(SampleMaskNetwork.parameterLayout.first?.name, "conv1.weight")
    XCTAssertEqual(SampleMaskNetwork.parameterLayout.first?.shape, [8, 3, 3, 3])
    XCTAssertEqual(SampleMaskNetwork.parameterLayout.last?.name, "conv6.bias")
    XCTAssertEqual(SampleMaskNetwork.parameterLayout.first { $0.name == "conv6.weight" }?.shape, [3, 64, 3, 3])
    XCTAssertEqual(SampleMaskNetwork.bufferLayout.map(\.name).prefix(2), ["bn1.running_mean", "bn1.running_var"])
    // The order is PyTorch's `named_parameters()` order of the reference module.
    XCTAssertEqual(SampleMaskNetwork.parameterLayout.map(\.name), try SMMFixture.load().parameterOrder)
    let tensors = network.trainableTensors(TrainingConfig(epochs: 1, batchSize: 4, learningRate: 0.01))
    XCTAssertEqual(tensors.map(\.name), SampleMaskNetwork.parameterLayout.map(\.name))
    XCTAssertEqual(tensors.reduce(0) { $0 + $1.read().count }, 26_499)
  }

  func testMatchesPyTorchInTrainingAndEvalMode() throws {
    let fixture = try SMMFixture.load()
    XCTAssertEqual(fixture.cases.map(\.side), [16, 32])
    var worst: [String: Float] = [:]
    for c in fixture.cases {
      let (x, delta, g) = (c.inputs["x"]!.values, c.inputs["delta"]!.values, c.inputs["g"]!.values)
      let label = "S=\(c.side)"
      // The training-mode mask alone (it updates the running statistics once, like the prompt below).
      let maskOnly = fixture.network()
      let trainingMask = x.withUnsafeBufferPointer {
        maskOnly.mask($0.baseAddress!, count: c.count, side: c.side, training: true)
      }
      assertMatches(trainingMask, c.outputs.maskTrain, "\(label) training mask", worst: &worst["mask", default: 0])

      let network = fixture.network()
      let prompted = x.withUnsafeBufferPointer {
        network.prompt($0.baseAddress!, count: c.count, side: c.side, delta: delta, training: true)
      }
      assertMatches(prompted, c.outputs.prompt, "\(label) prompt", worst: &worst["prompt", default: 0])
      let gradients = g.withUnsafeBufferPointer { network.promptBackward($0.baseAddress!) }
      assertMatches(gradients.delta, c.outputs.gradDelta, "\(label) ∂L/∂δ", worst: &worst["delta", default: 0])
      XCTAssertEqual(Set(gradients.parameters.keys), Set(SampleMaskNetwork.parameterLayout.map(\.name)))
      for (name, expected) in c.outputs.grad {
        // conv1 … conv4 feed training-mode batch norms, which remove any constant shift: their bias gradients are
        // 0 up to rounding (PyTorch's are about 1e-17), held to 1e-4 of the same layer's weight gradient.
        let beforeNorm = name.hasPrefix("conv") && name.hasSuffix(".bias") && name != "conv6.bias"
        let scale =
          beforeNorm
          ? c.outputs.grad[name.replacingOccurrences(of: "bias", with: "weight")]!.values.map(abs).max() : nil
        assertMatches(
          gradients.parameters[name] ?? [], expected, "\(label) ∂L/∂\(name)", scale: scale,
          worst: &worst[beforeNorm ? "zero biases" : "parameters", default: 0])
      }
      for (name, expected) in c.outputs.running {
        assertMatches(network.tensor(name), expected, "\(label) \(name)", worst: &worst["running", default: 0])
        assertMatches(maskOnly.tensor(name), expected, "\(label) \(name) (mask)", worst: &worst["running", default: 0])
      }
      let evalMask = x.withUnsafeBufferPointer {
        network.mask($0.baseAddress!, count: c.count, side: c.side, training: false)
      }
      assertMatches(evalMask, c.outputs.maskEval, "\(label) eval mask", worst: &worst["eval", default: 0])
    }
    XCTAssertEqual(worst.count, 7)
  }

  /// `L = Σ G ⊙ x'` in Double for a training-mode prompt.
  func loss(_ network: SampleMaskNetwork, _ c: SMMFixture.Case, delta: [Float], g: [Float], x: [Float]) -> Double {
    let prompted = x.withUnsafeBufferPointer {
      network.prompt($0.baseAddress!, count: c.count, side: c.side, delta: delta, training: true)
    }
    return zip(prompted, g).reduce(0) { $0 + Double($1.0) * Double($1.1) }
  }

  func testGradientsMatchCentralFiniteDifferences() throws {
    let fixture = try SMMFixture.load()
    let c = fixture.cases[0]
    let (x, delta, g) = (c.inputs["x"]!.values, c.inputs["delta"]!.values, c.inputs["g"]!.values)
    let network = fixture.network()
    _ = loss(network, c, delta: delta, g: g, x: x)
    let analytic = g.withUnsafeBufferPointer { network.promptBackward($0.baseAddress!) }
    // Weights in every layer, batch-norm scales and shifts, and mask biases. In float32 a central difference
    // is caught between ReLU kinks and pooling switches crossed by a large step (the reference kept a margin of
    // only 1e-5) and rounding noise amplified by a small one (measured: about 1e-6 in L), so each probe takes the
    // best of three steps and must agree within 2 % of max(|∂L/∂θ|, 0.1). A wrong gradient fails all three.
    let probes: [(String, Int)] = [
      ("conv1.weight", 5), ("conv1.bias", 2), ("bn1.weight", 3), ("conv2.weight", 700), ("bn2.bias", 9),
      ("conv3.weight", 2_000), ("bn3.weight", 17), ("conv4.weight", 9_001), ("bn4.bias", 40), ("conv6.weight", 1_000),
      ("conv6.bias", 1),
    ]
    for (name, index) in probes {
      let original = network.tensor(name)
      let value = Double(analytic.parameters[name]![index])
      var best = Double.infinity
      for h: Float in [1e-3, 3e-4, 1e-4] {
        var plus = original
        plus[index] += h
        network.setTensor(name, plus)
        let lp = loss(network, c, delta: delta, g: g, x: x)
        var minus = original
        minus[index] -= h
        network.setTensor(name, minus)
        let lm = loss(network, c, delta: delta, g: g, x: x)
        network.setTensor(name, original)
        let numeric = (lp - lm) / Double(plus[index] - minus[index])
        best = min(best, abs(numeric - value) / max(abs(value), 0.1))
      }
      XCTAssertLessThan(best, 2e-2, "\(name)[\(index)]: ∂L/∂θ = \(value), finite differences off by \(best)")
    }
    // x' is linear in δ: the difference is exact up to float32 rounding of x'.
    for index in [0, 100, 767] {
      var plus = delta
      plus[index] += 0.25
      var minus = delta
      minus[index] -= 0.25
      let numeric = (loss(network, c, delta: plus, g: g, x: x) - loss(network, c, delta: minus, g: g, x: x)) / 0.5
      XCTAssertEqual(numeric, Double(analytic.delta[index]), accuracy: 1e-4 * max(1, abs(numeric)), "δ[\(index)]")
    }
  }

  /// Random images in [0, 1) and a δ in [-1, 1) for a network built from a seed.
  func randomBatch(count: Int, side: Int, seed: UInt64) -> (images: [Float], delta: [Float]) {
    var rng = SplitMix64(seed: seed)
    return (uniform(count * side * side * 3, &rng, 0, 1), uniform(side * side * 3, &rng))
  }

  func testEnlargementRepeatsEachMaskValueOverItsPatch() {
    let network = SampleMaskNetwork(seed: 3)
    let (side, count) = (32, 2)
    let batch = randomBatch(count: count, side: side, seed: 4)
    let (m, prompted) = batch.images.withUnsafeBufferPointer {
      (
        network.mask($0.baseAddress!, count: count, side: side, training: false),
        network.prompt($0.baseAddress!, count: count, side: side, delta: batch.delta, training: false)
      )
    }
    XCTAssertEqual(m.count, count * 4 * 4 * 3)
    XCTAssertEqual(Set(m).count, m.count, "the masks are sample-specific: no two values coincide")
    var mismatches = 0
    for b in 0..<count {
      for y in 0..<side {
        for x in 0..<side {
          for c in 0..<3 {
            let i = ((b * side + y) * side + x) * 3 + c
            let cell = m[((b * 4 + y / 8) * 4 + x / 8) * 3 + c]
            if prompted[i] != batch.images[i] + batch.delta[(y * side + x) * 3 + c] * cell { mismatches += 1 }
          }
        }
      }
    }
    XCTAssertEqual(mismatches, 0, "x' = x + δ ⊙ enlarge(m), bit for bit")
  }

  func testEvalModeChangesNoStateAndTrainingUpdatesRunningStatistics() {
    let network = SampleMaskNetwork(seed: 5)
    let (side, count) = (16, 3)
    let batch = randomBatch(count: count, side: side, seed: 6)
    let before = network.state
    let (first, second) = batch.images.withUnsafeBufferPointer { p -> ([Float], [Float]) in
      let a = network.mask(p.baseAddress!, count: count, side: side, training: false)
      _ = network.prompt(p.baseAddress!, count: count, side: side, delta: batch.delta, training: false)
      return (a, network.mask(p.baseAddress!, count: count, side: side, training: false))
    }
    XCTAssertEqual(network.state, before)
    XCTAssertEqual(first, second)
    _ = batch.images.withUnsafeBufferPointer {
      network.mask($0.baseAddress!, count: count, side: side, training: true)
    }
    let after = network.state
    XCTAssertEqual(Array(after.prefix(network.parameterCount)), Array(before.prefix(network.parameterCount)))
    XCTAssertNotEqual(
      Array(after.suffix(240)), Array(before.suffix(240)), "training mode moves the running statistics")
  }

  func testStateRoundTripsAndRestoresTheSameOutputs() {
    let (side, count) = (32, 2)
    let batch = randomBatch(count: count, side: side, seed: 8)
    let trained = SampleMaskNetwork(seed: 7)
    _ = batch.images.withUnsafeBufferPointer {
      trained.mask($0.baseAddress!, count: count, side: side, training: true)
    }
    let copy = SampleMaskNetwork(seed: 99)
    XCTAssertNotEqual(copy.state, trained.state)
    copy.state = trained.state
    XCTAssertEqual(copy.state, trained.state)
    XCTAssertEqual(Array(copy.state.prefix(216)), copy.tensor("conv1.weight"), "the state starts with conv1.weight")
    XCTAssertEqual(Array(copy.state.suffix(64)), copy.tensor("bn4.running_var"), "and ends with bn4's variance")
    for name in (SampleMaskNetwork.parameterLayout + SampleMaskNetwork.bufferLayout).map(\.name) {
      XCTAssertEqual(copy.tensor(name), trained.tensor(name), name)
    }
    let masks = batch.images.withUnsafeBufferPointer { p in
      [trained, copy].map { $0.mask(p.baseAddress!, count: count, side: side, training: false) }
    }
    XCTAssertEqual(masks[0], masks[1])
  }

  func testSeedFixesTheInitialisationAndTrainingStepsAreDeterministic() {
    XCTAssertEqual(SampleMaskNetwork(seed: 42).state, SampleMaskNetwork(seed: 42).state)
    XCTAssertNotEqual(SampleMaskNetwork(seed: 42).state, SampleMaskNetwork(seed: 43).state)
    let network = SampleMaskNetwork(seed: 42)
    for entry in SampleMaskNetwork.parameterLayout where entry.name.hasPrefix("conv") {
      // (conv6.bias has 3 values: only the bound is checked there)
      let layer = entry.name.split(separator: ".")[0]
      let fanIn = SampleMaskNetwork.parameterLayout.first { $0.name == "\(layer).weight" }!.shape[1] * 9
      let bound = 1 / Float(fanIn).squareRoot()
      let values = network.tensor(entry.name)
      XCTAssertLessThanOrEqual(values.map(abs).max()!, bound, entry.name)
      if values.count > 3 { XCTAssertGreaterThan(values.map(abs).max()!, 0.5 * bound, entry.name) }
    }
    XCTAssertEqual(network.tensor("bn2.weight"), [Float](repeating: 1, count: 16))
    XCTAssertEqual(network.tensor("bn2.bias"), [Float](repeating: 0, count: 16))
    XCTAssertEqual(network.tensor("bn3.running_mean"), [Float](repeating: 0, count: 32))
    XCTAssertEqual(network.tensor("bn3.running_var"), [Float](repeating: 1, count: 32))

    // One training step, serial and parallel: the same bits.
    let (side, count) = (32, 3)
    let batch = randomBatch(count: count, side: side, seed: 10)
    var rng = SplitMix64(seed: 11)
    let g = uniform(count * side * side * 3, &rng)
    func step(parallel: Bool) -> [[Float]] {
      let net = SampleMaskNetwork(seed: 42, parallel: parallel)
      let prompted = batch.images.withUnsafeBufferPointer {
        net.prompt($0.baseAddress!, count: count, side: side, delta: batch.delta, training: true)
      }
      let gradients = g.withUnsafeBufferPointer { net.promptBackward($0.baseAddress!) }
      return [prompted, gradients.delta] + SampleMaskNetwork.parameterLayout.map { gradients.parameters[$0.name]! }
        + [net.state]
    }
    let serial = step(parallel: false)
    XCTAssertEqual(serial, step(parallel: true))
    XCTAssertEqual(serial, step(parallel: false))
  }
}
