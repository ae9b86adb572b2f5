import VPData
import VPEngine
import XCTest

/// The label mappings of REFERENCE.md §3 through `LabelMapping`'s public API.
final class LabelMappingTests: XCTestCase {
  // MARK: - One-to-one (FLM / ILM)

  func testFLMStartsWithTheFirstKSourcesAndUpdatesGreedily() throws {
    let mapping = try LabelMapping(MappingConfig(.flm), sources: 3, targets: 2, seed: 1)
    XCTAssertEqual(mapping.sources, [[0], [1]])
    let d = matrix([[10, 9], [9, 0], [0, 0]])
    let changed = mapping.update(from: d)
    XCTAssertEqual(mapping.sources, [[0], [1]])  // greedy: s0 → t0, then s1 → t1
    XCTAssertEqual(changed, [])
    XCTAssertEqual(mapping.frequency, d)
    // precision = (10 + 0) / 28.
    XCTAssertEqual(try XCTUnwrap(mapping.precision), 10.0 / 28.0, accuracy: 1e-12)
  }

  func testILMWithHungarianAssignmentUsesTheOptimum() throws {
    let mapping = try LabelMapping(MappingConfig(.ilm, assignment: .hungarian), sources: 3, targets: 2, seed: 1)
    let changed = mapping.update(from: matrix([[10, 9], [9, 0], [0, 0]]))
    XCTAssertEqual(mapping.sources, [[1], [0]])
    XCTAssertEqual(changed, [0, 1])
    XCTAssertEqual(try XCTUnwrap(mapping.precision), 18.0 / 28.0, accuracy: 1e-12)
  }

  func testOneToOneTargetLogitsPickTheMappedSourceAndGradientScatters() throws {
    let mapping = try LabelMapping(MappingConfig(.ilm), sources: 4, targets: 2, seed: 1)
    mapping.update(from: matrix([[0, 0], [0, 5], [0, 0], [7, 0]]))
    XCTAssertEqual(mapping.sources, [[3], [1]])
    let z: [Float] = [0.5, 1.5, 2.5, 3.5, -1, -2, -3, -4]
    XCTAssertEqual(mapping.targetLogits(z, rows: 2), [3.5, 1.5, -4, -2])
    let g: [Float] = [0.25, -0.5, 1, 2]
    let grad = mapping.sourceGradient(g, z: z, rows: 2)
    XCTAssertEqual(grad.source, [0, -0.5, 0, 0.25, 0, 2, 0, 1])
    XCTAssertNil(grad.weight)
    XCTAssertNil(grad.bias)
  }

  // MARK: - m-to-1 (FreqMap / IterMap)

  func testFreqMapTargetLogitsAreTheMeanOfMSourcesAndGradientSplitsByM() throws {
    let mapping = try LabelMapping(MappingConfig(.freqMap, sourcesPerTarget: 2), sources: 6, targets: 2, seed: 3)
    mapping.update(from: matrix([[5, 1], [4, 6], [3, 0], [0, 2], [1, 1], [0, 0]]))
    XCTAssertEqual(mapping.sources, [[0, 2], [1, 3]])
    let z: [Float] = [1, 2, 4, 8, 16, 32, -1, -3, 5, 7, 0, 0]
    // Row 0: t0 = (1 + 4) / 2, t1 = (2 + 8) / 2; row 1: t0 = (−1 + 5) / 2, t1 = (−3 + 7) / 2.
    XCTAssertEqual(mapping.targetLogits(z, rows: 2), [2.5, 5, 2, 2])
    let g: [Float] = [1, -2, 0.5, 3]
    let grad = mapping.sourceGradient(g, z: z, rows: 2).source
    XCTAssertEqual(grad, [0.5, -1, 0.5, -1, 0, 0, 0.25, 1.5, 0.25, 1.5, 0, 0])
    // precision: (5 + 3 + 6 + 2) / 23.
    XCTAssertEqual(try XCTUnwrap(mapping.precision), 16.0 / 23.0, accuracy: 1e-12)
  }

  func testFreqMapIsComputedOnceIterMapEveryInterval() throws {
    let freq = try LabelMapping(MappingConfig(.freqMap, sourcesPerTarget: 2), sources: 6, targets: 2, seed: 3)
    XCTAssertEqual((0..<4).map { freq.needsFrequency(epoch: $0) }, [true, false, false, false])
    let iter = try LabelMapping(
      MappingConfig(.iterMap, interval: 2, sourcesPerTarget: 2), sources: 6, targets: 2, seed: 3)
    XCTAssertEqual((0..<5).map { iter.needsFrequency(epoch: $0) }, [true, false, true, false, true])
    let ilm = try LabelMapping(MappingConfig(.ilm), sources: 6, targets: 2, seed: 3)
    XCTAssertEqual((0..<3).map { ilm.needsFrequency(epoch: $0) }, [true, true, true])
    let flm = try LabelMapping(MappingConfig(.flm), sources: 6, targets: 2, seed: 3)
    XCTAssertEqual((0..<3).map { flm.needsFrequency(epoch: $0) }, [true, false, false])
    let rlm = try LabelMapping(MappingConfig(.rlm), sources: 6, targets: 2, seed: 3)
    XCTAssertFalse(rlm.needsFrequency(epoch: 0))
  }

  func testMappingRejectsTooManySourcesPerTarget() {
    XCTAssertThrowsError(
      try LabelMapping(MappingConfig(.freqMap, sourcesPerTarget: 4), sources: 6, targets: 2, seed: 0))
    XCTAssertThrowsError(try LabelMapping(MappingConfig(.ilm), sources: 3, targets: 4, seed: 0))
    XCTAssertThrowsError(try LabelMapping(MappingConfig(.ilm, interval: 0), sources: 10, targets: 2, seed: 0))
    XCTAssertThrowsError(try LabelMapping(MappingConfig(.blmPlus, topK: 0), sources: 10, targets: 2, seed: 0))
  }

  // MARK: - BLM

  /// ω by hand for D = [[3,1],[0,2],[4,4],[0,0]], λ = 1:
  /// row sums 4, 2, 8, 0 → ω' = [[3/5, 1/5], [0, 2/3], [4/9, 4/9], [0, 0]];
  /// column sums 47/45 and 59/45 → ω = [[27/47, 9/59], [0, 30/59], [20/47, 20/59], [0, 0]].
  static let blmD = matrix([[3, 1], [0, 2], [4, 4], [0, 0]])
  static let blmOmega: [Double] = [27.0 / 47, 9.0 / 59, 0, 30.0 / 59, 20.0 / 47, 20.0 / 59, 0, 0]

  func testBLMOmegaMatchesHandComputation() throws {
    let mapping = try LabelMapping(MappingConfig(.blm), sources: 4, targets: 2, seed: 0)
    mapping.update(from: Self.blmD)
    XCTAssertEqual(mapping.omega.count, 8)
    for i in 0..<8 {
      XCTAssertEqual(Double(mapping.omega[i]), Self.blmOmega[i], accuracy: 1e-6, "ω[\(i / 2), \(i % 2)]")
    }
    // Columns sum to 1.
    XCTAssertEqual(Double(mapping.omega[0] + mapping.omega[2] + mapping.omega[4] + mapping.omega[6]), 1, accuracy: 1e-6)
    XCTAssertEqual(Double(mapping.omega[1] + mapping.omega[3] + mapping.omega[5] + mapping.omega[7]), 1, accuracy: 1e-6)
    // For reports: each target's most heavily weighted source.
    XCTAssertEqual(mapping.sources, [[0], [1]])
  }

  func testBLMLambdaChangesOmega() throws {
    // λ = 1/2: ω' = [[2/3, 2/9], [0, 4/5], [8/17, 8/17], [0, 0]]; normalised (exact fractions, Python):
    let mapping = try LabelMapping(MappingConfig(.blm, lambda: 0.5), sources: 4, targets: 2, seed: 0)
    mapping.update(from: Self.blmD)
    let expected: [Double] = [17.0 / 29, 85.0 / 571, 0, 306.0 / 571, 12.0 / 29, 180.0 / 571, 0, 0]
    for i in 0..<8 { XCTAssertEqual(Double(mapping.omega[i]), expected[i], accuracy: 1e-6, "ω[\(i / 2), \(i % 2)]") }
  }

  /// A source class no training image is predicted as (a zero row of D, the usual case for most of ImageNet's
  /// 1000 classes) must not poison ω. With λ = 0 its ω' is 0/0: the engine either has to reject λ ≤ 0 when the
  /// mapping is made or treat the empty row as weight 0. Expected with λ = 0 and the empty row at 0:
  /// ω' = [[3/4, 1/4], [0, 1], [1/2, 1/2], [0, 0]]; column sums 5/4 and 7/4.
  func testBLMWithZeroLambdaAndAnEmptySourceRowStaysFinite() throws {
    let config = MappingConfig(.blm, lambda: 0)
    // Rejecting λ = 0 when the mapping is made is an acceptable fix too.
    guard let mapping = try? LabelMapping(config, sources: 4, targets: 2, seed: 0) else { return }
    mapping.update(from: Self.blmD)
    XCTAssertTrue(
      mapping.omega.allSatisfy(\.isFinite), "ω is not finite with λ = 0 and an empty source row: \(mapping.omega)")
    let expected: [Double] = [0.6, 1.0 / 7, 0, 4.0 / 7, 0.4, 2.0 / 7, 0, 0]
    for i in 0..<8 { XCTAssertEqual(Double(mapping.omega[i]), expected[i], accuracy: 1e-6, "ω[\(i / 2), \(i % 2)]") }
    let logits = mapping.targetLogits([1, 2, 3, 4], rows: 1)
    XCTAssertTrue(logits.allSatisfy(\.isFinite), "target logits \(logits)")
  }

  func testBLMTargetLogitsAreZTimesOmega() throws {
    let mapping = try LabelMapping(MappingConfig(.blm), sources: 4, targets: 2, seed: 0)
    mapping.update(from: Self.blmD)
    let z: [Float] = [1, 2, 3, 4, -2, 0.5, 0, 10]
    let out = mapping.targetLogits(z, rows: 2)
    let w = Self.blmOmega
    for r in 0..<2 {
      for t in 0..<2 {
        var e = 0.0
        for s in 0..<4 { e += Double(z[r * 4 + s]) * w[s * 2 + t] }
        XCTAssertEqual(Double(out[r * 2 + t]), e, accuracy: 1e-5, "row \(r), target \(t)")
      }
    }
  }

  // BLM's and BLM+'s source gradients (g · ωᵀ) against finite differences: MappingPolicyConformanceTests,
  // which checks every kind the same way.

  // MARK: - BLM+

  func testBLMPlusTopKDefaultIsAtLeastOne() throws {
    func k(_ targets: Int, _ topK: Int? = nil) throws -> Int {
      try LabelMapping(MappingConfig(.blmPlus, topK: topK), sources: 1000, targets: targets, seed: 0).topK
    }
    // int(0.15 · 2) = 0 in the published code; vpbook uses max(1, ·).
    XCTAssertEqual(try k(2), 1)
    XCTAssertEqual(try k(6), 1)
    XCTAssertEqual(try k(7), 1)
    XCTAssertEqual(try k(10), 1)
    XCTAssertEqual(try k(14), 2)
    XCTAssertEqual(try k(20), 3)
    XCTAssertEqual(try k(100), 15)
    XCTAssertEqual(try k(2, 2), 2)
    // Plain BLM uses top-1 counts.
    XCTAssertEqual(try LabelMapping(MappingConfig(.blm), sources: 1000, targets: 10, seed: 0).topK, 0)
  }

  func testFrequencyAddTopOneCountsTheArgmax() {
    var d = FrequencyMatrix(sources: 4, targets: 2)
    d.add([1, 3, 2, 0], target: 1)
    d.add([5, 5, 0, 0], target: 0)  // tie: the lowest source
    d.add([-1, -3, -0.5, -2], target: 1)
    XCTAssertEqual(d.counts, [1, 0, 0, 1, 0, 1, 0, 0])
    XCTAssertEqual(d.columnArgmax, [0, 1])
  }

  func testFrequencyAddTopTwoAddsTheTwoLargestSoftmaxProbabilities() {
    var d = FrequencyMatrix(sources: 4, targets: 2)
    // softmax([1, 3, 2, 0]) = [0.08714432, 0.64391426, 0.23688282, 0.0320586] (numpy).
    d.add([1, 3, 2, 0], target: 1, topK: 2)
    XCTAssertEqual(d[1, 1], 0.64391426, accuracy: 1e-6)
    XCTAssertEqual(d[2, 1], 0.23688282, accuracy: 1e-6)
    XCTAssertEqual(d[0, 1], 0)
    XCTAssertEqual(d[3, 1], 0)
    XCTAssertEqual(d[1, 0] + d[2, 0] + d[0, 0] + d[3, 0], 0)
    // A second image of target 0 with a tie for the largest: softmax([0.5, −1, 2.5, 2.5, 0]).
    var e = FrequencyMatrix(sources: 5, targets: 2)
    e.add([0.5, -1, 2.5, 2.5, 0], target: 0, topK: 3)
    XCTAssertEqual(e[2, 0], 0.44491553, accuracy: 1e-6)
    XCTAssertEqual(e[3, 0], 0.44491553, accuracy: 1e-6)
    XCTAssertEqual(e[0, 0], 0.06021277, accuracy: 1e-6)
    XCTAssertEqual(e[1, 0] + e[4, 0], 0)
  }

  func testFrequencyAddTopKWithLargeLogitsIsStable() {
    var d = FrequencyMatrix(sources: 3, targets: 1)
    d.add([1000, 999, -1000], target: 0, topK: 2)
    // softmax: 1 / (1 + e^−1), e^−1 / (1 + e^−1).
    XCTAssertEqual(d[0, 0], 0.7310585786, accuracy: 1e-6)
    XCTAssertEqual(d[1, 0], 0.2689414214, accuracy: 1e-6)
    XCTAssertTrue(d.counts.allSatisfy(\.isFinite))
  }

  // MARK: - RLM

  func testRLMIsInjectiveSeededAndFixed() throws {
    let a = try LabelMapping(MappingConfig(.rlm), sources: 1000, targets: 10, seed: 7)
    let b = try LabelMapping(MappingConfig(.rlm), sources: 1000, targets: 10, seed: 7)
    let c = try LabelMapping(MappingConfig(.rlm), sources: 1000, targets: 10, seed: 8)
    XCTAssertTrue(a.sources.allSatisfy { $0.count == 1 && (0..<1000).contains($0[0]) })
    XCTAssertEqual(Set(a.sources.map { $0[0] }).count, 10, "RLM is not injective: \(a.sources)")
    XCTAssertEqual(a.sources, b.sources)
    XCTAssertNotEqual(a.sources, c.sources)
    // Not Bahng's "first K" either.
    XCTAssertNotEqual(a.sources, (0..<10).map { [$0] })
    let before = a.sources
    var rng = SplitMix64(seed: 5)
    let d = FrequencyMatrix(sources: 1000, targets: 10, counts: (0..<10_000).map { _ in Double(rng.below(50)) })
    XCTAssertFalse(a.needsFrequency(epoch: 0))
    XCTAssertEqual(a.update(from: d), [])
    XCTAssertEqual(a.sources, before)
  }

  func testRLMWithAllSourcesIsAPermutation() throws {
    let m = try LabelMapping(MappingConfig(.rlm), sources: 10, targets: 10, seed: 3)
    XCTAssertEqual(Set(m.sources.map { $0[0] }), Set(0..<10))
  }

  // MARK: - FullyMap

  /// The weight, bias and source-logit gradients against central differences of `Σ g ⊙ targetLogits`.
  func testFullyMapGradientsMatchFiniteDifferences() throws {
    let (s, k, rows) = (6, 3, 4)
    let mapping = try LabelMapping(MappingConfig(.fullyMap), sources: s, targets: k, seed: 21)
    let layer = try XCTUnwrap(mapping.linear)
    XCTAssertEqual(layer.weight.count, s * k)
    XCTAssertEqual(layer.bias.count, k)
    // PyTorch's init: U(−1/√S, 1/√S).
    let bound = 1 / Float(s).squareRoot()
    XCTAssertTrue((layer.weight + layer.bias).allSatisfy { abs($0) <= bound })
    XCTAssertGreaterThan(Set(layer.weight).count, s * k / 2)
    var rng = SplitMix64(seed: 4)
    let z = uniform(rows * s, &rng, -3, 3)
    let g = uniform(rows * k, &rng)
    let grads = mapping.sourceGradient(g, z: z, rows: rows)
    let gw = try XCTUnwrap(grads.weight)
    let gb = try XCTUnwrap(grads.bias)
    let h: Float = 0.01
    func loss() -> Double { dot(g, mapping.targetLogits(z, rows: rows)) }
    // Forward is x Wᵀ + b.
    let y = mapping.targetLogits(z, rows: rows)
    for r in 0..<rows {
      for o in 0..<k {
        var e = Double(layer.bias[o])
        for i in 0..<s { e += Double(z[r * s + i]) * Double(layer.weight[o * s + i]) }
        XCTAssertEqual(Double(y[r * k + o]), e, accuracy: 1e-5)
      }
    }
    for i in 0..<(s * k) {
      let w0 = mapping.linear!.weight[i]
      mapping.linear!.weight[i] = w0 + h
      let lp = loss()
      mapping.linear!.weight[i] = w0 - h
      let lm = loss()
      mapping.linear!.weight[i] = w0
      XCTAssertEqual(Double(gw[i]), (lp - lm) / Double(2 * h), accuracy: 1e-4, "∂/∂W[\(i / s), \(i % s)]")
    }
    for o in 0..<k {
      let b0 = mapping.linear!.bias[o]
      mapping.linear!.bias[o] = b0 + h
      let lp = loss()
      mapping.linear!.bias[o] = b0 - h
      let lm = loss()
      mapping.linear!.bias[o] = b0
      XCTAssertEqual(Double(gb[o]), (lp - lm) / Double(2 * h), accuracy: 1e-4, "∂/∂b[\(o)]")
    }
    for i in 0..<z.count {
      var zp = z
      var zm = z
      zp[i] += h
      zm[i] -= h
      let fd =
        (dot(g, mapping.targetLogits(zp, rows: rows)) - dot(g, mapping.targetLogits(zm, rows: rows))) / Double(2 * h)
      XCTAssertEqual(Double(grads.source[i]), fd, accuracy: 1e-4, "∂/∂z[\(i)]")
    }
    // FullyMap ignores frequency matrices.
    XCTAssertFalse(mapping.needsFrequency(epoch: 0))
    XCTAssertEqual(mapping.update(from: FrequencyMatrix(sources: s, targets: k)), [])
  }

  // MARK: - State

  func testStateRestoresAnEarlierMapping() throws {
    let mapping = try LabelMapping(MappingConfig(.ilm), sources: 4, targets: 2, seed: 0)
    mapping.update(from: matrix([[0, 0], [0, 5], [0, 0], [7, 0]]))
    let saved = mapping.state
    let changed = mapping.update(from: matrix([[9, 0], [0, 0], [0, 9], [0, 0]]))
    XCTAssertEqual(mapping.sources, [[0], [2]])
    XCTAssertEqual(changed, [0, 1])
    mapping.state = saved
    XCTAssertEqual(mapping.sources, [[3], [1]])
    XCTAssertEqual(mapping.frequency, matrix([[0, 0], [0, 5], [0, 0], [7, 0]]))
  }
}
