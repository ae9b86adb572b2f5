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
///
/// It runs in pieces: `advance` trains up to an epoch and can be called again later (a search's trial is
/// stopped at a rung and resumed when promoted); `finish` restores the selected state and tests it. `run` is
/// both at once. The learning-rate schedule is always defined on `training.epochs`, the whole budget.
enum EpochLoop {
  struct Outcome {
    var history: [EpochRecord]
    var selectedEpoch: Int
    var final: Evaluation
  }

  /// Where a run stands between epochs: the records so far and the selected state.
  struct Progress<Snapshot> {
    var history: [EpochRecord] = []
    var best: (score: Double, epoch: Int, snapshot: Snapshot)? = nil
    var epochsDone: Int { history.count }
  }

  static func run<L: EpochLearner>(
    _ learner: L, training: TrainingConfig, stepsPerEpoch steps: Int, testEveryEpoch: Bool
  ) throws -> Outcome {
    var progress = Progress<L.Snapshot>()
    try advance(
      learner, training: training, stepsPerEpoch: steps, testEveryEpoch: testEveryEpoch, progress: &progress,
      through: training.epochs)
    return finish(learner, training: training, progress: progress)
  }

  /// Trains epochs `progress.epochsDone ..< end`.
  static func advance<L: EpochLearner>(
    _ learner: L, training: TrainingConfig, stepsPerEpoch steps: Int, testEveryEpoch: Bool,
    progress: inout Progress<L.Snapshot>, through end: Int
  ) throws {
    precondition(progress.epochsDone <= end && end <= training.epochs)
    for epoch in progress.epochsDone..<end {
      let epochStart = Date()
      let (remapSeconds, remapped) = try learner.prepareEpoch(epoch)
      let (loss, accuracy) = try learner.trainEpoch(epoch)
      let validationAccuracy = learner.evaluate(test: false)?.accuracy
      let testAccuracy = testEveryEpoch ? learner.evaluate(test: true)?.accuracy : nil
      let state = learner.epochState()
      progress.history.append(
        EpochRecord(
          epoch: epoch + 1,
          learningRate: training.schedule.rate(
            base: training.learningRate, epoch: epoch, epochs: training.epochs, step: 0, stepsPerEpoch: steps),
          trainLoss: loss, trainAccuracy: accuracy, validationAccuracy: validationAccuracy, testAccuracy: testAccuracy,
          seconds: Date().timeIntervalSince(epochStart), remapSeconds: remapSeconds, remappedTargets: remapped,
          mapping: state.mapping, mappingPrecision: state.precision, inputScale: state.inputScale))
      let score = validationAccuracy ?? Double(epoch)
      if progress.best == nil || score > progress.best!.score {
        progress.best = (score, epoch + 1, learner.snapshot())
      }
    }
  }

  /// Restores the selected state and evaluates the test split once.
  static func finish<L: EpochLearner>(_ learner: L, training: TrainingConfig, progress: Progress<L.Snapshot>)
    -> Outcome
  {
    if let best = progress.best { learner.restore(best.snapshot) }
    return Outcome(
      history: progress.history, selectedEpoch: progress.best?.epoch ?? training.epochs,
      final: learner.evaluate(test: true)!)
  }
}
