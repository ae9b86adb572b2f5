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

/// How a run learns (or does not): visual prompting with a label mapping, or a baseline.
public enum RunMethod: Codable, Sendable, Equatable {
  /// A trained prompt with this label mapping.
  case prompt(MappingConfig)
  /// A linear layer on the frozen penultimate features.
  case linearProbe
  /// No training: the untrained prompt and a mapping computed once (`Experiment.zeroShot`): by frequency
  /// (FLM, FreqMap), fixed (identity: CLIP's own rule over the task's prompts; semantic; random).
  case zeroShot(MappingConfig)

  /// `ilm`, `itermap(m=5)`, `linear-probe`, `zero-shot`, `zero-shot/identity`.
  public var label: String {
    switch self {
    case .prompt(let mapping): return mapping.label
    case .linearProbe: return "linear-probe"
    case .zeroShot(let mapping):
      return mapping == MappingConfig(.flm) ? "zero-shot" : "zero-shot/" + mapping.label
    }
  }

  /// The mapping, for prompt runs.
  public var mapping: MappingConfig? {
    if case .prompt(let mapping) = self { return mapping }
    return nil
  }

  /// Whether the run has seeds (zero-shot is deterministic and runs once).
  public var isSeeded: Bool {
    switch self {
    case .prompt, .linearProbe: return true
    case .zeroShot: return false
    }
  }
}

/// Visual prompting on a frozen model: data, prompt geometry, mapping, training and evaluation.
///
/// One experiment owns the model and the splits; `run` trains one (method, seed) pair. Selection happens on
/// the validation split; the test split is evaluated once, with the selected state.
public final class Experiment: @unchecked Sendable {
  public let model: ImageClassifier
  public let train: ImageSet
  public let validation: ImageSet?
  public let test: ImageSet
  public let sourceNames: [String]?
  /// The WordNet noun synset (offset) of each source class, for SemanticMap; nil: ImageNet-1k's, loaded when
  /// a mapping needs them.
  public var sourceSynsets: [Int]?
  /// CLIP's text tower for mappings that compare class names by text (SemanticMap with `text=clip`); set by
  /// the front end, nil when it has none.
  public var embedTexts: TextEmbedder?
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

  /// The experiment both front ends build: the splits of `data` on `model`, with the model's own source names
  /// (CLIP's prompts), ImageNet's for a 1000-class model, or `class N`.
  public convenience init(model: ImageClassifier, data: PreparedSplit) throws {
    let fallback = (0..<model.classCount).map { "class \($0)" }
    let names = model.classNames ?? (model.classCount == 1000 ? (try? ImageNetClasses.names()) ?? fallback : fallback)
    try self.init(
      model: model, train: data.train, validation: data.validation, test: data.test, sourceNames: names)
  }

  public var classCount: Int { train.classCount }

  /// What a mapping may need from this experiment.
  var mappingContext: MappingContext {
    let (model, known) = (self.model, sourceSynsets)
    return MappingContext(targetNames: train.classNames, sourceNames: sourceNames, embedTexts: embedTexts) {
      if let known { return known }
      guard model.classCount == 1000 else {
        throw EngineError("mapping: semantic needs the source classes' WordNet synsets (ImageNet-1k models only)")
      }
      return try ImageNetClasses.wordNetSynsets()
    }
  }

  /// Trains (or evaluates) `method` for one seed.
  public func run(_ method: RunMethod, prompt: PromptConfig, training: TrainingConfig, seed: UInt64) throws
    -> RunResult
  {
    switch method {
    case .prompt(let mapping): return try run(prompt: prompt, mapping: mapping, training: training, seed: seed)
    case .linearProbe: return try linearProbe(prompt: prompt, training: training, seed: seed)
    case .zeroShot(let mapping): return try zeroShot(prompt: prompt, mapping: mapping)
    }
  }

  /// Checks a run's prompt: its geometry, and that the model takes its canvas (a ViT or CLIP: a multiple of its
  /// patch size).
  func check(_ prompt: PromptConfig) throws {
    try prompt.validate()
    try model.checkInput(side: prompt.canvas)
  }

  /// Throws, naming `what` asks, unless a batch of `batch` images fits in memory: its images on the prompt's
  /// canvas (`PromptConfig.batchBytes`) and the model's activations over them — a visual-prompting step's, which
  /// keeps what its input gradient needs, with `inputGradient`, otherwise a forward pass's.
  func requireBatchMemory(_ prompt: PromptConfig, batch: Int, inputGradient: Bool, _ what: String) throws {
    let canvas = prompt.canvas
    let images = batch == 1 ? "1 image" : "\(batch) images"
    try requireMemory(prompt.batchBytes(batch), "\(what): a batch of \(images) on a \(canvas) px canvas needs", "")
    let activations = model.peakBytes(side: canvas, batch: batch, inputGradient: inputGradient)
    if inputGradient {
      try requireMemory(
        activations, "\(what): a step of \(model.name) over \(images) on a \(canvas) px canvas needs",
        "for the activations its input gradient keeps")
    } else {
      try requireMemory(
        activations, "\(what): \(model.name)'s forward pass over \(images) on a \(canvas) px canvas needs", "")
    }
  }

  // MARK: - Prompted forward passes

  /// Runs the model on prompted images of `set` in batches, calling `body(outputs, rows)` for each batch with
  /// the logits, or with the penultimate features when `features` is set.
  func forEachBatch(
    _ set: ImageSet, prompt: any InputPrompt, batchSize: Int = 64, features: Bool = false,
    _ body: (_ outputs: UnsafePointer<Float>, _ indices: Range<Int>) -> Void
  ) {
    let s = prompt.config.canvas
    var start = 0
    while start < set.count {
      let end = min(set.count, start + batchSize)
      var x = [Float](repeating: 0, count: (end - start) * s * s * 3)
      set.pixels(start..<end).withUnsafeBufferPointer { src in
        x.withUnsafeMutableBufferPointer { prompt.apply(src.baseAddress!, count: end - start, into: $0.baseAddress!) }
      }
      let batch = Tensor(shape: [end - start, s, s, 3], data: x)
      let outputs = features ? model.features(batch) : model.logits(batch)
      outputs.data.withUnsafeBufferPointer { body($0.baseAddress!, start..<end) }
      start = end
    }
  }

  /// The frequency matrix of `set` through `prompt` (top-1 counts, or top-k probabilities when `topK > 0`).
  public func frequencyMatrix(_ set: ImageSet, prompt: any InputPrompt, topK: Int = 0) -> FrequencyMatrix {
    var d = FrequencyMatrix(sources: model.classCount, targets: set.classCount)
    let classes = model.classCount
    forEachBatch(set, prompt: prompt) { logits, range in
      for (r, i) in range.enumerated() { d.add(logits: logits + r * classes, target: set.labels[i], topK: topK) }
    }
    return d
  }

  /// Accuracy, per-class accuracy and confusion matrix of `set` through the prompt and mapping.
  public func evaluate(_ set: ImageSet, prompt: any InputPrompt, mapping: LabelMapping) -> Evaluation {
    var evaluation = Evaluation(classes: set.classCount)
    forEachBatch(set, prompt: prompt) { logits, range in
      let t = mapping.targetLogits(logits, rows: range.count)
      t.withUnsafeBufferPointer { evaluation.add(logits: $0.baseAddress!, labels: set.labels[range]) }
    }
    return evaluation
  }

  // MARK: - Results

  /// The one `RunResult` builder: the experiment's data fields, and what the run produced.
  func result(
    name: String, seed: UInt64, prompt: PromptConfig, mapping: LabelMapping?, training: TrainingConfig?,
    outcome: EpochLoop.Outcome, started: Date, remapSeconds: Double, trainImagesPerSecond: Double,
    trainableParameters: Int, inputScale: Double? = nil
  ) -> RunResult {
    let sourceMap = mapping?.sourceMap
    let names = sourceNames
    return RunResult(
      name: name, model: model.name, dataset: train.name, seed: seed, prompt: prompt, mapping: mapping?.config,
      training: training, classNames: train.classNames, trainCount: train.count,
      validationCount: validation?.count ?? 0, testCount: test.count, history: outcome.history,
      selectedEpoch: outcome.selectedEpoch, testAccuracy: outcome.final.accuracy,
      perClassAccuracy: outcome.final.perClass, confusion: outcome.final.confusion,
      mappingPrecision: mapping?.precision, finalMapping: sourceMap,
      finalMappingNames: names.flatMap { n in sourceMap?.map { $0.map { n[$0] } } }, frequency: mapping?.frequency,
      wallSeconds: Date().timeIntervalSince(started), remapSeconds: remapSeconds,
      trainImagesPerSecond: trainImagesPerSecond, trainableParameters: trainableParameters, inputScale: inputScale,
      warning: training == nil
        ? nil : ChanceLevel.warning(accuracy: outcome.final.accuracy, classes: classCount, count: test.count))
  }

  /// The prompt and mapping of the last `run` (after selection), for reports and saving.
  public internal(set) var lastPrompt: (any InputPrompt)?
  public internal(set) var lastMapping: LabelMapping?
}
