import Foundation
import VPData
import VPEngine
import XCTest

/// One battery run over every `MappingKind`: a new mapping inherits it by being a case of the enum, and fails
/// it unless its policy, state and gradients hold together.
final class MappingPolicyConformanceTests: XCTestCase {
  /// A context that provides made-up synsets, so that SemanticMap builds without WordNet lookups failing the
  /// battery (its WordNet behaviour has its own tests).
  private func context(sources: Int, targets: Int) -> MappingContext {
    MappingContext(targetNames: (0..<targets).map { "class \($0)" }) { Array(0..<sources) }
  }

  private func make(_ kind: MappingKind, sources s: Int, targets k: Int, seed: UInt64 = 3) throws -> LabelMapping? {
    let config = MappingConfig(kind, interval: 2, sourcesPerTarget: kind.policy.options.contains(.m) ? 2 : 1)
    if kind.policy.needs.contains(.sourceSynsets), (try? WordNet()) == nil { return nil }
    return try LabelMapping(config, sources: s, targets: k, seed: seed, context: context(sources: s, targets: k))
  }

  func testEveryKindDecodesFromItsNameAndRoundTripsThroughJSON() throws {
    for kind in MappingKind.allCases {
      XCTAssertEqual(MappingKind(rawValue: kind.rawValue), kind)
      var config = MappingConfig(kind, assignment: .hungarian, interval: 3, sourcesPerTarget: 2, topK: 2, lambda: 0.5)
      let data = try ResultsJSON.encoder().encode(config)
      XCTAssertEqual(try ResultsJSON.decoder().decode(MappingConfig.self, from: data), config, "\(kind)")
      // The label names the kind and only the options the policy reads.
      config = MappingConfig(kind)
      XCTAssertTrue(config.label.hasPrefix(kind.rawValue), "\(kind): \(config.label)")
      XCTAssertFalse(kind.policy.summary.isEmpty)
      let hungarian = MappingConfig(kind, assignment: .hungarian).label.contains("hungarian")
      XCTAssertEqual(hungarian, kind.policy.options.contains(.assignment), "\(kind) label and its options")
      let every = MappingConfig(kind, interval: 4).label.contains("every 4")
      XCTAssertEqual(every, kind.policy.options.contains(.interval), "\(kind) label and its options")
    }
  }

  /// The remap policy: `needsFrequency` follows the schedule, an update changes the map only for kinds that
  /// are computed from frequency matrices, and only remapping kinds are due after the first epoch.
  func testEveryKindFollowsItsRemapPolicy() throws {
    let (s, k) = (8, 3)
    var rng = SplitMix64(seed: 5)
    let first = FrequencyMatrix(sources: s, targets: k, counts: (0..<(s * k)).map { _ in Double(rng.below(20)) })
    // The transpose-like opposite: each target's best source becomes another one.
    var second = FrequencyMatrix(sources: s, targets: k)
    for src in 0..<s { for t in 0..<k { second[src, t] = first[s - 1 - src, t] } }
    for kind in MappingKind.allCases {
      guard let mapping = try make(kind, sources: s, targets: k) else { continue }
      let schedule = kind.policy.schedule
      let due = (0..<5).map { mapping.needsFrequency(epoch: $0) }
      switch schedule {
      case .never: XCTAssertEqual(due, [false, false, false, false, false], "\(kind)")
      case .once: XCTAssertEqual(due, [true, false, false, false, false], "\(kind)")
      case .everyInterval: XCTAssertEqual(due, [true, false, true, false, true], "\(kind) (interval 2)")
      }
      XCTAssertEqual(kind.policy.remaps, schedule == .everyInterval)
      let before = mapping.sources
      let changedFirst = mapping.update(from: first)
      let changedSecond = mapping.update(from: second)
      if schedule == .never {
        XCTAssertEqual(changedFirst + changedSecond, [], "\(kind) never remaps")
        XCTAssertEqual(mapping.sources, before, "\(kind) keeps its map")
      } else {
        XCTAssertFalse(changedSecond.isEmpty, "\(kind) follows a different frequency matrix")
        XCTAssertNotNil(mapping.precision, "\(kind) has a mapping precision once computed")
      }
      switch kind.policy.form {
      case .linear:
        XCTAssertNil(mapping.sourceMap, "\(kind) has no source lists")
        XCTAssertFalse(kind.policy.hasSourceMap)
      case .sourceAverage, .weighted:
        XCTAssertEqual(mapping.sourceMap?.count, k, "\(kind) has a source list per target")
        XCTAssertTrue(kind.policy.hasSourceMap)
      }
    }
  }

  /// Every kind's source gradient, and every trainable tensor's gradient, against central differences of
  /// `Σ g ⊙ targetLogits`.
  func testEveryKindsGradientsMatchFiniteDifferences() throws {
    let (s, k, rows) = (7, 3, 2)
    var rng = SplitMix64(seed: 9)
    let d = FrequencyMatrix(sources: s, targets: k, counts: (0..<(s * k)).map { _ in Double(1 + rng.below(9)) })
    let training = TrainingConfig()
    for kind in MappingKind.allCases {
      guard let mapping = try make(kind, sources: s, targets: k) else { continue }
      mapping.update(from: d)
      let z = uniform(rows * s, &rng, -2, 2)
      let g = uniform(rows * k, &rng)
      let analytic = z.withUnsafeBufferPointer { mapping.sourceGradient(g, sourceLogits: $0.baseAddress!, rows: rows) }
      func loss(_ z: [Float]) -> Double { dot(g, mapping.targetLogits(z, rows: rows)) }
      let h: Float = 0.01
      for i in 0..<z.count {
        var zp = z
        var zm = z
        zp[i] += h
        zm[i] -= h
        XCTAssertEqual(
          Double(analytic.source[i]), (loss(zp) - loss(zm)) / Double(2 * h), accuracy: 1e-4, "\(kind) ∂/∂z[\(i)]")
      }
      let tensors = mapping.trainableTensors(training)
      XCTAssertEqual(Set(analytic.parameters.keys), Set(tensors.map(\.name)), "\(kind): a gradient per tensor")
      XCTAssertEqual(tensors.isEmpty, kind.policy.form != .linear, "\(kind): trainable only as a layer")
      for tensor in tensors {
        let values = tensor.read()
        let gradient = try XCTUnwrap(analytic.parameters[tensor.name])
        XCTAssertEqual(gradient.count, values.count)
        for i in 0..<values.count {
          var plus = values
          plus[i] += h
          tensor.write(plus)
          let lp = loss(z)
          var minus = values
          minus[i] -= h
          tensor.write(minus)
          let lm = loss(z)
          tensor.write(values)
          XCTAssertEqual(
            Double(gradient[i]), (lp - lm) / Double(2 * h), accuracy: 1e-4, "\(kind) ∂/∂\(tensor.name)[\(i)]")
        }
      }
    }
  }

  /// Selection restores any kind's state exactly.
  func testEveryKindsStateRestores() throws {
    let (s, k) = (6, 2)
    for kind in MappingKind.allCases {
      guard let mapping = try make(kind, sources: s, targets: k) else { continue }
      mapping.update(from: matrix([[5, 0], [0, 4], [1, 1], [0, 0], [2, 0], [0, 3]]))
      let saved = mapping.state
      let (sources, omega, weights) = (mapping.sources, mapping.omega, mapping.linear?.weight)
      mapping.update(from: matrix([[0, 5], [4, 0], [1, 1], [3, 0], [0, 2], [0, 0]]))
      mapping.linear?.weight[0] += 1
      mapping.state = saved
      XCTAssertEqual(mapping.sources, sources, "\(kind)")
      XCTAssertEqual(mapping.omega, omega, "\(kind)")
      XCTAssertEqual(mapping.linear?.weight, weights, "\(kind)")
    }
  }
}
