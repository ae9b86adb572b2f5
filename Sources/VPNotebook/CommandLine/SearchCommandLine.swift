import Foundation
import VPEngine
import VPFiles
import VPModels

/// `vpbook search`'s options, generated like `vpbook train`'s: the `model`, `data` and `prompt` statements'
/// tables and the `search` statement's (its axes take comma lists: `--image 32,64,96`, `--model
/// mobilenet_v2,efficientnet_lite0`), plus the command's own (`--ledger`, `--json`, `--csv`, `--quiet`).
public enum SearchCommandLine {
  typealias Flag = TrainCommandLine.Flag

  static let own: [Flag] = [
    Flag(
      verb: "vpbook",
      spec: OptionSpec(
        name: "ledger", type: .text, defaultText: "runs/search-DIGEST",
        help: "The ledger folder: trials' records and states (run the same command again to resume)."),
      name: "ledger"),
    Flag(
      verb: "vpbook",
      spec: OptionSpec(name: "json", type: .text, defaultText: nil, help: "Write the search's outcome as JSON."),
      name: "json"),
    Flag(
      verb: "vpbook",
      spec: OptionSpec(name: "csv", type: .text, defaultText: nil, help: "Write the trial table as CSV."),
      name: "csv"),
    Flag(
      verb: "vpbook", spec: OptionSpec(name: "quiet", type: .text, defaultText: nil, help: "No progress lines."),
      name: "quiet", isSwitch: true),
  ]

  /// Every flag: the statements' word flags, `model`'s, `search`'s (axes first: `--image`, `--per-class` are
  /// the search's), then `data`'s and `prompt`'s remaining options, then the command's own.
  static var flags: [Flag] {
    TrainCommandLine.flags(
      [
        ("model", []), ("data", []), ("prompt", []), ("model", ModelStatement.options(word: nil)),
        ("search", SearchStatement.options(word: nil)), ("data", DataStatement.options(word: nil)),
        ("prompt", PromptStatement.options(word: nil)), ("vpbook", []),
      ], own: TrainCommandLine.ownOptions.filter { ["model", "data", "prompt"].contains($0.name) } + own,
      leftOut: [("search", "name")])
  }

  public static var help: String {
    var lines: [String] = []
    let groups = [
      ("model", "The model (the `model` statement; --model takes a comma list to search over models)"),
      ("data", "The data (the `data` statement)"), ("prompt", "The prompt (the `prompt` statement)"),
      ("search", "The search (the `search` statement: an option with several values is an axis)"),
      ("vpbook", "The command's own"),
    ]
    lines += TrainCommandLine.helpLines(groups, flags: flags)
    return lines.joined(separator: "\n")
  }

  /// What `vpbook search` was asked to do.
  struct Invocation: Sendable {
    var statement: SearchStatement
    var definition: SearchDefinition
    var ledger: String?
    var json: String?
    var csv: String?
    var quiet: Bool
  }

  static func parse(_ arguments: [String]) throws -> Invocation {
    let flags = self.flags
    let given = try TrainCommandLine.tokenize(arguments, flags: flags, command: "search")
    func value(_ name: String) -> String? { given.first { $0.flag.name == name }?.value }
    func statement(_ verb: String, word: String?, ownFlags: [String]) -> RawStatement {
      TrainCommandLine.rawStatement(verb, word: word, flags: flags, given: given, ownFlags: ownFlags)
    }
    // --model, --data and --prompt name the setup statement's word; with several values they are also axes.
    let models = (value("model") ?? "mobilenet_v2").split(separator: ",").map(String.init)
    let prompts = (value("prompt") ?? "pad").split(separator: ",").map(String.init)
    let dataSets = (value("data") ?? "fashion-mnist").split(separator: ",").map(String.init)
    let modelWord = try TrainCommandLine.checkValue("model", models.first ?? "", flags: flags)
    let model = try TrainCommandLine.decode(
      ModelStatement.self, statement("model", word: modelWord, ownFlags: ["model"]))
    let data = try TrainCommandLine.decode(
      DataStatement.self, statement("data", word: dataSets.first ?? "", ownFlags: ["data"]))
    let promptWord = try TrainCommandLine.checkValue("prompt", prompts.first ?? "", flags: flags)
    let prompt = try TrainCommandLine.decode(
      PromptStatement.self, statement("prompt", word: promptWord, ownFlags: ["prompt"]))
    var raw = statement("search", word: nil, ownFlags: [])
    if models.count > 1 { raw.options.insert(.init(key: "model", value: models.joined(separator: ",")), at: 0) }
    if prompts.count > 1 { raw.options.insert(.init(key: "prompt", value: prompts.joined(separator: ",")), at: 0) }
    if dataSets.count > 1 { raw.options.insert(.init(key: "data", value: dataSets.joined(separator: ",")), at: 0) }
    var search = try TrainCommandLine.decode(SearchStatement.self, raw)
    let here = FileManager.default.currentDirectoryPath
    for index in search.points.indices {
      search.points[index].run.dataName = search.points[index].run.dataName.map {
        InputFiles.resolveDataName($0, baseDirectory: here)
      }
    }
    let definition = try search.makeDefinition(model: model.choice, data: data.spec, prompt: prompt.config)
    search.definition = definition
    return Invocation(
      statement: search, definition: definition, ledger: value("ledger"), json: value("json"), csv: value("csv"),
      quiet: value("quiet") != nil)
  }

  /// Runs `vpbook search`: prints progress on stderr (`emit`), returns the outcome and writes the files.
  public static func run(_ arguments: [String], emit: @escaping @Sendable (String) -> Void) throws -> String {
    var request = try parse(arguments)
    request.definition.provenance = try request.definition.currentProvenance()
    let directory = request.ledger ?? "runs/search-" + request.definition.digest
    let ledger = try Ledger(directory: directory, definition: request.definition)
    let search = request.statement
    let backend = try SearchBackends.make(
      on: search.on, workers: search.workers, slurm: search.slurm, retries: search.retries,
      resources: RunnerResources())
    let sink: ((String) -> Void)? = request.quiet ? nil : { emit($0) }
    let progress = SearchProgress(emit: sink)
    let outcome = try SearchDriver(ledger: ledger, backend: backend, progress: progress).run()
    if let json = request.json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try write(Array(try encoder.encode(outcome)), to: json)
      emit("wrote \(json)")
    }
    if let csv = request.csv {
      try write(Array(SearchView.csv(outcome).utf8), to: csv)
      emit("wrote \(csv)")
    }
    let chosen = outcome.trials[outcome.chosen]
    let test = Summary(outcome.finals.map { $0.testAccuracy })
    return """
      chosen: trial \(chosen.id), \(chosen.label) (validation \(String(format: "%.2f", chosen.validationAccuracy * 100)) % after \(chosen.epochs) epochs)
      final: test accuracy \(test.formatted()) % over \(test.n) seed(s), \(outcome.finalEpochs) epochs
      compute: \(outcome.trialEpochs) trial-epochs (full grid at \(outcome.rungs.last!) epochs: \(outcome.fullGridEpochs)); \(String(format: "%.0f", outcome.trialSeconds)) s of trials (full grid: about \(String(format: "%.0f", outcome.fullGridSeconds)) s)
      ledger: \(directory)
      """
  }

  /// Runs one job of a ledger (`vpbook trial LEDGER JOB` or `--wave FILE` with `SLURM_ARRAY_TASK_ID`);
  /// returns the process's exit status (75 when another live worker holds the job).
  public static func trial(ledger directory: String, job name: String?, wave: String?, emit: @escaping (String) -> Void)
    throws -> Int32
  {
    // Under Slurm, use the cores the task was given (Slurm without cgroups does not confine the process).
    let environment = ProcessInfo.processInfo.environment
    if environment["VPBOOK_THREADS"] == nil, let cpus = environment["SLURM_CPUS_PER_TASK"], Int(cpus) != nil {
      setenv("VPBOOK_THREADS", cpus, 1)
    }
    let ledger = try Ledger(existing: directory)
    var jobName = name
    if let wave {
      guard let text = ProcessInfo.processInfo.environment["SLURM_ARRAY_TASK_ID"], let index = Int(text) else {
        throw NotebookError("--wave needs SLURM_ARRAY_TASK_ID (it is run as a task of a Slurm job array)")
      }
      let lines = try String(contentsOfFile: wave, encoding: .utf8).split(separator: "\n").map(String.init)
      guard lines.indices.contains(index) else { throw NotebookError("\(wave): no line \(index + 1)") }
      jobName = lines[index]
    }
    guard let jobName, let job = SearchJob(name: jobName) else {
      throw NotebookError("'\(name ?? "")' is not a job name (t7-e0-e2 or final-s7)")
    }
    switch try TrialWorker.run(job, ledger: ledger, resources: RunnerResources(), log: emit) {
    case .ran:
      emit("\(job): recorded")
      return 0
    case .done:
      emit("\(job): already recorded")
      return 0
    case .claimed(let holder):
      emit("\(job): held by \(holder)")
      return TrialCommandExit.claimed
    }
  }

  static func write(_ bytes: [UInt8], to path: String) throws {
    do {
      try VPFiles.AtomicFile.write(bytes, to: path)
    } catch {
      throw NotebookError("\(error)")
    }
  }
}
