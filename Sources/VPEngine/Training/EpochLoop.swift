import Foundation

/// What the epoch loop trains: a prompt with its mapping, or a baseline's layer.
protocol EpochLearner: AnyObject {
  associatedtype Snapshot
  /// Before epoch `epoch` (0-based): e.g. remap. Returns the seconds spent and the targets remapped.
  func prepareEpoch(_ epoch: Int) throws -> (seconds: Double, remapped: [Int])
  /// One pass over the training split; returns the mean loss and the accuracy on the batches as seen.
  func trainEpoch(_ epoch: Int) throws -> (loss: Double, accuracy: Double)
  /// Evaluates the validation split (`test == false`) or the test split with the current state.
  func evaluate(test: Bool) -> Evaluation?
  /// What an epoch record shows of the learner's state.
  func epochState() -> (mapping: [[Int]]?, precision: Double?, inputScale: Double?)
  func snapshot() -> Snapshot
  func restore(_ snapshot: Snapshot)
}

/// The one epoch loop: train, record, keep the state with the best validation accuracy (the last epoch
/// without a validation split), restore it and evaluate the test split once.
enum EpochLoop {
  struct Outcome {
    var history: [EpochRecord]
    var selectedEpoch: Int
    var final: Evaluation
  }

  static func run<L: EpochLearner>(
    _ learner: L, training: TrainingConfig, stepsPerEpoch steps: Int, testEveryEpoch: Bool
  ) throws -> Outcome {
    var history: [EpochRecord] = []
    var best: (score: Double, epoch: Int, snapshot: L.Snapshot)? = nil
    for epoch in 0..<training.epochs {
      let epochStart = Date()
      let (remapSeconds, remapped) = try learner.prepareEpoch(epoch)
      let (loss, accuracy) = try learner.trainEpoch(epoch)
      let validationAccuracy = learner.evaluate(test: false)?.accuracy
      let testAccuracy = testEveryEpoch ? learner.evaluate(test: true)?.accuracy : nil
      let state = learner.epochState()
      history.append(
        EpochRecord(
          epoch: epoch + 1,
          learningRate: training.schedule.rate(
            base: training.learningRate, epoch: epoch, epochs: training.epochs, step: 0, stepsPerEpoch: steps),
          trainLoss: loss, trainAccuracy: accuracy, validationAccuracy: validationAccuracy, testAccuracy: testAccuracy,
          seconds: Date().timeIntervalSince(epochStart), remapSeconds: remapSeconds, remappedTargets: remapped,
          mapping: state.mapping, mappingPrecision: state.precision, inputScale: state.inputScale))
      let score = validationAccuracy ?? Double(epoch)
      if best == nil || score > best!.score { best = (score, epoch + 1, learner.snapshot()) }
    }
    if let best { learner.restore(best.snapshot) }
    return Outcome(
      history: history, selectedEpoch: best?.epoch ?? training.epochs, final: learner.evaluate(test: true)!)
  }
}
