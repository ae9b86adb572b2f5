import Foundation
import VPData
import VPModels
import VPTensor

/// Progress of a training run, for progress bars.
public struct TrainingProgress: Sendable {
  public var epoch: Int
  public var epochs: Int
  public var step: Int
  public var steps: Int
  public var imagesPerSecond: Double
  public var loss: Double
  public var phase: String
}

/// Visual prompting on a frozen model: data, prompt geometry, mapping, training and evaluation.
///
/// One experiment owns the model and the splits; `run` trains one (mapping, seed) pair. Selection happens on
/// the validation split; the test split is evaluated once, with the selected state.
public final class Experiment: @unchecked Sendable {
  public let model: ImageClassifier
  public let train: ImageSet
  public let validation: ImageSet?
  public let test: ImageSet
  public let sourceNames: [String]?
  /// The WordNet noun synset (offset) of each source class, for SemanticMap.
  public var sourceSynsets: [Int]?
  /// Called with progress; set by a command-line front end.
  public var progress: (@Sendable (TrainingProgress) -> Void)?
  /// Evaluate the test split after every epoch too (for per-epoch curves; never used for selection).
  public var testEveryEpoch = false

  public init(
    model: ImageClassifier, train: ImageSet, validation: ImageSet?, test: ImageSet, sourceNames: [String]? = nil
  )
    throws
  {
    guard train.count > 0 else { throw EngineError("data: the training split is empty") }
    guard test.count > 0 else { throw EngineError("data: the test split is empty") }
    guard train.classNames == test.classNames, validation.map({ $0.classNames == train.classNames }) ?? true else {
      throw EngineError("data: train, validation and test splits have different classes")
    }
    guard train.side == test.side, validation.map({ $0.side == train.side }) ?? true else {
      throw EngineError("data: splits have different image sizes")
    }
    self.model = model
    self.train = train
    self.validation = validation
    self.test = test
    self.sourceNames = sourceNames
  }

  public var classCount: Int { train.classCount }

  // MARK: - Prompted forward passes

  /// Runs the model on prompted images of `set` in batches, calling `body(outputs, rows)` for each batch with
  /// the logits, or with the penultimate features when `features` is set.
  func forEachBatch(
    _ set: ImageSet, prompt: VisualPrompt, batchSize: Int = 64, features: Bool = false,
    _ body: (_ outputs: UnsafePointer<Float>, _ indices: Range<Int>) -> Void
  ) {
    let s = prompt.config.canvas
    var start = 0
    while start < set.count {
      let end = min(set.count, start + batchSize)
      var x = [Float](repeating: 0, count: (end - start) * s * s * 3)
      set.images.withUnsafeBufferPointer { src in
        x.withUnsafeMutableBufferPointer { dst in
          prompt.apply(src.baseAddress! + start * set.pixelsPerImage, count: end - start, into: dst.baseAddress!)
        }
      }
      let batch = Tensor(shape: [end - start, s, s, 3], data: x)
      let outputs = features ? model.features(batch) : model.logits(batch)
      outputs.data.withUnsafeBufferPointer { body($0.baseAddress!, start..<end) }
      start = end
    }
  }

  /// The frequency matrix of `set` through `prompt` (top-1 counts, or top-k probabilities when `topK > 0`).
  public func frequencyMatrix(_ set: ImageSet, prompt: VisualPrompt, topK: Int = 0) -> FrequencyMatrix {
    var d = FrequencyMatrix(sources: model.classCount, targets: set.classCount)
    let classes = model.classCount
    forEachBatch(set, prompt: prompt) { logits, range in
      for (r, i) in range.enumerated() { d.add(logits: logits + r * classes, target: set.labels[i], topK: topK) }
    }
    return d
  }

  /// Accuracy, per-class accuracy and confusion matrix of `set` through the prompt and mapping.
  public func evaluate(_ set: ImageSet, prompt: VisualPrompt, mapping: LabelMapping) -> (
    accuracy: Double, perClass: [Double], confusion: [[Int]]
  ) {
    let k = set.classCount
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
    forEachBatch(set, prompt: prompt) { logits, range in
      let t = mapping.targetLogits(logits, rows: range.count)
      for (r, i) in range.enumerated() {
        var best = 0
        for j in 1..<k where t[r * k + j] > t[r * k + best] { best = j }
        confusion[set.labels[i]][best] += 1
      }
    }
    let correct = (0..<k).reduce(0) { $0 + confusion[$1][$1] }
    let perClass = (0..<k).map { c -> Double in
      let n = confusion[c].reduce(0, +)
      return n == 0 ? .nan : Double(confusion[c][c]) / Double(n)
    }
    return (Double(correct) / Double(max(1, set.count)), perClass, confusion)
  }

  // MARK: - Training

  /// Trains a prompt (and the mapping's parameters, if any) and evaluates it.
  public func run(
    prompt promptConfig: PromptConfig, mapping mappingConfig: MappingConfig, training: TrainingConfig, seed: UInt64
  ) throws -> RunResult {
    try promptConfig.validate()
    try training.validate()
    guard promptConfig.imageSide == train.side else {
      throw EngineError(
        "prompt: the data was prepared at \(train.side) px but the prompt places \(promptConfig.imageSide) px images")
    }
    let started = Date()
    let prompt = VisualPrompt(promptConfig, normalization: model.normalization)
    let mapping = try LabelMapping(mappingConfig, sources: model.classCount, targets: classCount, seed: seed)
    if mappingConfig.kind == .semantic {
      guard let synsets = sourceSynsets, synsets.count == model.classCount else {
        throw EngineError("mapping: semantic needs the source classes' WordNet synsets (ImageNet-1k models only)")
      }
      mapping.setSemantic(
        similarity: SemanticSimilarity.matrix(
          targetNames: train.classNames, imageNetSynsets: synsets, wordNet: try WordNet()))
    }
    var rng = SplitMix64(seed: seed).fork(0x5348)
    var promptOptimizer = Optimizer(training.optimizer, count: prompt.delta.count, weightDecay: training.weightDecay)
    var weightOptimizer = mapping.linear.map { Optimizer(training.optimizer, count: $0.weight.count) }
    var biasOptimizer = mapping.linear.map { Optimizer(training.optimizer, count: $0.bias.count) }
    // AutoVP trains the input scale with the prompt's optimizer and learning rate.
    var scaleOptimizer = promptConfig.learnableScale ? Optimizer(training.optimizer, count: 1) : nil
    let steps = (train.count + training.batchSize - 1) / training.batchSize
    let s = promptConfig.canvas
    let classes = model.classCount
    let k = classCount
    var history: [EpochRecord] = []
    var best: (accuracy: Double, epoch: Int, delta: [Float], scale: Float, state: LabelMapping.State)? = nil
    var remapTotal = 0.0
    var trainImages = 0
    var trainSeconds = 0.0
    var carried: FrequencyMatrix? = nil  // fast ILM: the estimate gathered during the previous epoch

    for epoch in 0..<training.epochs {
      let epochStart = Date()
      var remapSeconds = 0.0
      var remapped: [Int] = []
      if mapping.needsFrequency(epoch: epoch) {
        let t0 = Date()
        let d: FrequencyMatrix
        if mappingConfig.kind == .fastILM, let carried {
          d = carried
        } else {
          progress?(
            TrainingProgress(
              epoch: epoch + 1, epochs: training.epochs, step: 0, steps: steps, imagesPerSecond: 0, loss: .nan,
              phase: "remap"))
          d = frequencyMatrix(train, prompt: prompt, topK: mapping.topK)
        }
        remapped = mapping.update(from: d)
        remapSeconds = Date().timeIntervalSince(t0)
        remapTotal += remapSeconds
      }
      let lr = { (step: Int) in
        training.schedule.rate(
          base: training.learningRate, epoch: epoch, epochs: training.epochs, step: step, stepsPerEpoch: steps)
      }
      let order = rng.permutation(train.count)
      let stats = StepStatistics(sources: classes, targets: k, collectFrequency: mappingConfig.kind == .fastILM)
      let trainStart = Date()
      for step in 0..<steps {
        let indices = Array(order[(step * training.batchSize)..<min(train.count, (step + 1) * training.batchSize)])
        let b = indices.count
        let batch = train.subset(indices)
        var x = [Float](repeating: 0, count: b * s * s * 3)
        batch.images.withUnsafeBufferPointer { src in
          x.withUnsafeMutableBufferPointer { prompt.apply(src.baseAddress!, count: b, into: $0.baseAddress!) }
        }
        let labels = batch.labels
        let result = model.inputGradient(Tensor(shape: [b, s, s, 3], data: x)) { logits, range in
          logits.withUnsafeBufferPointer { z in
            let rows = range.count
            let target = mapping.targetLogits(z.baseAddress!, rows: rows)
            let (loss, g) = Loss.crossEntropy(logits: target, labels: Array(labels[range]), classes: k, scale: b)
            let grads = mapping.sourceGradient(g, sourceLogits: z.baseAddress!, rows: rows)
            stats.record(
              row: range.lowerBound, loss: Double(loss), target: target, labels: Array(labels[range]), classes: k,
              weight: grads.weight,
              bias: grads.bias, logits: stats.collectFrequency ? z.baseAddress! : nil, rows: rows)
            return grads.source
          }
        }
        let batchStatistics = stats.takeBatch()
        let loss = batchStatistics.loss
        guard loss.isFinite else {
          throw EngineError(
            "training diverged at epoch \(epoch + 1), step \(step + 1): loss is \(loss) (lower the learning rate)")
        }
        let rate = lr(step)
        let gDelta = result.gradient.data.withUnsafeBufferPointer { prompt.gradient($0.baseAddress!, count: b) }
        if scaleOptimizer != nil {
          // Both gradients are taken at the current σ before either parameter moves.
          let gScale = result.gradient.data.withUnsafeBufferPointer { gx in
            batch.images.withUnsafeBufferPointer {
              prompt.scaleGradient(gx.baseAddress!, images: $0.baseAddress!, count: b)
            }
          }
          var sigma = [prompt.scale]
          scaleOptimizer!.step(&sigma, gradient: [Float(gScale)], lr: rate)
          prompt.scale = sigma[0]  // clamped to VisualPrompt.scaleRange
        }
        promptOptimizer.step(&prompt.delta, gradient: gDelta, lr: rate)
        if var layer = mapping.linear, let gw = batchStatistics.weight, let gb = batchStatistics.bias {
          let mlr = rate * (training.mappingLearningRate ?? training.learningRate) / training.learningRate
          weightOptimizer!.step(&layer.weight, gradient: gw, lr: mlr)
          biasOptimizer!.step(&layer.bias, gradient: gb, lr: mlr)
          mapping.linear = layer
        }
        let elapsed = Date().timeIntervalSince(trainStart)
        progress?(
          TrainingProgress(
            epoch: epoch + 1, epochs: training.epochs, step: step + 1, steps: steps,
            imagesPerSecond: Double(min(train.count, (step + 1) * training.batchSize)) / max(elapsed, 1e-9), loss: loss,
            phase: "train"))
      }
      trainSeconds += Date().timeIntervalSince(trainStart)
      trainImages += train.count
      if mappingConfig.kind == .fastILM { carried = stats.frequency }
      let validationAccuracy = validation.map { evaluate($0, prompt: prompt, mapping: mapping).accuracy }
      let testAccuracy = testEveryEpoch ? evaluate(test, prompt: prompt, mapping: mapping).accuracy : nil
      history.append(
        EpochRecord(
          epoch: epoch + 1, learningRate: lr(0), trainLoss: stats.meanLoss(steps: steps), trainAccuracy: stats.accuracy,
          validationAccuracy: validationAccuracy, testAccuracy: testAccuracy,
          seconds: Date().timeIntervalSince(epochStart), remapSeconds: remapSeconds, remappedTargets: remapped,
          mapping: mapping.sources.isEmpty ? nil : mapping.sources, mappingPrecision: mapping.precision,
          inputScale: promptConfig.learnableScale ? Double(prompt.scale) : nil))
      let score = validationAccuracy ?? Double(epoch)
      if best == nil || score > best!.accuracy {
        best = (score, epoch + 1, prompt.delta, prompt.scale, mapping.state)
      }
    }
    // Restore the selected state and touch the test split once.
    if let best {
      prompt.delta = best.delta
      prompt.scale = best.scale
      mapping.state = best.state
    }
    let final = evaluate(test, prompt: prompt, mapping: mapping)
    let names = sourceNames
    let finalMapping = mapping.sources.isEmpty ? nil : mapping.sources
    lastPrompt = prompt
    lastMapping = mapping
    return RunResult(
      name: mappingConfig.label, model: model.name, dataset: train.name, seed: seed, prompt: promptConfig,
      mapping: mappingConfig, training: training, classNames: train.classNames, trainCount: train.count,
      validationCount: validation?.count ?? 0, testCount: test.count, history: history,
      selectedEpoch: best?.epoch ?? training.epochs, testAccuracy: final.accuracy, perClassAccuracy: final.perClass,
      confusion: final.confusion, mappingPrecision: mapping.precision, finalMapping: finalMapping,
      finalMappingNames: names.flatMap { n in finalMapping?.map { $0.map { n[$0] } } }, frequency: mapping.frequency,
      wallSeconds: Date().timeIntervalSince(started), remapSeconds: remapTotal,
      trainImagesPerSecond: Double(trainImages) / max(trainSeconds, 1e-9),
      trainableParameters: prompt.parameterCount + (mapping.linear.map { $0.weight.count + $0.bias.count } ?? 0),
      inputScale: promptConfig.learnableScale ? Double(prompt.scale) : nil)
  }

  /// The prompt and mapping of the last `run` (after selection), for reports and saving.
  public internal(set) var lastPrompt: VisualPrompt?
  public internal(set) var lastMapping: LabelMapping?
}

/// Loss, accuracy, FullyMap gradients and (fast ILM) the frequency matrix, gathered from worker threads.
///
/// Each micro-batch's contribution is stored under its first row and summed in row order, so the result does
/// not depend on which worker finished first (floating-point addition is not associative).
final class StepStatistics: @unchecked Sendable {
  let lock = NSLock()
  let collectFrequency: Bool
  private var chunks: [Int: (loss: Double, weight: [Float]?, bias: [Float]?)] = [:]
  private var lossSum = 0.0
  private var correct = 0
  private var seen = 0
  var frequency: FrequencyMatrix

  init(sources: Int, targets: Int, collectFrequency: Bool) {
    self.collectFrequency = collectFrequency
    frequency = FrequencyMatrix(sources: collectFrequency ? sources : 1, targets: collectFrequency ? targets : 1)
  }

  func record(
    row: Int, loss l: Double, target: [Float], labels: [Int], classes k: Int, weight: [Float]?, bias: [Float]?,
    logits: UnsafePointer<Float>?, rows: Int
  ) {
    var hits = 0
    for r in 0..<rows {
      var best = 0
      for j in 1..<k where target[r * k + j] > target[r * k + best] { best = j }
      if best == labels[r] { hits += 1 }
    }
    lock.lock()
    defer { lock.unlock() }
    chunks[row] = (l, weight, bias)
    correct += hits
    seen += rows
    if let logits {
      // Counts are small integers in a Double: their sum is exact in any order.
      let s = frequency.sources
      for r in 0..<rows { frequency.add(logits: logits + r * s, target: labels[r]) }
    }
  }

  /// The batch loss (the chunks' losses are already divided by the batch size) and, for FullyMap, the layer's
  /// gradients; resets for the next batch.
  func takeBatch() -> (loss: Double, weight: [Float]?, bias: [Float]?) {
    lock.lock()
    defer { lock.unlock() }
    var loss = 0.0
    var gw: [Float]? = nil
    var gb: [Float]? = nil
    for key in chunks.keys.sorted() {
      let c = chunks[key]!
      loss += c.loss
      if let w = c.weight {
        if gw == nil { gw = w } else { for i in 0..<w.count { gw![i] += w[i] } }
      }
      if let b = c.bias {
        if gb == nil { gb = b } else { for i in 0..<b.count { gb![i] += b[i] } }
      }
    }
    chunks.removeAll(keepingCapacity: true)
    lossSum += loss
    return (loss, gw, gb)
  }

  func meanLoss(steps: Int) -> Double { lossSum / Double(max(1, steps)) }
  var accuracy: Double { Double(correct) / Double(max(1, seen)) }
}

extension LabelMapping {
  /// Everything that defines the mapping's current behaviour (for selection and restore).
  public struct State: Sendable {
    var sources: [[Int]]
    var omega: [Float]
    var linear: Linear?
    var frequency: FrequencyMatrix?
  }
}
