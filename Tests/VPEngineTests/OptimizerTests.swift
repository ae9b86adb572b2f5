import Foundation
import VPEngine
import XCTest

/// Adam and SGD-momentum against PyTorch's formulas (Reference/make_optimizer_fixtures.py), and the schedules.
final class OptimizerTests: XCTestCase {
  struct Fixture: Decodable {
    struct Case: Decodable {
      var kind: String
      var weightDecay: Double
      var learningRates: [Double]
      /// The parameters after each step.
      var parameters: [[Double]]
    }
    var initial: [Double]
    var gradients: [[Double]]
    var cases: [Case]
  }

  func testAdamAndSGDMatchPyTorchFormulas() throws {
    let fixture = try loadFixture("optimizer", as: Fixture.self)
    XCTAssertEqual(fixture.cases.count, 4)
    for c in fixture.cases {
      let kind = try XCTUnwrap(OptimizerKind(rawValue: c.kind))
      var optimizer = Optimizer(kind, count: fixture.initial.count, weightDecay: c.weightDecay)
      var p = fixture.initial.map { Float($0) }
      for (step, g) in fixture.gradients.enumerated() {
        optimizer.step(&p, gradient: g.map { Float($0) }, lr: c.learningRates[step])
        let expected = c.parameters[step]
        for i in 0..<p.count {
          let e = expected[i]
          XCTAssertEqual(
            Double(p[i]), e, accuracy: 1e-6 * max(1, abs(e)),
            "\(c.kind) wd=\(c.weightDecay) step \(step + 1) parameter \(i)")
          // The displacement from the start is right too (a looser relative bound: float32 storage).
          let moved = Double(p[i]) - Double(Float(fixture.initial[i]))
          let expectedMove = e - fixture.initial[i]
          XCTAssertEqual(
            moved, expectedMove, accuracy: 2e-4 * abs(expectedMove) + 2e-7, "\(c.kind) step \(step + 1) Δp[\(i)]")
        }
      }
    }
  }

  /// Adam's first step moves every coordinate with a non-zero gradient by about `lr` (bias correction).
  func testAdamFirstStepIsLearningRateSized() {
    var optimizer = Optimizer(.adam, count: 3)
    var p: [Float] = [0, 0, 0]
    optimizer.step(&p, gradient: [1e-3, -5, 0], lr: 0.01)
    XCTAssertEqual(p[0], -0.01, accuracy: 1e-6)
    XCTAssertEqual(p[1], 0.01, accuracy: 1e-7)
    XCTAssertEqual(p[2], 0)
  }

  /// SGD's momentum buffer starts at the first gradient (PyTorch), not at (1 − μ) g.
  func testSGDMomentumBufferStartsAtTheGradient() {
    var optimizer = Optimizer(.sgd, count: 1)
    var p: [Float] = [1]
    optimizer.step(&p, gradient: [2], lr: 0.1)
    XCTAssertEqual(p[0], 0.8, accuracy: 1e-7)
    optimizer.step(&p, gradient: [2], lr: 0.1)  // buffer 0.9·2 + 2 = 3.8
    XCTAssertEqual(p[0], 0.42, accuracy: 1e-6)
  }

  // MARK: - Schedules

  func testMultiStepDecaysAtFiftyAndSeventyTwoPercent() {
    // epochs = 10: milestones int(0.5·10) = 5 and int(0.72·10) = 7.
    let rates = (0..<10).map {
      ScheduleKind.multistep.rate(base: 0.01, epoch: $0, epochs: 10, step: 3, stepsPerEpoch: 8)
    }
    let expected = [0.01, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001, 0.0001]
    for (e, (r, x)) in zip(rates, expected).enumerated() { XCTAssertEqual(r, x, accuracy: 1e-15, "epoch \(e)") }
    // epochs = 200 (ILM-VP): 100 and 144.
    let r = { (epoch: Int) in ScheduleKind.multistep.rate(base: 1, epoch: epoch, epochs: 200, step: 0, stepsPerEpoch: 1)
    }
    XCTAssertEqual(r(99), 1)
    XCTAssertEqual(r(100), 0.1, accuracy: 1e-15)
    XCTAssertEqual(r(143), 0.1, accuracy: 1e-15)
    XCTAssertEqual(r(144), 0.01, accuracy: 1e-15)
    XCTAssertEqual(r(199), 0.01, accuracy: 1e-15)
    // The step within the epoch does not matter.
    XCTAssertEqual(
      ScheduleKind.multistep.rate(base: 0.01, epoch: 6, epochs: 10, step: 0, stepsPerEpoch: 8),
      ScheduleKind.multistep.rate(base: 0.01, epoch: 6, epochs: 10, step: 7, stepsPerEpoch: 8))
  }

  func testCosineGoesFromBaseToNearZeroMonotonically() {
    let (epochs, steps) = (5, 4)
    var rates: [Double] = []
    for e in 0..<epochs {
      for s in 0..<steps {
        rates.append(ScheduleKind.cosine.rate(base: 40, epoch: e, epochs: epochs, step: s, stepsPerEpoch: steps))
      }
    }
    XCTAssertEqual(rates.first!, 40, accuracy: 1e-12)
    // Half-way: base / 2.
    XCTAssertEqual(rates[10], 20, accuracy: 1e-9)
    // Last step: base · ½(1 + cos(π · 19/20)).
    XCTAssertEqual(rates.last!, 40 * 0.5 * (1 + cos(Double.pi * 19 / 20)), accuracy: 1e-9)
    XCTAssertLessThan(rates.last!, 0.25)
    XCTAssertTrue(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 }, "not decreasing: \(rates)")
    XCTAssertEqual(ScheduleKind.constant.rate(base: 0.3, epoch: 4, epochs: 5, step: 2, stepsPerEpoch: 4), 0.3)
  }
}
