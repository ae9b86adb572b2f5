import Foundation
import VPData
import VPTensor

/// Floats stored exactly and compactly in JSON: their little-endian bytes in base64.
public struct PackedFloats: Codable, Sendable, Equatable {
  public var values: [Float]

  public init(_ values: [Float]) { self.values = values }

  public init(from decoder: Decoder) throws {
    let bits: [UInt32] = try unpack(decoder)
    values = bits.map(Float.init(bitPattern:))
  }

  public func encode(to encoder: Encoder) throws { try pack(values.map(\.bitPattern), encoder) }
}

/// Doubles stored like `PackedFloats`.
public struct PackedDoubles: Codable, Sendable, Equatable {
  public var values: [Double]

  public init(_ values: [Double]) { self.values = values }

  public init(from decoder: Decoder) throws {
    let bits: [UInt64] = try unpack(decoder)
    values = bits.map(Double.init(bitPattern:))
  }

  public func encode(to encoder: Encoder) throws { try pack(values.map(\.bitPattern), encoder) }
}

private func pack<T: FixedWidthInteger>(_ words: [T], _ encoder: Encoder) throws {
  var bytes = Data(capacity: words.count * MemoryLayout<T>.size)
  for word in words { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
  var container = encoder.singleValueContainer()
  try container.encode(bytes.base64EncodedString())
}

private func unpack<T: FixedWidthInteger>(_ decoder: Decoder) throws -> [T] {
  let container = try decoder.singleValueContainer()
  let text = try container.decode(String.self)
  let size = MemoryLayout<T>.size
  guard let bytes = Data(base64Encoded: text), bytes.count % size == 0 else {
    throw DecodingError.dataCorruptedError(
      in: container, debugDescription: "expected base64 of \(size)-byte little-endian values")
  }
  return bytes.withUnsafeBytes { raw in
    (0..<bytes.count / size).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
  }
}

/// A prompt run's learned state at one moment: the prompt and the label mapping.
public struct PromptState: Codable, Sendable, Equatable {
  public var delta: PackedFloats
  public var scale: Float
  public var sources: [[Int]]
  public var omega: PackedFloats
  public var linearWeight: PackedFloats?
  public var linearBias: PackedFloats?
  public var frequency: FrequencyState?
}

/// A frequency matrix, stored exactly.
public struct FrequencyState: Codable, Sendable, Equatable {
  public var sources: Int
  public var targets: Int
  public var counts: PackedDoubles

  init(_ d: FrequencyMatrix) {
    sources = d.sources
    targets = d.targets
    counts = PackedDoubles(d.counts)
  }

  var matrix: FrequencyMatrix { FrequencyMatrix(sources: sources, targets: targets, counts: counts.values) }
}

/// Everything a prompt run needs to continue after epoch `epochs` exactly as if it had not stopped: the
/// current prompt and mapping, the optimiser's moments, the shuffling generator's position, fast ILM's carried
/// frequency matrix, the records so far and the state selected on the validation split.
///
/// A search stops a trial at a rung and resumes it from this when it is promoted; resuming gives the same
/// numbers, bit for bit, as an uninterrupted run of the same configuration on the same machine.
public struct TrialState: Codable, Sendable {
  /// Epochs trained so far.
  public var epochs: Int
  public var history: [EpochRecord]
  /// The epoch (1-based) whose state is selected, and its validation accuracy.
  public var selectedEpoch: Int
  public var selectedScore: Double
  public var selected: PromptState
  public var current: PromptState
  public var optimizer: [String: Optimizer.Moments]
  public var rng: UInt64
  public var carried: FrequencyState?
  public var remapSeconds: Double
  public var trainSeconds: Double
  public var trainImages: Int
}

extension PromptLearner {
  fileprivate func promptState(_ snapshot: Snapshot) -> PromptState {
    PromptState(
      delta: PackedFloats(snapshot.delta), scale: snapshot.scale, sources: snapshot.state.sources,
      omega: PackedFloats(snapshot.state.omega), linearWeight: snapshot.state.linear.map { PackedFloats($0.weight) },
      linearBias: snapshot.state.linear.map { PackedFloats($0.bias) },
      frequency: snapshot.state.frequency.map(FrequencyState.init))
  }

  fileprivate func snapshot(_ state: PromptState) throws -> Snapshot {
    let current = mapping.state
    guard state.delta.values.count == prompt.values.count else {
      throw EngineError(
        "trial state: the prompt has \(state.delta.values.count) values, this run's has \(prompt.values.count)")
    }
    var linear = current.linear
    if var layer = linear {
      guard let weight = state.linearWeight?.values, let bias = state.linearBias?.values,
        weight.count == layer.weight.count, bias.count == layer.bias.count
      else { throw EngineError("trial state: the mapping's layer does not match this run's") }
      layer.weight = weight
      layer.bias = bias
      linear = layer
    }
    let (s, k) = (mapping.sourceCount, mapping.targetCount)
    guard [0, s * k].contains(state.omega.values.count), [0, k].contains(state.sources.count),
      state.sources.allSatisfy({ $0.allSatisfy { (0..<s).contains($0) } })
    else {
      throw EngineError("trial state: the label mapping does not match this run's")
    }
    return (
      state.delta.values, state.scale,
      LabelMapping.State(
        sources: state.sources, omega: state.omega.values, linear: linear, frequency: state.frequency?.matrix)
    )
  }

  func save(_ progress: EpochLoop.Progress<Snapshot>) -> TrialState {
    let best = progress.best!
    return TrialState(
      epochs: progress.epochsDone, history: progress.history, selectedEpoch: best.epoch, selectedScore: best.score,
      selected: promptState(best.snapshot), current: promptState(snapshot()), optimizer: optimizer.moments,
      rng: rng.state, carried: carried.map(FrequencyState.init), remapSeconds: remapSeconds,
      trainSeconds: trainSeconds, trainImages: trainImages)
  }

  func load(_ state: TrialState) throws -> EpochLoop.Progress<Snapshot> {
    restore(try snapshot(state.current))
    let known = optimizer.moments
    guard Set(known.keys) == Set(state.optimizer.keys),
      known.allSatisfy({ state.optimizer[$0.key]!.m.values.count == $0.value.m.values.count })
    else { throw EngineError("trial state: the optimiser's tensors do not match this run's") }
    optimizer.moments = state.optimizer
    rng.state = state.rng
    carried = state.carried?.matrix
    remapSeconds = state.remapSeconds
    trainSeconds = state.trainSeconds
    trainImages = state.trainImages
    return EpochLoop.Progress(
      history: state.history, best: (state.selectedScore, state.selectedEpoch, try snapshot(state.selected)))
  }
}

extension Experiment {
  /// Trains a prompt run from `state` (nil: from the start) through epoch `end` of `training.epochs`, and
  /// returns its state there: a search's trial, one rung at a time. The test split is not touched.
  public func trial(
    prompt promptConfig: PromptConfig, mapping mappingConfig: MappingConfig, training: TrainingConfig, seed: UInt64,
    from state: TrialState?, through end: Int
  ) throws -> TrialState {
    try checkTraining(promptConfig, training)
    let start = state?.epochs ?? 0
    guard start <= end, end <= training.epochs, end > 0 else {
      throw EngineError("trial: cannot train from epoch \(start) through \(end) of \(training.epochs)")
    }
    let prompt = promptConfig.makePrompt(normalization: model.normalization, seed: seed)
    let mapping = try LabelMapping(
      mappingConfig, sources: model.classCount, targets: classCount, seed: seed, context: mappingContext)
    let learner = PromptLearner(experiment: self, prompt: prompt, mapping: mapping, training: training, seed: seed)
    var progress = try state.map(learner.load) ?? EpochLoop.Progress()
    try EpochLoop.advance(
      learner, training: training, stepsPerEpoch: learner.steps, testEveryEpoch: false, progress: &progress,
      through: end)
    return learner.save(progress)
  }
}
