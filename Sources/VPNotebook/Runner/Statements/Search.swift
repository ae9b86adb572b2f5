import Foundation
import VPEngine
import VPModels

/// `search image=32,64 mapping=flm,ilm strategy=asha grace=1 max_epochs=8 eta=2 seeds=7,8,9`: AutoVP's
/// design search. Only the axes written with several values vary; trials are selected on the validation
/// split, stopped early by successive halving, resumed (not restarted) when promoted, and recorded in a ledger
/// beside the cache; the chosen configuration is retrained for the requested seeds and tested once.
struct SearchStatement: NotebookStatement {
  static let verb = "search"
  static let summary = "search the design space (grid, random or ASHA) on the validation split; retrain the best"
  static var prominence: StatementProminence { .run }

  static let model = OptionSpec(
    name: "model", type: .choice(ModelName.allCases.map(\.rawValue)), defaultText: "the model statement's",
    help: "Source model (an axis; the installed weights of each).", axis: true)
  static let strategy = OptionSpec(
    name: "strategy", type: .choice(SearchStrategy.allCases.map(\.rawValue)), defaultText: "asha",
    help: "grid (every point to max_epochs), random (trials= points to max_epochs) or asha (successive halving).")
  static let grace = OptionSpec(
    name: "grace", type: .int(min: 1), defaultText: "1", help: "Epochs of ASHA's first rung.")
  static let maxEpochs = OptionSpec(
    name: "max_epochs", type: .int(min: 1), defaultText: "8",
    help: "A trial's whole budget; the learning-rate schedule is defined on it.")
  static let eta = OptionSpec(
    name: "eta", type: .int(min: 2), defaultText: "2", help: "ASHA's reduction factor η: the best 1/η go on.")
  static let trials = OptionSpec(
    name: "trials", type: .intOrAll(min: 1), defaultText: "all",
    help: "Grid points to try: all, or N drawn with the first seed (random; ASHA).")
  static let parallel = OptionSpec(
    name: "parallel", type: .int(min: 1), defaultText: "4",
    help:
      "ASHA decides as if this many workers ran the trials (so the result never depends on real timing); set it to the workers you use."
  )
  static let finalEpochs = OptionSpec(
    name: "final_epochs", type: .int(min: 1), defaultText: "max_epochs",
    help: "Epochs of the final retraining of the chosen configuration.")
  static let workers = OptionSpec(
    name: "workers", type: .int(min: 1), defaultText: "1",
    help: "Worker processes on this machine (1: in the notebook's process).")
  static let on = OptionSpec(
    name: "on", type: .choice(["local", "slurm"]), defaultText: "local",
    help: "Where trials run: local, or slurm (as job arrays; see docs/SCALING.md).")
  static let slurm = OptionSpec(
    name: "slurm", type: .text, defaultText: nil,
    help: "sbatch options passed through, e.g. \"--partition=cpu --time=01:00:00 --cpus-per-task=2\".")
  static let retries = OptionSpec(
    name: "retries", type: .int(min: 0), defaultText: "2", help: "Attempts after a worker or Slurm task fails.")

  /// The scheduling and execution options (the command's too).
  static let searchOptions = [strategy, grace, maxEpochs, eta, trials, parallel, finalEpochs]
  static let executionOptions = [workers, on, slurm, retries]

  static func options(word: String?) -> [OptionSpec] {
    [model] + RunOptions.sweep.filter { $0.name != "epochs" } + searchOptions + executionOptions
  }

  /// One grid point, decoded: its axis values, its run settings and its model (nil: the session's).
  struct Point: Sendable {
    var point: [[String]]
    var run: RunSpec
    var model: ModelName?
  }

  var points: [Point]
  var axes: [[String]]
  var plan: SchedulePlan
  var seeds: [UInt64]
  var finalEpochs: Int
  var name: String
  var workers: Int
  var on: String
  var slurm: String?
  var retries: Int
  /// Set by `plan`.
  var definition: SearchDefinition?

  static func decode(word: String?, _ reader: OptionReader) throws -> SearchStatement {
    let axes = try RunOptions.axes(reader)
    if let mappings = axes.first(where: { $0[0] == "mapping" }) ?? reader.list("mapping").map({ ["mapping"] + $0 }),
      mappings.contains("linear-probe")
    {
      throw reader.fail("a search trains prompts: linear-probe is a baseline (use `baseline linear-probe`)")
    }
    let strategy = try reader.choice("strategy", as: SearchStrategy.self) ?? .asha
    let grid = SearchDefinition.grid(axes)
    let seeds = try reader.seeds()
    let requested = try reader.count("trials")
    var chosen = Array(grid.indices)
    switch (strategy, requested) {
    case (.grid, .count):
      throw reader.fail("strategy=grid tries every point: leave out trials= (or use strategy=random)")
    case (.random, nil), (.random, .all?):
      throw reader.fail("strategy=random needs trials=N (the grid has \(grid.count) points)")
    case (_, .count(let n)?):
      chosen = SearchDefinition.sample(n, of: grid.count, seed: seeds[0])
    default:
      break
    }
    let maxEpochs = try reader.int("max_epochs") ?? 8
    let grace = try reader.int("grace") ?? 1
    if strategy == .asha, grace >= maxEpochs {
      throw reader.fail("grace=\(grace) leaves ASHA no rung below max_epochs=\(maxEpochs)")
    }
    var points: [Point] = []
    for index in chosen {
      var pointReader = reader
      pointReader.overrides = grid[index].map { ($0[0], $0[1]) }
      let run = try RunOptions.runSpec(pointReader, mapping: pointReader.string("mapping") ?? "ilm")
      let model = try pointReader.value("model").flatMap(ModelName.init(rawValue:))
      points.append(Point(point: grid[index], run: run, model: model))
    }
    let plan = SchedulePlan(
      strategy: strategy, trialCount: points.count, grace: grace, maxEpochs: maxEpochs,
      eta: try reader.int("eta") ?? 2, parallel: try reader.int("parallel") ?? 4)
    return SearchStatement(
      points: points, axes: axes, plan: plan, seeds: seeds, finalEpochs: try reader.int("final_epochs") ?? maxEpochs,
      name: reader.string("name") ?? "search", workers: try reader.int("workers") ?? 1,
      on: try reader.value("on") ?? "local", slurm: reader.string("slurm"), retries: try reader.int("retries") ?? 2)
  }

  mutating func plan(_ context: inout PlanContext) throws {
    try context.needs(.model)
    try context.needs(.data)
    try context.needs(.prompt)
    for index in points.indices { points[index].run.dataName = try points[index].run.dataName.map(context.resolveData) }
    if let model = context.session.model, let data = context.session.data, let prompt = context.session.prompt {
      do {
        definition = try makeDefinition(model: model, data: data, prompt: prompt)
      } catch {
        throw context.fail("\(error)")
      }
    }
    context.write(.run(name))
    context.session.runs.append((name, .prompt(points[0].run.method.mapping!)))
    context.session.lastGroup = [name]
  }

  /// The trials: each point's settings over the session's model, data and prompt.
  func makeDefinition(model: ModelChoice, data: DataSpec, prompt: PromptConfig) throws -> SearchDefinition {
    guard data.validationPerClass > 0 else {
      throw NotebookError("a search selects on the validation split: the data needs val=N (N ≥ 1)")
    }
    let trials = try points.enumerated().map { id, point -> TrialConfig in
      let trialPrompt = try point.run.checkedPrompt(from: prompt)
      var training = point.run.training
      training.epochs = plan.maxEpochs
      try training.validate()
      // Another model of a `model` axis takes its installed weights and keeps the text tower (semantic text=clip).
      let trialModel =
        point.model.map {
          $0 == model.name ? model : ModelChoice(name: $0, weights: nil, textEncoder: model.textWeights)
        } ?? model
      return TrialConfig(
        id: id, point: point.point, model: trialModel, data: point.run.data(from: data), prompt: trialPrompt,
        mapping: point.run.method.mapping!, training: training, seed: seeds[0])
    }
    return SearchDefinition(plan: plan, axes: axes, trials: trials, seeds: seeds, finalEpochs: finalEpochs)
  }

  func inputFiles() throws -> [(path: String, listing: Bool)] {
    try Set(points.compactMap(\.run.dataName)).sorted().flatMap(InputFiles.files(forData:))
  }

  func execute(_ context: ExecutionContext, into output: inout ExecutionOutput) throws {
    guard var definition else { throw NotebookError("the model, data and prompt must be set first") }
    definition.provenance = try definition.currentProvenance()
    let ledger = try Ledger(directory: context.ledgerDirectory + "/" + definition.digest, definition: definition)
    let emit = context.emit
    let progress = SearchProgress { emit?(.note($0)) }
    let backend = try SearchBackends.make(
      on: on, workers: workers, slurm: slurm, retries: retries, resources: context.resources)
    let outcome = try SearchDriver(ledger: ledger, backend: backend, progress: progress).run()
    let group = try SearchView.group(name: name, outcome: outcome, ledger: ledger)
    let delta = try ledger.final(definition.seeds[0])?.delta.values
    context.session.register(group, delta: delta)
    output.groups.append(group)
    if let delta { output.deltas[group.name] = delta }
    for result in group.results {
      emit?(
        .trainingFinished(
          label: "\(name) seed \(result.seed)", testAccuracy: result.testAccuracy, seconds: result.wallSeconds))
      if let warning = result.warning { emit?(.warning("\(name) seed \(result.seed): \(warning)")) }
    }
    output.panels += SearchView.panels(outcome, group: group)
  }
}

/// Picks a search's backend from its options.
enum SearchBackends {
  static func make(on: String, workers: Int, slurm: String?, retries: Int, resources: RunnerResources) throws
    -> SearchBackend
  {
    if on == "slurm" {
      return SlurmBackend(binary: try binary(), options: slurm ?? "", retries: retries)
    }
    if workers > 1 { return ProcessBackend(binary: try binary(), workers: workers, retries: retries) }
    return InProcessBackend(resources: resources)
  }

  /// The vpbook executable that workers run: `VPBOOK_BINARY`, this process when it is vpbook, or the vpbook
  /// beside it (tests run in a bundle next to it).
  static func binary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["VPBOOK_BINARY"] { return path }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    if URL(fileURLWithPath: me).lastPathComponent == "vpbook" { return me }
    var folder = URL(fileURLWithPath: me).deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = folder.appendingPathComponent("vpbook").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      folder = folder.deletingLastPathComponent()
    }
    throw NotebookError("cannot find the vpbook executable for worker processes (set VPBOOK_BINARY)")
  }
}
