import Foundation
import VPEngine
import VPModels

/// What a chart of training curves shows.
enum CurveMetric: String, Codable, Sendable, CaseIterable {
  /// Validation accuracy per epoch (the training accuracy when there is no validation split).
  case val
  /// Test accuracy per epoch (runs evaluate the test split after every epoch; never used for selection).
  case test
  /// Accuracy on the training batches as they were seen.
  case train
  /// Mean training loss.
  case loss
}

/// One training request: a method, its settings, the seeds, and what it changes of the session's setup.
struct RunSpec: Codable, Sendable, Equatable {
  /// The name it is registered under (`ilm`, `image=32/mapping=flm`).
  var name: String
  var method: RunMethod
  var training: TrainingConfig
  var seeds: [UInt64]
  /// Evaluate the test split after every epoch (for `curve=test`).
  var testCurve: Bool
  /// Sweep axes that change the prompt geometry or the data.
  var image: Int?
  var canvas: Int?
  var dataName: String?
  var perClass: ImageCount?
  /// `scale=learn` or `scale=fixed`: AutoVP's learnable input scale on or off (nil: the session's prompt).
  var learnScale: Bool? = nil
  /// The prompt kind and rank of a `prompt` or `rank` axis (nil: the session's prompt).
  var promptKind: PromptKind? = nil
  var rank: Int? = nil
  /// The sweep point, `[(axis, value)]`, empty outside sweeps.
  var axes: [[String]]

  /// The prompt this run uses, given the session's.
  func prompt(from base: PromptConfig) -> PromptConfig {
    var config = base
    if let canvas { config.canvas = canvas }
    if let image { config.image = image }
    if let learnScale { config.learnableScale = learnScale }
    if let promptKind, promptKind != config.kind {
      // Another family on the same canvas: what belongs to the session's family alone is dropped.
      config.kind = promptKind
      if promptKind != .pad { config.learnableScale = false }
      if promptKind != .watermark { config.frame = nil }
      if promptKind != .lowrank { config.rank = nil }
    }
    if let rank, config.kind == .lowrank { config.rank = rank }
    if config.kind != .pad { config.image = config.canvas }
    return config
  }

  /// The prompt this run uses, checked: its geometry, and options that need another prompt kind (with a
  /// `prompt` axis, each point takes the options of its own kind and ignores the rest).
  func checkedPrompt(from base: PromptConfig) throws -> PromptConfig {
    let config = prompt(from: base)
    try config.validate()
    guard promptKind == nil else { return config }
    if image != nil, config.kind != .pad {
      throw NotebookError(
        "the image axis needs a pad prompt (the \(config.kind.rawValue) prompt covers the whole canvas)")
    }
    if rank != nil, config.kind != .lowrank {
      throw NotebookError("the rank axis needs the lowrank prompt, not \(config.kind.rawValue)")
    }
    return config
  }

  /// The data this run uses, given the session's.
  func data(from base: DataSpec) -> DataSpec {
    var spec = base
    if let dataName { spec.name = dataName }
    if let perClass { spec.perClass = perClass.limit }
    return spec
  }
}

/// A statement that trains or evaluates runs (`train`, `compare`, `baseline`, `sweep`): they plan, digest
/// their data and execute the same way and differ in decoding and panels.
protocol RunningStatement: NotebookStatement {
  var runs: [RunSpec] { get set }
  /// The panels of the finished runs.
  func panels(_ groups: [RunGroup]) -> [Panel]
}

extension RunningStatement {
  static var prominence: StatementProminence { .run }

  mutating func plan(_ context: inout PlanContext) throws {
    try context.needs(.model)
    try context.needs(.data)
    try context.needs(.prompt)
    if let prompt = context.session.prompt {
      for spec in runs {
        do {
          _ = try spec.checkedPrompt(from: prompt)
        } catch {
          throw context.fail("\(error)")
        }
      }
    }
    for index in runs.indices { runs[index].dataName = try runs[index].dataName.map(context.resolveData) }
    for spec in runs {
      context.write(.run(spec.name))
      context.session.runs.append((spec.name, spec.method))
    }
    context.session.lastGroup = runs.map(\.name)
  }

  func inputFiles() throws -> [(path: String, listing: Bool)] {
    try Set(runs.compactMap(\.dataName)).sorted().flatMap(InputFiles.files(forData:))
  }

  func execute(_ context: ExecutionContext, into output: inout ExecutionOutput) throws {
    var groups: [RunGroup] = []
    for spec in runs {
      let (group, delta) = try Self.run(spec, context: context)
      context.session.register(group, delta: delta)
      groups.append(group)
      output.groups.append(group)
      if let delta { output.deltas[group.name] = delta }
    }
    output.panels += panels(groups)
  }

  /// Trains (or evaluates) one run spec over its seeds.
  static func run(_ spec: RunSpec, context: ExecutionContext) throws -> (RunGroup, [Float]?) {
    let session = context.session
    guard let modelChoice = session.model, let baseData = session.data, let basePrompt = session.prompt else {
      throw NotebookError("the model, data and prompt must be set first")
    }
    let prompt = spec.prompt(from: basePrompt)
    let dataSpec = spec.data(from: baseData)
    let data = try context.resources.data(dataSpec, side: prompt.imageSide)
    let experiment = try context.resources.experiment(modelChoice, data: data)
    experiment.testEveryEpoch = spec.testCurve
    var results: [RunResult] = []
    var delta: [Float]?
    for seed in spec.seeds {
      let label = spec.seeds.count > 1 ? "\(spec.name) seed \(seed)" : spec.name
      let emit = context.emit
      experiment.progress = { progress in emit?(.training(label: label, progress: progress)) }
      let result = try experiment.run(spec.method, prompt: prompt, training: spec.training, seed: seed)
      if spec.method.mapping != nil, delta == nil { delta = experiment.lastPrompt?.values }
      emit?(.trainingFinished(label: label, testAccuracy: result.testAccuracy, seconds: result.wallSeconds))
      if let warning = result.warning { emit?(.warning("\(label): \(warning)")) }
      results.append(result)
    }
    let group = RunGroup(
      name: spec.name, method: spec.method, model: modelChoice.name.rawValue, data: dataSpec, prompt: prompt,
      axes: spec.axes, results: results)
    return (group, delta)
  }

  /// The results table and, when the runs have per-epoch history, their curves.
  static func tableAndCurves(_ groups: [RunGroup], curve: CurveMetric?) -> [Panel] {
    var panels = [ResultsView.tablePanel(groups)]
    if let curves = ResultsView.curves(groups, metric: curve) { panels.append(curves) }
    return panels
  }
}
