import Foundation
import VPData
import VPModels
import VPTensor

extension Experiment {
  /// The zero-shot baseline: the untrained prompt (δ = 0, a 0.5-grey border), no training, and a mapping
  /// computed once — by frequency over the training images (FLM, the default; FreqMap), or fixed: `identity`
  /// (CLIP's own rule when the model's classes are the task's prompts), `semantic`, `rlm`. What the frozen
  /// model's own predictions get right.
  public func zeroShot(prompt promptConfig: PromptConfig, mapping config: MappingConfig = MappingConfig(.flm))
    throws -> RunResult
  {
    try checkForwardPasses(promptConfig, "zero-shot")
    try Self.checkZeroShot(config)
    let started = Date()
    let prompt = promptConfig.makePrompt(normalization: model.normalization, seed: 0)
    let mapping = try LabelMapping(
      config, sources: model.classCount, targets: classCount, seed: 0, context: mappingContext)
    let t0 = Date()
    if config.policy.schedule != .never { mapping.update(from: frequencyMatrix(train, prompt: prompt)) }
    let remap = Date().timeIntervalSince(t0)
    let final = evaluate(test, prompt: prompt, mapping: mapping)
    lastPrompt = prompt
    lastMapping = mapping
    return result(
      name: RunMethod.zeroShot(config).label, seed: 0, prompt: promptConfig, mapping: mapping, training: nil,
      outcome: EpochLoop.Outcome(history: [], selectedEpoch: 0, final: final), started: started,
      remapSeconds: remap, trainImagesPerSecond: 0, trainableParameters: 0)
  }

  /// What a run of forward passes alone (in batches of 64, as `forEachBatch` makes them) is checked for before
  /// it starts: the prompt and the model's input side, and the memory of a batch.
  func checkForwardPasses(_ promptConfig: PromptConfig, _ what: String) throws {
    try check(promptConfig)
    try requireBatchMemory(promptConfig, batch: 64, inputGradient: false, what)
  }

  /// Throws unless `config` is a mapping a zero-shot run can use: computed at most once and not trained.
  public static func checkZeroShot(_ config: MappingConfig) throws {
    let policy = config.policy
    guard policy.form != .linear else {
      throw EngineError("zero-shot: mapping \(config.kind.rawValue) is a trained layer; a zero-shot run trains nothing")
    }
    guard !policy.schedule.remapsDuringTraining else {
      throw EngineError(
        "zero-shot: mapping \(config.kind.rawValue) remaps every epoch; a zero-shot run maps once (use flm or freqmap)")
    }
  }

  /// The linear-probe baseline: a new `Linear(features → K)` on the frozen penultimate features of the
  /// images as the untrained prompt presents them, trained with `training` (REFERENCE: Adam, lr 0.1);
  /// the epoch is selected on the validation split.
  public func linearProbe(prompt promptConfig: PromptConfig, training: TrainingConfig, seed: UInt64) throws -> RunResult
  {
    try checkForwardPasses(promptConfig, "baseline")
    try training.validate()
    let started = Date()
    let prompt = promptConfig.makePrompt(normalization: model.normalization, seed: seed)
    let learner = LinearProbeLearner(experiment: self, prompt: prompt, training: training, seed: seed)
    let outcome = try EpochLoop.run(
      learner, training: training, stepsPerEpoch: learner.steps, testEveryEpoch: testEveryEpoch)
    return result(
      name: "linear probe", seed: seed, prompt: promptConfig, mapping: nil, training: training, outcome: outcome,
      started: started, remapSeconds: 0, trainImagesPerSecond: 0,
      trainableParameters: learner.trainableCount(training))
  }
}

/// The linear probe as the epoch loop sees it: features computed once per split, then plain mini-batch
/// training of one layer (`probe.weight` with weight decay, `probe.bias` without).
final class LinearProbeLearner: EpochLearner, Trainable {
  let training: TrainingConfig
  let steps: Int
  private let labels: (train: [Int], validation: [Int]?, test: [Int])
  private let features: (train: [Float], validation: [Float]?, test: [Float])
  private let featureCount: Int
  private let classCount: Int
  private var rng: SplitMix64
  private(set) var layer: Linear
  private var optimizer: ParameterOptimizer!

  init(experiment: Experiment, prompt: any InputPrompt, training: TrainingConfig, seed: UInt64) {
    let model = experiment.model
    func features(_ set: ImageSet) -> [Float] {
      var out: [Float] = []
      out.reserveCapacity(set.count * model.featureCount)
      experiment.forEachBatch(set, prompt: prompt, features: true) { f, range in
        out += UnsafeBufferPointer(start: f, count: range.count * model.featureCount)
      }
      return out
    }
    let f = model.featureCount
    let k = experiment.classCount
    self.training = training
    featureCount = f
    classCount = k
    self.features = (features(experiment.train), experiment.validation.map(features), features(experiment.test))
    labels = (experiment.train.labels, experiment.validation?.labels, experiment.test.labels)
    rng = SplitMix64(seed: seed).fork(0x4C50)
    let bound = 1 / Float(f).squareRoot()
    var draw = rng
    func u() -> Float { (Float(draw.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
    layer = Linear(
      weight: (0..<(f * k)).map { _ in u() }, bias: (0..<k).map { _ in u() }, inFeatures: f, outFeatures: k)
    rng = draw
    steps = training.steps(forImages: experiment.train.count)
    optimizer = ParameterOptimizer(training, tensors: trainableTensors(training))
  }

  /// The closures hold the learner unowned: its own optimiser keeps them (a strong reference would be a
  /// cycle that leaks every probe's features).
  func trainableTensors(_ training: TrainingConfig) -> [TrainableTensor] {
    [
      TrainableTensor(
        name: "probe.weight", decays: true, read: { [unowned self] in layer.weight },
        write: { [unowned self] in layer.weight = $0 }),
      TrainableTensor(
        name: "probe.bias", decays: false, read: { [unowned self] in layer.bias },
        write: { [unowned self] in layer.bias = $0 }),
    ]
  }

  func prepareEpoch(_ epoch: Int) throws -> (seconds: Double, remapped: [Int]) { (0, []) }

  func trainEpoch(_ epoch: Int) throws -> (loss: Double, accuracy: Double) {
    let (f, k) = (featureCount, classCount)
    let count = labels.train.count
    let order = rng.permutation(count)
    var lossSum = 0.0
    var seen = Evaluation(classes: k)
    for step in 0..<steps {
      let idx = Array(order[(step * training.batchSize)..<min(count, (step + 1) * training.batchSize)])
      var x = [Float](repeating: 0, count: idx.count * f)
      for (r, i) in idx.enumerated() { for j in 0..<f { x[r * f + j] = features.train[i * f + j] } }
      let xt = Tensor(shape: [idx.count, f], data: x)
      let logits = layer(xt).data
      let batchLabels = idx.map { labels.train[$0] }
      let (loss, g) = Loss.crossEntropy(logits: logits, labels: batchLabels, classes: k)
      guard loss.isFinite, Double(loss) <= ChanceLevel.divergenceLimit(classes: k) else {
        throw EngineError("linear probe diverged at epoch \(epoch + 1), step \(step + 1): loss is \(loss)")
      }
      lossSum += Double(loss)
      logits.withUnsafeBufferPointer { seen.add(logits: $0.baseAddress!, labels: batchLabels) }
      let grads = layer.gradients(x: xt, outputGradient: Tensor(shape: [idx.count, k], data: g))
      optimizer.step(
        ["probe.weight": grads.weight, "probe.bias": grads.bias],
        rate: training.schedule.rate(
          base: training.learningRate, epoch: epoch, epochs: training.epochs, step: step, stepsPerEpoch: steps))
    }
    return (lossSum / Double(steps), Double(seen.correct) / Double(max(1, seen.count)))
  }

  func evaluate(test: Bool) -> Evaluation? {
    guard let feats = test ? features.test : features.validation, let set = test ? labels.test : labels.validation
    else { return nil }
    let logits = layer(Tensor(shape: [set.count, featureCount], data: feats)).data
    var evaluation = Evaluation(classes: classCount)
    logits.withUnsafeBufferPointer { evaluation.add(logits: $0.baseAddress!, labels: set) }
    return evaluation
  }

  func epochState() -> (mapping: [[Int]]?, precision: Double?, inputScale: Double?) { (nil, nil, nil) }
  func snapshot() -> Linear { layer }
  func restore(_ snapshot: Linear) { layer = snapshot }
}
