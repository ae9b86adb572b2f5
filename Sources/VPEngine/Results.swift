import Foundation

/// Training hyper-parameters.
public struct TrainingConfig: Codable, Sendable, Equatable {
  public var epochs: Int
  public var batchSize: Int
  public var learningRate: Double
  public var optimizer: OptimizerKind
  public var schedule: ScheduleKind
  /// FullyMap's layer; nil for `learningRate`.
  public var mappingLearningRate: Double?
  public var weightDecay: Double
  /// At most this many batches per epoch (nil: the whole training split): smoke tests and measurements.
  public var stepsPerEpoch: Int? = nil
  /// Training-time augmentation of the training batches (nil: none; never the validation or test images, nor
  /// the frequency matrix of a remap). Nil rather than `.none` keeps the JSON, and so the cache keys, of
  /// configurations written before it existed.
  public var augment: Augmentation? = nil

  /// The batches an epoch over `count` training images takes.
  public func steps(forImages count: Int) -> Int {
    let all = (count + batchSize - 1) / batchSize
    return stepsPerEpoch.map { min($0, all) } ?? all
  }

  /// ILM-VP's recipe for small data: Adam, lr 0.01, MultiStep at 50 %/72 %, batch 64.
  public init(
    epochs: Int = 10, batchSize: Int = 64, learningRate: Double = 0.01, optimizer: OptimizerKind = .adam,
    schedule: ScheduleKind = .multistep, mappingLearningRate: Double? = nil, weightDecay: Double = 0
  ) {
    self.epochs = epochs
    self.batchSize = batchSize
    self.learningRate = learningRate
    self.optimizer = optimizer
    self.schedule = schedule
    self.mappingLearningRate = mappingLearningRate
    self.weightDecay = weightDecay
  }

  public func validate() throws {
    guard epochs >= 1 else { throw EngineError("training: epochs must be ≥ 1, got \(epochs)") }
    guard batchSize >= 1 else { throw EngineError("training: batch size must be ≥ 1, got \(batchSize)") }
    guard learningRate > 0, learningRate.isFinite else {
      throw EngineError("training: learning rate must be positive, got \(learningRate)")
    }
    if let stepsPerEpoch, stepsPerEpoch < 1 {
      throw EngineError("training: steps per epoch must be ≥ 1, got \(stepsPerEpoch)")
    }
  }
}

/// What happened in one epoch.
public struct EpochRecord: Codable, Sendable, Equatable {
  /// 1-based.
  public var epoch: Int
  public var learningRate: Double
  public var trainLoss: Double
  /// Accuracy on the training batches as they were seen (prompt changing during the epoch).
  public var trainAccuracy: Double
  public var validationAccuracy: Double?
  /// Test accuracy after this epoch, when per-epoch test curves were requested (never used for selection).
  public var testAccuracy: Double?
  public var seconds: Double
  /// Time spent estimating the frequency matrix before this epoch.
  public var remapSeconds: Double
  /// The targets whose source classes changed at the start of this epoch.
  public var remappedTargets: [Int]
  /// The sources of each target during this epoch (one-to-one and m-to-1 mappings).
  public var mapping: [[Int]]?
  public var mappingPrecision: Double?
  /// The learnable input scale σ at the end of this epoch (nil when the scale is fixed).
  public var inputScale: Double? = nil
}

/// The outcome of one training run (one mapping, one seed).
public struct RunResult: Codable, Sendable {
  public var name: String
  public var model: String
  public var dataset: String
  public var seed: UInt64
  public var prompt: PromptConfig
  public var mapping: MappingConfig?
  public var training: TrainingConfig?
  public var classNames: [String]
  public var trainCount: Int
  public var validationCount: Int
  public var testCount: Int
  public var history: [EpochRecord]
  /// The epoch whose state was kept (best validation accuracy; the last epoch without a validation split).
  public var selectedEpoch: Int
  public var testAccuracy: Double
  public var perClassAccuracy: [Double]
  /// `confusion[true][predicted]` on the test split.
  public var confusion: [[Int]]
  public var mappingPrecision: Double?
  /// The final sources of each target, and their ImageNet names.
  public var finalMapping: [[Int]]?
  public var finalMappingNames: [[String]]?
  public var frequency: FrequencyMatrix?
  public var wallSeconds: Double
  public var remapSeconds: Double
  public var trainImagesPerSecond: Double
  public var trainableParameters: Int
  /// The selected state's learnable input scale σ (nil when the scale is fixed).
  public var inputScale: Double? = nil
  /// Set when the test accuracy cannot be told apart from chance (`ChanceLevel`): the run learned nothing
  /// measurable.
  public var warning: String? = nil
}

/// Whether an accuracy is distinguishable from guessing: above `1/K` by more than two standard errors of a
/// binomial proportion over the test images.
public enum ChanceLevel {
  /// `1/K + 2 √(p (1 − p) / n)` with `p = 1/K`.
  public static func threshold(classes: Int, count: Int) -> Double {
    let p = 1 / Double(max(1, classes))
    return p + 2 * (p * (1 - p) / Double(max(1, count))).squareRoot()
  }

  /// The warning for `accuracy` over `count` test images of `classes` classes, or nil when it is clearly
  /// above chance.
  public static func warning(accuracy: Double, classes: Int, count: Int) -> String? {
    guard classes > 1, accuracy <= threshold(classes: classes, count: count) else { return nil }
    return String(
      format:
        "test accuracy %.1f %% is within two standard errors of chance (%.1f %% for %d classes over %d test images): the run learned nothing measurable (check the learning rate and the data)",
      accuracy * 100, 100 / Double(classes), classes, count)
  }

  /// The loss above which training has diverged though it is still finite: a thousand times the loss of
  /// guessing (`ln K`), or 1000.
  public static func divergenceLimit(classes: Int) -> Double { 1000 * max(1, log(Double(max(2, classes)))) }
}

/// The JSON form of results, shared by `vpbook train --json`, the notebook cache and the notebook manifest:
/// sorted keys, and NaN and infinities (e.g. the accuracy of a class with no test images) as the strings
/// "nan", "inf" and "-inf".
public enum ResultsJSON {
  public static func encoder(pretty: Bool = false) -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
  }

  public static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return decoder
  }
}

/// Mean and (sample) standard deviation over seeds.
public struct Summary: Codable, Sendable, Equatable {
  public var mean: Double
  public var std: Double
  public var n: Int
  public init(_ values: [Double]) {
    n = values.count
    mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    if values.count > 1 {
      let m = mean
      std = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    } else {
      std = 0
    }
  }
  /// `71.3 ± 0.8` (percent when `percent`).
  public func formatted(percent: Bool = true, decimals: Int = 1) -> String {
    let scale = percent ? 100.0 : 1.0
    return String(format: "%.\(decimals)f ± %.\(decimals)f", mean * scale, std * scale)
  }
}
