import Foundation
import VPData
import VPModels
import VPTensor

extension Experiment {
  /// The zero-shot mapping baseline: FLM with the untrained prompt (δ = 0, a 0.5-grey border), no training.
  /// What the frozen model's own predictions, remapped once, get right.
  public func zeroShot(prompt promptConfig: PromptConfig, assignment: AssignmentMethod = .greedy) throws -> RunResult {
    try promptConfig.validate()
    let started = Date()
    let prompt = VisualPrompt(promptConfig, normalization: model.normalization)
    let mapping = try LabelMapping(
      MappingConfig(.flm, assignment: assignment), sources: model.classCount, targets: classCount, seed: 0)
    let t0 = Date()
    mapping.update(from: frequencyMatrix(train, prompt: prompt))
    let remap = Date().timeIntervalSince(t0)
    let final = evaluate(test, prompt: prompt, mapping: mapping)
    lastPrompt = prompt
    lastMapping = mapping
    return RunResult(
      name: "zero-shot", model: model.name, dataset: train.name, seed: 0, prompt: promptConfig,
      mapping: mapping.config, training: nil, classNames: train.classNames, trainCount: train.count,
      validationCount: validation?.count ?? 0, testCount: test.count, history: [], selectedEpoch: 0,
      testAccuracy: final.accuracy, perClassAccuracy: final.perClass, confusion: final.confusion,
      mappingPrecision: mapping.precision, finalMapping: mapping.sources,
      finalMappingNames: sourceNames.map { n in mapping.sources.map { $0.map { n[$0] } } },
      frequency: mapping.frequency,
      wallSeconds: Date().timeIntervalSince(started), remapSeconds: remap, trainImagesPerSecond: 0,
      trainableParameters: 0)
  }

  /// The linear-probe baseline: a new `Linear(features → K)` on the frozen penultimate features of the
  /// images as the untrained prompt presents them, trained with `training` (REFERENCE: Adam, lr 0.1);
  /// the epoch is selected on the validation split.
  public func linearProbe(prompt promptConfig: PromptConfig, training: TrainingConfig, seed: UInt64) throws -> RunResult
  {
    try promptConfig.validate()
    try training.validate()
    let started = Date()
    let prompt = VisualPrompt(promptConfig, normalization: model.normalization)
    func features(_ set: ImageSet) -> [Float] {
      var out: [Float] = []
      out.reserveCapacity(set.count * model.featureCount)
      forEachBatch(set, prompt: prompt, features: true) { f, range in
        out += UnsafeBufferPointer(start: f, count: range.count * model.featureCount)
      }
      return out
    }
    let f = model.featureCount
    let k = classCount
    let trainFeatures = features(train)
    let validationFeatures = validation.map(features)
    let testFeatures = features(test)
    var rng = SplitMix64(seed: seed).fork(0x4C50)
    let bound = 1 / Float(f).squareRoot()
    func u() -> Float { (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
    var layer = Linear(
      weight: (0..<(f * k)).map { _ in u() }, bias: (0..<k).map { _ in u() }, inFeatures: f, outFeatures: k)
    var ow = Optimizer(training.optimizer, count: layer.weight.count, weightDecay: training.weightDecay)
    var ob = Optimizer(training.optimizer, count: layer.bias.count)
    let steps = (train.count + training.batchSize - 1) / training.batchSize
    func accuracy(_ feats: [Float], _ labels: [Int], _ l: Linear) -> (Double, [[Int]]) {
      let logits = l(Tensor(shape: [labels.count, f], data: feats)).data
      var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
      for i in 0..<labels.count {
        var best = 0
        for j in 1..<k where logits[i * k + j] > logits[i * k + best] { best = j }
        confusion[labels[i]][best] += 1
      }
      return (Double((0..<k).reduce(0) { $0 + confusion[$1][$1] }) / Double(max(1, labels.count)), confusion)
    }
    var history: [EpochRecord] = []
    var best: (Double, Int, Linear)? = nil
    for epoch in 0..<training.epochs {
      let t0 = Date()
      let order = rng.permutation(train.count)
      var lossSum = 0.0
      var correct = 0
      for step in 0..<steps {
        let idx = Array(order[(step * training.batchSize)..<min(train.count, (step + 1) * training.batchSize)])
        var x = [Float](repeating: 0, count: idx.count * f)
        for (r, i) in idx.enumerated() { for j in 0..<f { x[r * f + j] = trainFeatures[i * f + j] } }
        let xt = Tensor(shape: [idx.count, f], data: x)
        let logits = layer(xt).data
        let labels = idx.map { train.labels[$0] }
        let (loss, g) = Loss.crossEntropy(logits: logits, labels: labels, classes: k)
        guard loss.isFinite else {
          throw EngineError("linear probe diverged at epoch \(epoch + 1), step \(step + 1): loss is \(loss)")
        }
        lossSum += Double(loss)
        for r in 0..<idx.count {
          var b = 0
          for j in 1..<k where logits[r * k + j] > logits[r * k + b] { b = j }
          if b == labels[r] { correct += 1 }
        }
        let grads = layer.gradients(x: xt, outputGradient: Tensor(shape: [idx.count, k], data: g))
        let lr = training.schedule.rate(
          base: training.learningRate, epoch: epoch, epochs: training.epochs, step: step, stepsPerEpoch: steps)
        ow.step(&layer.weight, gradient: grads.weight, lr: lr)
        ob.step(&layer.bias, gradient: grads.bias, lr: lr)
      }
      let va = validationFeatures.map { accuracy($0, validation!.labels, layer).0 }
      history.append(
        EpochRecord(
          epoch: epoch + 1,
          learningRate: training.schedule.rate(
            base: training.learningRate, epoch: epoch, epochs: training.epochs, step: 0, stepsPerEpoch: steps),
          trainLoss: lossSum / Double(steps), trainAccuracy: Double(correct) / Double(train.count),
          validationAccuracy: va, testAccuracy: testEveryEpoch ? accuracy(testFeatures, test.labels, layer).0 : nil,
          seconds: Date().timeIntervalSince(t0), remapSeconds: 0, remappedTargets: [], mapping: nil,
          mappingPrecision: nil))
      let score = va ?? Double(epoch)
      if best == nil || score > best!.0 { best = (score, epoch + 1, layer) }
    }
    let chosen = best!.2
    let (acc, confusion) = accuracy(testFeatures, test.labels, chosen)
    let perClass = (0..<k).map { c -> Double in
      let n = confusion[c].reduce(0, +)
      return n == 0 ? .nan : Double(confusion[c][c]) / Double(n)
    }
    return RunResult(
      name: "linear probe", model: model.name, dataset: train.name, seed: seed, prompt: promptConfig, mapping: nil,
      training: training, classNames: train.classNames, trainCount: train.count,
      validationCount: validation?.count ?? 0,
      testCount: test.count, history: history, selectedEpoch: best!.1, testAccuracy: acc, perClassAccuracy: perClass,
      confusion: confusion, mappingPrecision: nil, finalMapping: nil, finalMappingNames: nil, frequency: nil,
      wallSeconds: Date().timeIntervalSince(started), remapSeconds: 0, trainImagesPerSecond: 0,
      trainableParameters: f * k + k)
  }
}
