import Foundation
import VPData
import VPEngine
import VPModels
import VPTestSupport
import XCTest

/// A search's trial stopped at a rung and resumed from its saved state (written to JSON and read back, as
/// the ledger does) gives the same numbers, bit for bit, as an uninterrupted run of the same configuration.
final class TrialResumeTests: XCTestCase {
  nonisolated(unsafe) private static var cached: [Int: Experiment] = [:]

  /// The images at `side` px: 16 for the pad prompt, the canvas for the full-image prompts.
  private func experiment(side: Int = 16) throws -> Experiment {
    if let e = Self.cached[side] { return e }
    let e = try smallFashionExperiment(perClass: 12, validation: 4, test: 40, side: side)
    Self.cached[side] = e
    return e
  }

  private func roundTrip(_ state: TrialState) throws -> TrialState {
    try JSONDecoder().decode(TrialState.self, from: try JSONEncoder().encode(state))
  }

  private func check(
    _ kind: MappingKind, prompt promptKind: PromptKind = .pad, learnScale: Bool = false,
    augment: Augmentation? = nil, cuts: [Int]
  ) throws {
    var prompt = PromptConfig(kind: promptKind, canvas: 32, image: promptKind == .pad ? 16 : 32)
    let e = try experiment(side: prompt.imageSide)
    prompt.learnableScale = learnScale
    var training = TrainingConfig(epochs: 4, batchSize: 32, learningRate: 0.05)
    training.augment = augment
    training.schedule = .multistep
    training.weightDecay = 1e-4
    let mapping = MappingConfig(kind)
    let whole = try e.trial(prompt: prompt, mapping: mapping, training: training, seed: 11, from: nil, through: 4)
    var state: TrialState? = nil
    for cut in cuts + [4] {
      state = try roundTrip(
        try e.trial(prompt: prompt, mapping: mapping, training: training, seed: 11, from: state, through: cut))
      XCTAssertEqual(state!.epochs, cut)
    }
    let resumed = state!
    XCTAssertEqual(resumed.history.map(\.trainLoss), whole.history.map(\.trainLoss), "\(kind)")
    XCTAssertEqual(resumed.history.map(\.trainAccuracy), whole.history.map(\.trainAccuracy), "\(kind)")
    XCTAssertEqual(resumed.history.map(\.validationAccuracy), whole.history.map(\.validationAccuracy), "\(kind)")
    XCTAssertEqual(resumed.current, whole.current, "\(kind)")
    XCTAssertEqual(resumed.selected, whole.selected, "\(kind)")
    XCTAssertEqual(resumed.selectedEpoch, whole.selectedEpoch)
    XCTAssertEqual(resumed.optimizer, whole.optimizer)
    XCTAssertEqual(resumed.rng, whole.rng)
    // And both equal the ordinary run of the same configuration (the test split is not part of a trial).
    let run = try e.run(prompt: prompt, mapping: mapping, training: training, seed: 11)
    XCTAssertEqual(run.history.map(\.trainLoss), whole.history.map(\.trainLoss), "\(kind)")
    XCTAssertEqual(run.selectedEpoch, whole.selectedEpoch)
    XCTAssertEqual(e.lastPrompt!.values, whole.selected.delta.values, "\(kind)")
    // The losses moved: the comparison is not between untouched states.
    XCTAssertNotEqual(whole.history.first!.trainLoss, whole.history.last!.trainLoss)
    XCTAssertTrue(whole.current.delta.values.contains { $0 != 0 })
  }

  func testILMResumesBitForBit() throws { try check(.ilm, cuts: [1, 3]) }
  func testFastILMCarriesItsFrequencyMatrix() throws { try check(.fastILM, cuts: [2]) }
  func testFullyMapResumesItsLayerAndAdamMoments() throws { try check(.fullyMap, learnScale: true, cuts: [1, 2]) }
  func testBLMPlusResumes() throws { try check(.blmPlus, cuts: [3]) }
  func testLowRankPromptResumes() throws { try check(.ilm, prompt: .lowrank, cuts: [2]) }
  /// SMM's mask network: its weights, Adam moments and batch-norm running statistics all carry over.
  func testSMMResumesWithAugmentation() throws { try check(.flm, prompt: .smm, augment: .trivial, cuts: [1, 3]) }

  func testAStateOfAnotherGeometryIsRefused() throws {
    let e = try experiment()
    let training = TrainingConfig(epochs: 2, batchSize: 32, learningRate: 0.05)
    let state = try e.trial(
      prompt: PromptConfig(kind: .pad, canvas: 32, image: 16), mapping: MappingConfig(.flm), training: training,
      seed: 1, from: nil, through: 1)
    XCTAssertThrowsError(
      try e.trial(
        prompt: PromptConfig(kind: .pad, canvas: 40, image: 16), mapping: MappingConfig(.flm), training: training,
        seed: 1, from: state, through: 2)
    ) { XCTAssertTrue("\($0)".contains("trial state: the prompt has"), "\($0)") }
  }

  func testPackedFloatsAreExact() throws {
    let values: [Float] = [0, -0, .leastNonzeroMagnitude, .pi, -3.4e38, 1.0000001, .leastNormalMagnitude]
    let back = try JSONDecoder().decode(PackedFloats.self, from: try JSONEncoder().encode(PackedFloats(values)))
    XCTAssertEqual(back.values.map(\.bitPattern), values.map(\.bitPattern))
    XCTAssertThrowsError(try JSONDecoder().decode(PackedFloats.self, from: Data("\"AAE=\"".utf8)))
  }
}
