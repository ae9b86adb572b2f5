import Foundation
import VPData
import VPModels
import VPTensor

extension VisualPrompt {
  /// `prompt.delta` (with weight decay) and, with a learnable input scale, `prompt.scale` (AutoVP trains it
  /// with the prompt's optimiser and learning rate, without weight decay; the setter keeps it in range).
  public func trainableTensors(_ training: TrainingConfig) -> [TrainableTensor] {
    var tensors = [
      TrainableTensor(name: "prompt.delta", decays: true, read: { self.delta }, write: { self.delta = $0 })
    ]
    if config.learnableScale {
      tensors.append(
        TrainableTensor(name: "prompt.scale", decays: false, read: { [self.scale] }, write: { self.scale = $0[0] }))
    }
    return tensors
  }
}

extension Experiment {
  /// Everything a training request is checked for before anything runs (a run and a search trial alike): the
  /// prompt and the model's input side, the training settings, the data's image side, and the memory of a
  /// batch — its images on the canvas, and the activations the model keeps for their input gradient.
  func checkTraining(_ promptConfig: PromptConfig, _ training: TrainingConfig) throws {
    try check(promptConfig)
    try training.validate()
    guard promptConfig.imageSide == train.side else {
      throw EngineError(
        "prompt: the data was prepared at \(train.side) px but the prompt places \(promptConfig.imageSide) px images")
    }
    try requireBatchMemory(promptConfig, batch: min(training.batchSize, train.count), inputGradient: true, "training")
  }

  /// Trains a prompt (and the mapping's parameters, if any) and evaluates it.
  public func run(
    prompt promptConfig: PromptConfig, mapping mappingConfig: MappingConfig, training: TrainingConfig, seed: UInt64
  ) throws -> RunResult {
    try checkTraining(promptConfig, training)
    let started = Date()
    let prompt = promptConfig.makePrompt(normalization: model.normalization, seed: seed)
    let mapping = try LabelMapping(
      mappingConfig, sources: model.classCount, targets: classCount, seed: seed, context: mappingContext)
    let learner = PromptLearner(experiment: self, prompt: prompt, mapping: mapping, training: training, seed: seed)
    let outcome = try EpochLoop.run(
      learner, training: training, stepsPerEpoch: learner.steps, testEveryEpoch: testEveryEpoch)
    lastPrompt = prompt
    lastMapping = mapping
    return result(
      name: mappingConfig.label, seed: seed, prompt: promptConfig, mapping: mapping, training: training,
      outcome: outcome, started: started, remapSeconds: learner.remapSeconds,
      trainImagesPerSecond: Double(learner.trainImages) / max(learner.trainSeconds, 1e-9),
      trainableParameters: prompt.parameterCount + mapping.trainableCount(training),
      inputScale: promptConfig.learnableScale ? Double(prompt.scale) : nil)
  }
}

/// Visual prompting as the epoch loop sees it: remap when the mapping's policy says so, then steps of
/// prompted forward passes, mapped cross-entropy and input gradients, with every trainable tensor (prompt,
/// scale, mapping layer) stepped by one `ParameterOptimizer`.
final class PromptLearner: EpochLearner {
  let experiment: Experiment
  let prompt: any InputPrompt
  let mapping: LabelMapping
  let training: TrainingConfig
  let steps: Int
  /// The run's seed: with `augment`, each training image's augmentation is drawn from (seed, epoch, index).
  let seed: UInt64
  // Everything below is the learner's moving state; `TrialState` saves and restores all of it.
  var rng: SplitMix64
  var optimizer: ParameterOptimizer
  /// Fast ILM: the frequency matrix gathered during the previous epoch.
  var carried: FrequencyMatrix?
  var remapSeconds = 0.0
  var trainSeconds = 0.0
  var trainImages = 0

  init(
    experiment: Experiment, prompt: any InputPrompt, mapping: LabelMapping, training: TrainingConfig, seed: UInt64
  ) {
    self.experiment = experiment
    self.prompt = prompt
    self.mapping = mapping
    self.training = training
    self.seed = seed
    rng = SplitMix64(seed: seed).fork(0x5348)
    optimizer = ParameterOptimizer(
      training, tensors: prompt.trainableTensors(training) + mapping.trainableTensors(training))
    steps = training.steps(forImages: experiment.train.count)
  }

  private func report(_ epoch: Int, step: Int, rate: Double = 0, loss: Double = .nan, phase: String) {
    experiment.progress?(
      TrainingProgress(
        epoch: epoch + 1, epochs: training.epochs, step: step, steps: steps, imagesPerSecond: rate, loss: loss,
        phase: phase))
  }

  func prepareEpoch(_ epoch: Int) throws -> (seconds: Double, remapped: [Int]) {
    guard mapping.needsFrequency(epoch: epoch) else { return (0, []) }
    let t0 = Date()
    let d: FrequencyMatrix
    if mapping.policy.reusesTrainingPasses, let carried {
      d = carried
    } else {
      report(epoch, step: 0, phase: "remap")
      d = experiment.frequencyMatrix(experiment.train, prompt: prompt, topK: mapping.topK)
    }
    let remapped = mapping.update(from: d)
    let seconds = Date().timeIntervalSince(t0)
    remapSeconds += seconds
    return (seconds, remapped)
  }

  func trainEpoch(_ epoch: Int) throws -> (loss: Double, accuracy: Double) {
    let train = experiment.train
    let model = experiment.model
    let s = prompt.config.canvas
    let k = experiment.classCount
    let order = rng.permutation(train.count)
    let stats = StepStatistics(
      sources: model.classCount, targets: k, collectFrequency: mapping.policy.reusesTrainingPasses)
    let trainStart = Date()
    for step in 0..<steps {
      let indices = Array(order[(step * training.batchSize)..<min(train.count, (step + 1) * training.batchSize)])
      let b = indices.count
      var images = train.pixels(indices)
      if training.augment == .trivial {
        images.withUnsafeMutableBufferPointer {
          TrivialAugment.apply(
            to: $0.baseAddress!, count: b, side: train.side, seed: seed, epoch: epoch, indices: indices)
        }
      }
      var x = [Float](repeating: 0, count: b * s * s * 3)
      images.withUnsafeBufferPointer { src in
        x.withUnsafeMutableBufferPointer {
          prompt.apply(src.baseAddress!, count: b, into: $0.baseAddress!, training: true)
        }
      }
      let labels = indices.map { train.labels[$0] }
      let mapping = self.mapping
      let result = model.inputGradient(Tensor(shape: [b, s, s, 3], data: x)) { logits, range in
        logits.withUnsafeBufferPointer { z in
          let rows = range.count
          let target = mapping.targetLogits(z.baseAddress!, rows: rows)
          let (loss, g) = Loss.crossEntropy(logits: target, labels: Array(labels[range]), classes: k, scale: b)
          let grads = mapping.sourceGradient(g, sourceLogits: z.baseAddress!, rows: rows)
          stats.record(
            row: range.lowerBound, loss: Double(loss), target: target, labels: Array(labels[range]), classes: k,
            parameters: grads.parameters, logits: stats.collectFrequency ? z.baseAddress! : nil, rows: rows)
          return grads.source
        }
      }
      var (loss, gradients) = stats.takeBatch()
      guard loss.isFinite, loss <= ChanceLevel.divergenceLimit(classes: k) else {
        throw EngineError(
          "training diverged at epoch \(epoch + 1), step \(step + 1): loss is \(loss) (lower the learning rate)")
      }
      // Every gradient is taken at the current state before any tensor moves.
      let promptGradients = result.gradient.data.withUnsafeBufferPointer { gx in
        images.withUnsafeBufferPointer { prompt.gradients(gx.baseAddress!, images: $0.baseAddress!, count: b) }
      }
      gradients.merge(promptGradients) { _, own in own }
      optimizer.step(
        gradients,
        rate: training.schedule.rate(
          base: training.learningRate, epoch: epoch, epochs: training.epochs, step: step, stepsPerEpoch: steps))
      let elapsed = Date().timeIntervalSince(trainStart)
      report(
        epoch, step: step + 1,
        rate: Double(min(train.count, (step + 1) * training.batchSize)) / max(elapsed, 1e-9), loss: loss,
        phase: "train")
    }
    trainSeconds += Date().timeIntervalSince(trainStart)
    trainImages += min(train.count, steps * training.batchSize)
    if mapping.policy.reusesTrainingPasses { carried = stats.frequency }
    return (stats.meanLoss(steps: steps), stats.accuracy)
  }

  func evaluate(test: Bool) -> Evaluation? {
    guard let set = test ? experiment.test : experiment.validation else { return nil }
    return experiment.evaluate(set, prompt: prompt, mapping: mapping)
  }

  func epochState() -> (mapping: [[Int]]?, precision: Double?, inputScale: Double?) {
    (mapping.sourceMap, mapping.precision, prompt.config.learnableScale ? Double(prompt.scale) : nil)
  }

  func snapshot() -> (delta: [Float], scale: Float, state: LabelMapping.State) {
    (prompt.values, prompt.scale, mapping.state)
  }

  func restore(_ snapshot: (delta: [Float], scale: Float, state: LabelMapping.State)) {
    prompt.values = snapshot.delta
    prompt.scale = snapshot.scale
    mapping.state = snapshot.state
  }
}

/// Loss, accuracy, the mapping's parameter gradients and (fast ILM) the frequency matrix, gathered from worker
/// threads.
///
/// Each micro-batch's contribution is stored under its first row and summed in row order, so the result does
/// not depend on which worker finished first (floating-point addition is not associative).
final class StepStatistics: @unchecked Sendable {
  let lock = NSLock()
  let collectFrequency: Bool
  private var chunks: [Int: (loss: Double, parameters: [String: [Float]])] = [:]
  private var lossSum = 0.0
  private var correct = 0
  private var seen = 0
  var frequency: FrequencyMatrix

  init(sources: Int, targets: Int, collectFrequency: Bool) {
    self.collectFrequency = collectFrequency
    frequency = FrequencyMatrix(sources: collectFrequency ? sources : 1, targets: collectFrequency ? targets : 1)
  }

  func record(
    row: Int, loss l: Double, target: [Float], labels: [Int], classes k: Int, parameters: [String: [Float]],
    logits: UnsafePointer<Float>?, rows: Int
  ) {
    var hits = 0
    target.withUnsafeBufferPointer { t in
      for r in 0..<rows where argmax(t.baseAddress! + r * k, count: k) == labels[r] { hits += 1 }
    }
    lock.lock()
    defer { lock.unlock() }
    chunks[row] = (l, parameters)
    correct += hits
    seen += rows
    if let logits {
      // Counts are small integers in a Double: their sum is exact in any order.
      let s = frequency.sources
      for r in 0..<rows { frequency.add(logits: logits + r * s, target: labels[r]) }
    }
  }

  /// The batch loss (the chunks' losses are already divided by the batch size) and the summed parameter
  /// gradients by name; resets for the next batch.
  func takeBatch() -> (loss: Double, parameters: [String: [Float]]) {
    lock.lock()
    defer { lock.unlock() }
    var loss = 0.0
    var sums: [String: [Float]] = [:]
    for key in chunks.keys.sorted() {
      let c = chunks[key]!
      loss += c.loss
      for (name, g) in c.parameters {
        if var sum = sums[name] {
          for i in 0..<g.count { sum[i] += g[i] }
          sums[name] = sum
        } else {
          sums[name] = g
        }
      }
    }
    chunks.removeAll(keepingCapacity: true)
    lossSum += loss
    return (loss, sums)
  }

  func meanLoss(steps: Int) -> Double { lossSum / Double(max(1, steps)) }
  var accuracy: Double { Double(correct) / Double(max(1, seen)) }
}
