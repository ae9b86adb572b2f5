import Foundation
import VPData
import VPEngine
import VPModels
import VPTensor
import VPTestSupport
import XCTest

/// One tiny training setup on real data: MobileNetV2, Fashion-MNIST at 16 px in a 32-px pad prompt,
/// 20 training images per class, 2 epochs.
final class EndToEndTests: XCTestCase {
  nonisolated(unsafe) private static var cached: Experiment?

  static let prompt = PromptConfig(kind: .pad, canvas: 32, image: 16)
  static let training = TrainingConfig(epochs: 2, batchSize: 64, learningRate: 0.01)

  private func experiment() throws -> Experiment {
    if let e = Self.cached { return e }
    let e = try smallFashionExperiment(perClass: 20, validation: 5, test: 100)
    Self.cached = e
    return e
  }

  func testDataPreparation() throws {
    let e = try experiment()
    XCTAssertEqual(e.model.classCount, 1000)
    XCTAssertEqual(e.train.count, 200)
    XCTAssertEqual(e.train.classCounts, [Int](repeating: 20, count: 10))
    XCTAssertEqual(e.validation?.count, 50)
    XCTAssertEqual(e.test.count, 100)
    XCTAssertEqual(e.train.side, 16)
    let pixels = e.train.pixels(0..<e.train.count)
    XCTAssertEqual(pixels.count, 200 * 16 * 16 * 3)
    XCTAssertTrue(pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
  }

  /// Bitwise equality of two parameter vectors, reporting how many values differ and by how much.
  private func assertBitwiseEqual(_ a: [Float], _ b: [Float], _ what: String, line: UInt = #line) {
    guard a.count == b.count else { return XCTFail("\(what): \(a.count) vs \(b.count) values", line: line) }
    let differing = (0..<a.count).filter { a[$0].bitPattern != b[$0].bitPattern }
    if let first = differing.first {
      let worst = differing.map { abs(a[$0] - b[$0]) }.max()!
      XCTFail(
        "\(what) differ in \(differing.count) of \(a.count) values (first at \(first): \(a[first]) vs \(b[first]); "
          + "largest difference \(worst))", line: line)
    }
  }

  private func assertSameRun(_ a: RunResult, _ b: RunResult, _ what: String, line: UInt = #line) {
    XCTAssertEqual(a.testAccuracy, b.testAccuracy, "\(what): test accuracy", line: line)
    XCTAssertEqual(a.confusion, b.confusion, "\(what): confusion", line: line)
    XCTAssertEqual(a.selectedEpoch, b.selectedEpoch, "\(what): selected epoch", line: line)
    XCTAssertEqual(a.finalMapping, b.finalMapping, "\(what): final mapping", line: line)
    XCTAssertEqual(a.history.map(\.trainLoss), b.history.map(\.trainLoss), "\(what): losses", line: line)
    XCTAssertEqual(
      a.history.map(\.trainAccuracy), b.history.map(\.trainAccuracy), "\(what): train accuracy", line: line)
    XCTAssertEqual(
      a.history.map(\.validationAccuracy), b.history.map(\.validationAccuracy), "\(what): validation", line: line)
    XCTAssertEqual(a.history.map(\.mapping), b.history.map(\.mapping), "\(what): mappings", line: line)
  }

  private func assertSane(_ r: RunResult, _ what: String, line: UInt = #line) {
    XCTAssertEqual(r.history.count, 2, "\(what): history", line: line)
    XCTAssertEqual(r.history.map(\.epoch), [1, 2], line: line)
    XCTAssertTrue(
      r.history.allSatisfy { $0.trainLoss.isFinite && $0.trainLoss > 0 },
      "\(what): losses \(r.history.map(\.trainLoss))", line: line)
    // Ten classes: the loss starts near ln 10 (never astronomically off).
    XCTAssertLessThan(r.history[0].trainLoss, 10, line: line)
    XCTAssertTrue(
      r.history.allSatisfy { ($0.validationAccuracy ?? -1) >= 0 && $0.validationAccuracy! <= 1 }, line: line)
    XCTAssertTrue((0...1).contains(r.testAccuracy), line: line)
    XCTAssertEqual(r.confusion.flatMap { $0 }.reduce(0, +), 100, line: line)
    XCTAssertEqual(r.trainCount, 200, line: line)
    XCTAssertEqual(r.validationCount, 50, line: line)
    XCTAssertEqual(r.testCount, 100, line: line)
    XCTAssertTrue((1...2).contains(r.selectedEpoch), line: line)
    // The pad prompt's border: (32² − 16²) · 3.
    XCTAssertEqual(r.trainableParameters, (32 * 32 - 16 * 16) * 3, line: line)
    // MultiStep with 2 epochs: milestones int(1.0) = int(1.44) = 1, so epoch 2 runs at base · 0.01.
    XCTAssertEqual(r.history[0].learningRate, 0.01, accuracy: 1e-12, line: line)
    XCTAssertEqual(r.history[1].learningRate, 0.0001, accuracy: 1e-12, line: line)
  }

  func testILMAndRLMAreDeterministicAndILMRemapsEveryEpoch() throws {
    let e = try experiment()
    let started = Date()
    let ilm1 = try e.run(prompt: Self.prompt, mapping: MappingConfig(.ilm), training: Self.training, seed: 7)
    let delta1 = try XCTUnwrap(e.lastPrompt).values
    let ilm2 = try e.run(prompt: Self.prompt, mapping: MappingConfig(.ilm), training: Self.training, seed: 7)
    let delta2 = try XCTUnwrap(e.lastPrompt).values
    assertSane(ilm1, "ilm")
    assertSameRun(ilm1, ilm2, "ilm, same seed")
    assertBitwiseEqual(delta1, delta2, "ilm, same seed: the final prompt")
    // The prompt was trained.
    XCTAssertGreaterThan(delta1.map { abs($0) }.max() ?? 0, 0)
    XCTAssertTrue(delta1.allSatisfy(\.isFinite))

    // ILM recorded a (one-to-one) mapping for every epoch, computed from a fresh frequency matrix.
    for record in ilm1.history {
      let map = try XCTUnwrap(record.mapping, "ilm epoch \(record.epoch): no mapping recorded")
      XCTAssertEqual(map.count, 10)
      XCTAssertTrue(map.allSatisfy { $0.count == 1 })
      XCTAssertEqual(Set(map.map { $0[0] }).count, 10, "ilm epoch \(record.epoch): not injective")
      XCTAssertGreaterThan(record.remapSeconds, 0, "ilm epoch \(record.epoch): no remap")
      XCTAssertNotNil(record.mappingPrecision)
    }
    // The first epoch's mapping changed every target that was not already at its first-K default.
    let first = ilm1.history[0].mapping!
    XCTAssertEqual(ilm1.history[0].remappedTargets, (0..<10).filter { first[$0] != [$0] })
    // The kept mapping is the greedy assignment of the kept frequency matrix (a full pass over training data).
    let d = try XCTUnwrap(ilm1.frequency)
    XCTAssertEqual(d.counts.reduce(0, +), 200)
    XCTAssertEqual(ilm1.finalMapping, Assignment.greedy(d).map { [$0] })
    XCTAssertEqual(ilm1.history[ilm1.selectedEpoch - 1].mapping, ilm1.finalMapping)
    XCTAssertEqual(e.lastMapping?.sources, ilm1.finalMapping)

    // RLM: deterministic, the seeded random map, never remapped.
    let rlm1 = try e.run(prompt: Self.prompt, mapping: MappingConfig(.rlm), training: Self.training, seed: 7)
    let rlmDelta1 = try XCTUnwrap(e.lastPrompt).values
    let rlm2 = try e.run(prompt: Self.prompt, mapping: MappingConfig(.rlm), training: Self.training, seed: 7)
    let rlmDelta2 = try XCTUnwrap(e.lastPrompt).values
    assertSane(rlm1, "rlm")
    assertSameRun(rlm1, rlm2, "rlm, same seed")
    assertBitwiseEqual(rlmDelta1, rlmDelta2, "rlm, same seed: the final prompt")
    let expected = try LabelMapping(MappingConfig(.rlm), sources: 1000, targets: 10, seed: 7).sources
    XCTAssertEqual(rlm1.finalMapping, expected)
    XCTAssertTrue(
      rlm1.history.allSatisfy { $0.mapping == expected && $0.remappedTargets.isEmpty && $0.remapSeconds == 0 })
    XCTAssertNil(rlm1.frequency)
    // A different mapping trains a different prompt.
    XCTAssertTrue(rlmDelta1 != delta1, "rlm and ilm trained the same prompt")
    print("EndToEndTests: four 2-epoch runs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
  }

  /// FLM is greedy on the frequency matrix of the untrained prompt, computed once.
  func testFLMIsGreedyOnTheUntrainedPromptsFrequencyMatrix() throws {
    let e = try experiment()
    let untrained = VisualPrompt(Self.prompt, normalization: e.model.normalization)
    let d = e.frequencyMatrix(e.train, prompt: untrained)
    XCTAssertEqual(d.sources, 1000)
    XCTAssertEqual(d.targets, 10)
    XCTAssertEqual(d.counts.reduce(0, +), 200)
    // Column sums are the class sizes.
    for t in 0..<10 { XCTAssertEqual((0..<1000).reduce(0) { $0 + d[$1, t] }, 20, "class \(t)") }
    let expected = Assignment.greedy(d).map { [$0] }

    let flm = try e.run(prompt: Self.prompt, mapping: MappingConfig(.flm), training: Self.training, seed: 3)
    assertSane(flm, "flm")
    XCTAssertEqual(e.lastMapping?.sources, expected)
    XCTAssertEqual(flm.finalMapping, expected)
    XCTAssertEqual(flm.frequency, d)
    XCTAssertEqual(flm.history.map(\.mapping), [expected, expected])
    XCTAssertGreaterThan(flm.history[0].remapSeconds, 0)
    XCTAssertEqual(flm.history[1].remapSeconds, 0, "FLM remapped after the first epoch")
    XCTAssertEqual(flm.history[1].remappedTargets, [])
    XCTAssertEqual(
      try XCTUnwrap(flm.mappingPrecision), Assignment.score(d, Assignment.greedy(d)) / 200, accuracy: 1e-12)

    // The zero-shot baseline is the same mapping without training.
    let zero = try e.zeroShot(prompt: Self.prompt)
    XCTAssertEqual(zero.finalMapping, expected)
    XCTAssertEqual(zero.frequency, d)
    XCTAssertEqual(zero.confusion.flatMap { $0 }.reduce(0, +), 100)
  }

  /// `baseline zero-shot mapping=identity` is the model's own rule: target k is source class k, nothing read
  /// from the training images; its accuracy is that of the argmax over the first K logits of the untrained
  /// prompt's inputs, computed here from the model directly.
  func testIdentityZeroShotIsTheArgmaxOverTheFirstKClasses() throws {
    let e = try experiment()
    let zero = try e.zeroShot(prompt: Self.prompt, mapping: MappingConfig(.identity))
    XCTAssertEqual(zero.name, "zero-shot/identity")
    XCTAssertEqual(zero.finalMapping, (0..<10).map { [$0] })
    XCTAssertNil(zero.frequency, "identity reads no frequency matrix")
    let prompt = Self.prompt.makePrompt(normalization: e.model.normalization, seed: 0)
    let s = Self.prompt.canvas
    var x = [Float](repeating: 0, count: e.test.count * s * s * 3)
    e.test.pixels(0..<e.test.count).withUnsafeBufferPointer { src in
      x.withUnsafeMutableBufferPointer { prompt.apply(src.baseAddress!, count: e.test.count, into: $0.baseAddress!) }
    }
    let logits = e.model.logits(Tensor(shape: [e.test.count, s, s, 3], data: x)).data
    var correct = 0
    for i in 0..<e.test.count {
      let row = Array(logits[(i * 1000)..<(i * 1000 + 10)])
      if row.firstIndex(of: row.max()!) == e.test.labels[i] { correct += 1 }
    }
    XCTAssertEqual(zero.testAccuracy, Double(correct) / Double(e.test.count), accuracy: 1e-12)
    // A zero-shot run maps once and trains nothing.
    for kind in [MappingKind.ilm, .fullyMap, .blm] {
      XCTAssertThrowsError(try e.zeroShot(prompt: Self.prompt, mapping: MappingConfig(kind)), kind.rawValue)
    }
  }

  /// AutoVP's learnable input scale: σ moves during training, is recorded per epoch, the selected epoch's σ is
  /// the result's, and the run is reproducible.
  func testLearnableInputScaleTrainsAndIsReproducible() throws {
    let e = try experiment()
    let config = PromptConfig(kind: .pad, canvas: 32, image: 16, learnableScale: true)
    let training = TrainingConfig(epochs: 2, batchSize: 64, learningRate: 0.05, schedule: .constant)
    let a = try e.run(prompt: config, mapping: MappingConfig(.flm), training: training, seed: 5)
    let prompt = try XCTUnwrap(e.lastPrompt)
    let b = try e.run(prompt: config, mapping: MappingConfig(.flm), training: training, seed: 5)
    assertSameRun(a, b, "learnable scale, same seed")
    let scales = try a.history.map { try XCTUnwrap($0.inputScale, "epoch \($0.epoch): no scale recorded") }
    XCTAssertEqual(b.history.map(\.inputScale), a.history.map(\.inputScale))
    // 8 Adam steps of 0.05 each move σ by up to 0.4; it must have moved, and stayed in AutoVP's range.
    XCTAssertGreaterThan(abs(scales[1] - 1), 0.02, "σ per epoch \(scales)")
    XCTAssertTrue(scales.allSatisfy { (0.1...5).contains($0) })
    XCTAssertEqual(a.inputScale, scales[a.selectedEpoch - 1])
    XCTAssertEqual(Double(prompt.scale), try XCTUnwrap(a.inputScale))
    XCTAssertEqual(a.trainableParameters, prompt.parameterCount)
    // A fixed-scale run records no scale.
    let fixed = try e.run(prompt: Self.prompt, mapping: MappingConfig(.flm), training: training, seed: 5)
    XCTAssertNil(fixed.inputScale)
    XCTAssertTrue(fixed.history.allSatisfy { $0.inputScale == nil })
  }

  /// Augmentation changes the training batches only: the same seed repeats, another changes the run, and the
  /// reported validation and test accuracies are those of the plain images.
  func testAugmentationTouchesOnlyTheTrainingBatches() throws {
    let e = try experiment()
    var training = TrainingConfig(epochs: 2, batchSize: 64, learningRate: 0.05, schedule: .constant)
    let plain = try e.run(prompt: Self.prompt, mapping: MappingConfig(.ilm), training: training, seed: 5)
    training.augment = .trivial
    let a = try e.run(prompt: Self.prompt, mapping: MappingConfig(.ilm), training: training, seed: 5)
    let prompt = try XCTUnwrap(e.lastPrompt)
    let mapping = try XCTUnwrap(e.lastMapping)
    let b = try e.run(prompt: Self.prompt, mapping: MappingConfig(.ilm), training: training, seed: 5)
    assertSameRun(a, b, "augmented, same seed")
    XCTAssertNotEqual(a.history.map(\.trainLoss), plain.history.map(\.trainLoss), "augmentation changed nothing")
    // The first remap (before any training) sees the plain training images: the same mapping as without.
    XCTAssertEqual(a.history[0].mapping, plain.history[0].mapping)
    // Evaluated again on the plain splits, the selected state gives the reported numbers.
    let test = e.evaluate(e.test, prompt: prompt, mapping: mapping)
    XCTAssertEqual(a.testAccuracy, test.accuracy)
    let validation = e.evaluate(try XCTUnwrap(e.validation), prompt: prompt, mapping: mapping)
    XCTAssertEqual(a.history[a.selectedEpoch - 1].validationAccuracy, validation.accuracy)
  }

  /// Every prompt family trains through the same learner, repeats with its seed, and reports its own count.
  func testEveryPromptFamilyTrainsAndRepeats() throws {
    let e = try smallFashionExperiment(perClass: 8, validation: 2, test: 40, side: 32)
    let training = TrainingConfig(epochs: 2, batchSize: 32, learningRate: 0.05)
    for config in [
      PromptConfig(kind: .watermark, canvas: 32, image: 32), PromptConfig(kind: .lowrank, canvas: 32, image: 32),
      PromptConfig(kind: .smm, canvas: 32, image: 32),
    ] {
      let a = try e.run(prompt: config, mapping: MappingConfig(.ilm), training: training, seed: 3)
      let values = try XCTUnwrap(e.lastPrompt).values
      let count = try XCTUnwrap(e.lastPrompt).parameterCount
      let b = try e.run(prompt: config, mapping: MappingConfig(.ilm), training: training, seed: 3)
      assertSameRun(a, b, "\(config.kind)")
      XCTAssertTrue(values == (try XCTUnwrap(e.lastPrompt).values), "\(config.kind): the prompts differ")
      XCTAssertEqual(a.trainableParameters, count)
      XCTAssertTrue(values.allSatisfy(\.isFinite))
      XCTAssertNotEqual(a.history[0].trainLoss, a.history[1].trainLoss, "\(config.kind) did not train")
    }
  }

  /// Fast ILM re-estimates D from the training passes (every training image once per epoch); BLM trains
  /// with ω columns that sum to 1.
  func testFastILMAndBLMRuns() throws {
    let e = try experiment()
    let fast = try e.run(prompt: Self.prompt, mapping: MappingConfig(.fastILM), training: Self.training, seed: 1)
    assertSane(fast, "fast-ilm")
    let d = try XCTUnwrap(fast.frequency)
    XCTAssertEqual(d.counts.reduce(0, +), 200)
    XCTAssertEqual(fast.finalMapping, Assignment.greedy(d).map { [$0] })
    XCTAssertTrue(fast.history.allSatisfy { $0.mapping?.count == 10 })

    for kind in [MappingKind.blm, .blmPlus] {
      let blm = try e.run(prompt: Self.prompt, mapping: MappingConfig(kind), training: Self.training, seed: 1)
      assertSane(blm, kind.rawValue)
      let mapping = try XCTUnwrap(e.lastMapping)
      XCTAssertEqual(mapping.omega.count, 1000 * 10)
      XCTAssertTrue(mapping.omega.allSatisfy { $0.isFinite && $0 >= 0 })
      for t in 0..<10 {
        let column = (0..<1000).reduce(0.0) { $0 + Double(mapping.omega[$1 * 10 + t]) }
        XCTAssertEqual(column, 1, accuracy: 1e-4, "\(kind): ω column \(t)")
      }
      let total = try XCTUnwrap(blm.frequency).counts.reduce(0, +)
      if kind == .blm {
        XCTAssertEqual(total, 200)  // top-1 counts
      } else {
        XCTAssertGreaterThan(total, 0)  // top-1 probabilities (k = max(1, int(1.5)) = 1)
        XCTAssertLessThan(total, 200)
      }
    }
  }

  /// Same seed, same numbers, also when a batch is split over several micro-batches processed by parallel
  /// workers (the default at 224 px, where a micro-batch is 2 images). FullyMap sums its layer's gradient
  /// over the micro-batches, and the summary loss sums per-micro-batch losses: both must not depend on
  /// which worker finishes first.
  func testFullyMapIsDeterministicWithManyMicroBatches() throws {
    let e = try experiment()
    let saved = e.model.microBatchOverride
    e.model.microBatchOverride = 4  // 16 micro-batches per batch of 64
    defer { e.model.microBatchOverride = saved }
    let training = TrainingConfig(epochs: 1, batchSize: 64, learningRate: 0.01)
    var runs: [(RunResult, [Float], [Float])] = []
    for _ in 0..<3 {
      let r = try e.run(prompt: Self.prompt, mapping: MappingConfig(.fullyMap), training: training, seed: 11)
      runs.append((r, try XCTUnwrap(e.lastPrompt).values, try XCTUnwrap(e.lastMapping?.linear).weight))
    }
    XCTAssertEqual(runs[0].0.trainableParameters, (32 * 32 - 16 * 16) * 3 + 1000 * 10 + 10)
    XCTAssertTrue(runs[0].0.history.allSatisfy { $0.trainLoss.isFinite })
    for i in 1..<runs.count {
      assertBitwiseEqual(runs[i].2, runs[0].2, "run \(i + 1) vs run 1 (same seed): FullyMap's trained weights")
      assertBitwiseEqual(runs[i].1, runs[0].1, "run \(i + 1) vs run 1 (same seed): the trained prompt")
      XCTAssertEqual(
        runs[i].0.history.map(\.trainLoss), runs[0].0.history.map(\.trainLoss), "run \(i + 1): losses differ")
      XCTAssertEqual(runs[i].0.testAccuracy, runs[0].0.testAccuracy, "run \(i + 1): test accuracy differs")
    }
  }

  /// ILM's prompt update only sums per-image gradients, so it is reproducible under micro-batching.
  func testILMIsDeterministicWithManyMicroBatches() throws {
    let e = try experiment()
    let saved = e.model.microBatchOverride
    e.model.microBatchOverride = 4
    defer { e.model.microBatchOverride = saved }
    let training = TrainingConfig(epochs: 1, batchSize: 64, learningRate: 0.01)
    let a = try e.run(prompt: Self.prompt, mapping: MappingConfig(.ilm), training: training, seed: 5)
    let da = try XCTUnwrap(e.lastPrompt).values
    let b = try e.run(prompt: Self.prompt, mapping: MappingConfig(.ilm), training: training, seed: 5)
    let db = try XCTUnwrap(e.lastPrompt).values
    assertBitwiseEqual(da, db, "ilm with 16 micro-batches per batch: the trained prompt")
    XCTAssertEqual(a.testAccuracy, b.testAccuracy)
    XCTAssertEqual(a.finalMapping, b.finalMapping)
    // The reported loss sums the micro-batches' losses: the same seed must report the same number.
    XCTAssertEqual(
      a.history.map(\.trainLoss), b.history.map(\.trainLoss), "ilm: reported losses differ between identical runs")
  }

  // MARK: - Divergence and chance (issue #13, item 5)

  /// A loss that explodes without becoming NaN is divergence, named by epoch and step, for the mapping's
  /// layer and the linear probe alike.
  func testAnExplodingFiniteLossIsDivergence() throws {
    let e = try experiment()
    let prompt = PromptConfig(kind: .pad, canvas: 32, image: 16)
    let huge = TrainingConfig(epochs: 2, batchSize: 32, learningRate: 1e30)
    XCTAssertThrowsError(try e.run(prompt: prompt, mapping: MappingConfig(.fullyMap), training: huge, seed: 7)) {
      XCTAssertTrue("\($0)".hasPrefix("training diverged at epoch 1, step "), "\($0)")
    }
    XCTAssertThrowsError(try e.linearProbe(prompt: prompt, training: huge, seed: 7)) {
      XCTAssertTrue("\($0)".hasPrefix("linear probe diverged at epoch 1, step "), "\($0)")
    }
  }

  /// A prompt blown to saturation by a huge learning rate trains at chance: the result says so.
  func testARunAtChanceCarriesAWarning() throws {
    let e = try experiment()
    let prompt = PromptConfig(kind: .pad, canvas: 32, image: 16)
    let result = try e.run(
      prompt: prompt, mapping: MappingConfig(.rlm),
      training: TrainingConfig(epochs: 1, batchSize: 32, learningRate: 1e9),
      seed: 7)
    XCTAssertLessThanOrEqual(result.testAccuracy, ChanceLevel.threshold(classes: 10, count: 100))
    let warning = try XCTUnwrap(result.warning)
    XCTAssertTrue(warning.contains("within two standard errors of chance (10.0 % for 10 classes over 100"), warning)
  }

  func testChanceLevelIsTwoStandardErrorsAboveGuessing() {
    // 10 classes, 100 images: 0.1 + 2 √(0.1 · 0.9 / 100) = 0.16.
    XCTAssertEqual(ChanceLevel.threshold(classes: 10, count: 100), 0.16, accuracy: 1e-12)
    XCTAssertNotNil(ChanceLevel.warning(accuracy: 0.15, classes: 10, count: 100))
    XCTAssertNil(ChanceLevel.warning(accuracy: 0.17, classes: 10, count: 100))
    // More test images, a tighter band: 0.12 is distinguishable from chance over 10 000 images.
    XCTAssertNil(ChanceLevel.warning(accuracy: 0.12, classes: 10, count: 10_000))
    XCTAssertEqual(ChanceLevel.divergenceLimit(classes: 10), 1000 * log(10.0), accuracy: 1e-9)
  }
}
