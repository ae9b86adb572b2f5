import Foundation
import VPData
import VPEngine

/// A unit of work in a ledger: a trial's epochs up to a rung, or a final retraining run.
enum SearchJob: Hashable, Sendable, CustomStringConvertible {
  case trial(TrialJob)
  case final(seed: UInt64)

  /// The job's name in claims, logs and on the command line: `t0007-e0002-e0004`, `final-s7`.
  var name: String {
    switch self {
    case .trial(let job): return "t\(job.trial)-e\(job.from)-e\(job.to)"
    case .final(let seed): return "final-s\(seed)"
    }
  }

  init?(name: String) {
    if name.hasPrefix("final-s"), let seed = UInt64(name.dropFirst(7)) {
      self = .final(seed: seed)
      return
    }
    let parts = name.split(separator: "-")
    guard parts.count == 3, parts[0].hasPrefix("t"), parts[1].hasPrefix("e"), parts[2].hasPrefix("e"),
      let trial = Int(parts[0].dropFirst()), let from = Int(parts[1].dropFirst()), let to = Int(parts[2].dropFirst()),
      trial >= 0, from >= 0, to > from
    else { return nil }
    self = .trial(TrialJob(trial: trial, from: from, to: to))
  }

  var description: String {
    switch self {
    case .trial(let job):
      return "trial \(job.trial), " + (job.to == job.from + 1 ? "epoch \(job.to)" : "epochs \(job.from + 1)–\(job.to)")
    case .final(let seed): return "final run, seed \(seed)"
    }
  }
}

/// Runs one job of a ledger in this process: the code path of `vpbook trial` and of the in-process backend.
enum TrialWorker {
  enum Outcome: Equatable {
    /// Trained and recorded here.
    case ran
    /// Its record was already there.
    case done
    /// Another live process holds it.
    case claimed(by: String)
  }

  static func run(
    _ job: SearchJob, ledger: Ledger, resources: RunnerResources, log: ((String) -> Void)? = nil
  ) throws -> Outcome {
    if try isDone(job, ledger: ledger) { return .done }
    // A worker of another build would mix engines in one search.
    let build = "build " + NotebookRunner.buildIdentity
    if let started = ledger.definition.provenance.first, started != build {
      throw NotebookError(
        "\(ledger.directory): this search was started by another vpbook build (\(started)); this worker is \(build)")
    }
    guard try ledger.claim(job.name) else {
      let holder = ledger.holder(job.name)
      return .claimed(
        by: holder.map { "\($0.host) pid \($0.pid)" + ($0.slurmJob.map { " (Slurm job \($0))" } ?? "") } ?? "?")
    }
    defer { ledger.release(job.name) }
    // Finished by another process between our check and our claim.
    if try isDone(job, ledger: ledger) { return .done }
    let started = Date()
    switch job {
    case .trial(let trialJob):
      let definition = ledger.definition
      guard definition.trials.indices.contains(trialJob.trial) else {
        throw NotebookError("\(ledger.directory): the search has no trial \(trialJob.trial)")
      }
      let config = definition.trials[trialJob.trial]
      guard definition.plan.rungs.contains(trialJob.to),
        trialJob.from == 0 || definition.plan.rungs.contains(trialJob.from)
      else { throw NotebookError("\(job.name): epochs \(trialJob.from)→\(trialJob.to) are not rungs of this search") }
      let experiment = try self.experiment(config, resources: resources)
      guard experiment.validation != nil else {
        throw NotebookError("a search selects on the validation split: the data needs val=N (N ≥ 1)")
      }
      let from = trialJob.from > 0 ? try ledger.state(trialJob.trial, trialJob.from) : nil
      log?("\(job): \(config.label)")
      let state = try experiment.trial(
        prompt: config.prompt, mapping: config.mapping, training: config.training, seed: config.seed, from: from,
        through: trialJob.to)
      let record = RungRecord(
        trial: trialJob.trial, epochs: trialJob.to, score: state.selectedScore, selectedEpoch: state.selectedEpoch,
        history: state.history, seconds: Date().timeIntervalSince(started), host: Ledger.hostName, stateSHA256: "")
      try ledger.write(record, state: state)
    case .final(let seed):
      guard case .done(let decisions) = try SearchDriver.schedule(ledger) else {
        throw NotebookError("\(job.name): the search has not finished its trials")
      }
      let config = ledger.definition.finalConfig(decisions.chosen)
      let experiment = try self.experiment(config, resources: resources)
      log?("\(job): \(config.label), \(config.training.epochs) epochs")
      let result = try experiment.run(
        .prompt(config.mapping), prompt: config.prompt, training: config.training, seed: seed)
      try ledger.write(
        FinalRecord(
          seed: seed, result: result, delta: PackedFloats(experiment.lastPrompt?.values ?? []), host: Ledger.hostName))
    }
    return .ran
  }

  static func isDone(_ job: SearchJob, ledger: Ledger) throws -> Bool {
    switch job {
    case .trial(let t): return try ledger.rung(t.trial, t.to) != nil
    case .final(let seed): return try ledger.final(seed) != nil
    }
  }

  static func experiment(_ config: TrialConfig, resources: RunnerResources) throws -> Experiment {
    let data = try resources.data(config.data, side: config.prompt.imageSide)
    return try resources.experiment(config.model, data: data)
  }
}

/// Executes jobs somewhere: in this process, in worker processes, or as Slurm job arrays.
///
/// The driver hands a backend every job the scheduler needs (`submit`: the ones already running are skipped)
/// and then waits for *any* of them to finish (`waitForProgress`), so a worker that finishes early gets the
/// next job the scheduler can decide, without waiting for the slowest job of the step.
protocol SearchBackend: AnyObject {
  /// Starts the jobs that are neither recorded nor running yet (the in-process backend runs them here).
  func submit(_ jobs: [SearchJob], ledger: Ledger, progress: SearchProgress) throws
  /// Returns once at least one submitted job has its record, or when none is running; throws when one
  /// failed for good.
  func waitForProgress(ledger: Ledger, progress: SearchProgress) throws
}

/// What a search reports while it runs.
final class SearchProgress: @unchecked Sendable {
  private let lock = NSLock()
  let emit: ((String) -> Void)?
  let started = Date()
  var running = 0
  var finishedJobs = 0
  var trialEpochs = 0
  var trialSeconds = 0.0

  init(emit: ((String) -> Void)?) { self.emit = emit }

  func say(_ text: String) { emit?(text) }

  func jobStarted() {
    lock.lock()
    running += 1
    lock.unlock()
  }

  func jobFinished(_ job: SearchJob, ledger: Ledger) {
    lock.lock()
    running -= 1
    finishedJobs += 1
    lock.unlock()
    guard case .trial(let t) = job, let record = try? ledger.rung(t.trial, t.to) else {
      say("search: \(job) done")
      return
    }
    lock.lock()
    trialEpochs += t.to - t.from
    trialSeconds += record.seconds
    let (epochs, running) = (trialEpochs, running)
    let perEpoch = trialSeconds / Double(max(1, trialEpochs))
    lock.unlock()
    // From the records this process has read or written (no file system access per job: on a shared file
    // system a search of 1000 trials would otherwise stat thousands of missing records for every line).
    let known = ledger.knownRecords
    let best = known.max { ($0.score, -$0.trial) < ($1.score, -$1.trial) }
    let bestText =
      best.map { String(format: "%.1f %% (trial %d, %d epochs)", $0.score * 100, $0.trial, $0.epochs) } ?? "–"
    let spent = Dictionary(known.map { ($0.trial, $0.epochs) }, uniquingKeysWith: max).values.reduce(0, +)
    let budget = SearchProgress.expectedEpochs(ledger.definition.plan)
    let left = max(0, Double(budget - spent) * perEpoch)
    let rungs = ledger.definition.plan.rungs
    let reported = rungs.map { epochs in known.filter { $0.epochs == epochs }.count }
    say(
      String(
        format:
          "search: trial %d reached epoch %d (val %.1f %%) · at rungs %@: %@ of %d trials · %d running · best val %@ · %d trial-epochs this run, about %.0f s of trials left",
        t.trial, t.to, record.score * 100, rungs.map(String.init).joined(separator: "/"),
        reported.map(String.init).joined(separator: "/"), ledger.definition.trials.count, running, bestText, epochs,
        left))
  }

  /// About how many trial-epochs the strategy spends: all of them for grid and random; for ASHA, every
  /// trial to the first rung and 1/η of the previous rung's trials to each next one.
  static func expectedEpochs(_ plan: SchedulePlan) -> Int {
    let rungs = plan.rungs
    var total = 0
    var trials = Double(plan.trialCount)
    for (k, epochs) in rungs.enumerated() {
      total += Int(trials.rounded(.down)) * (epochs - (k > 0 ? rungs[k - 1] : 0))
      trials /= Double(plan.eta)
      if trials < 1 { break }
    }
    return plan.strategy == .asha ? total : plan.trialCount * plan.maxEpochs
  }
}

/// Jobs run one after another in this process (a notebook's default: the model and data stay loaded).
final class InProcessBackend: SearchBackend {
  let resources: RunnerResources

  init(resources: RunnerResources) { self.resources = resources }

  func submit(_ jobs: [SearchJob], ledger: Ledger, progress: SearchProgress) throws {
    var pending = jobs
    while !pending.isEmpty {
      // Run every job nobody else holds; then wait for the ones another process holds (a second driver on
      // the same ledger works through the same list without waiting behind the first).
      var held: [(SearchJob, String)] = []
      for job in pending {
        progress.jobStarted()
        let outcome = try TrialWorker.run(job, ledger: ledger, resources: resources) { progress.say("search: " + $0) }
        progress.jobFinished(job, ledger: ledger)
        if case .claimed(let holder) = outcome { held.append((job, holder)) }
      }
      for (job, holder) in held {
        try SearchDriver.waitForRecord(job, ledger: ledger, holder: holder, progress: progress)
      }
      pending = try held.map(\.0).filter { try !TrialWorker.isDone($0, ledger: ledger) }
    }
  }

  func waitForProgress(ledger: Ledger, progress: SearchProgress) throws {}
}

/// Jobs run by up to `workers` processes of `vpbook trial` on this machine, each with its log in the ledger.
final class ProcessBackend: SearchBackend {
  let binary: String
  let workers: Int
  /// Attempts after the first failure.
  let retries: Int
  private var queue: [(job: SearchJob, attempt: Int)] = []
  private var running: [(job: SearchJob, attempt: Int, process: Process, log: String)] = []

  init(binary: String, workers: Int, retries: Int) {
    self.binary = binary
    self.workers = workers
    self.retries = retries
  }

  func submit(_ jobs: [SearchJob], ledger: Ledger, progress: SearchProgress) throws {
    for job in jobs where try !TrialWorker.isDone(job, ledger: ledger) {
      guard !queue.contains(where: { $0.job == job }), !running.contains(where: { $0.job == job }) else { continue }
      queue.append((job, 0))
    }
    try fill(ledger: ledger, progress: progress)
  }

  /// Starts queued jobs while there are free workers.
  private func fill(ledger: Ledger, progress: SearchProgress) throws {
    try FileManager.default.createDirectory(atPath: ledger.logFolder, withIntermediateDirectories: true)
    while running.count < max(1, workers), !queue.isEmpty {
      let (job, attempt) = queue.removeFirst()
      if try TrialWorker.isDone(job, ledger: ledger) { continue }
      let log = ledger.logFolder + "/\(job.name).\(attempt).log"
      _ = FileManager.default.createFile(atPath: log, contents: nil)
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
      let process = Process()
      process.executableURL = URL(fileURLWithPath: binary)
      process.arguments = ["trial", ledger.directory, job.name]
      // The cores shared out between the workers (results do not depend on the thread count).
      var environment = ProcessInfo.processInfo.environment
      if environment["VPBOOK_THREADS"] == nil {
        environment["VPBOOK_THREADS"] = String(max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, workers)))
      }
      process.environment = environment
      process.standardOutput = handle
      process.standardError = handle
      process.standardInput = FileHandle.nullDevice
      try process.run()
      try? handle.close()
      progress.jobStarted()
      running.append((job, attempt, process, log))
    }
  }

  func waitForProgress(ledger: Ledger, progress: SearchProgress) throws {
    while !running.isEmpty {
      Thread.sleep(forTimeInterval: 0.05)
      var advanced = false
      for (index, item) in running.enumerated().reversed() where !item.process.isRunning {
        running.remove(at: index)
        progress.jobFinished(item.job, ledger: ledger)
        let status = item.process.terminationStatus
        if status == TrialCommandExit.claimed {
          let holder = ledger.holder(item.job.name).map { "\($0.host) pid \($0.pid)" } ?? "another worker"
          try SearchDriver.waitForRecord(item.job, ledger: ledger, holder: holder, progress: progress)
          if try !TrialWorker.isDone(item.job, ledger: ledger) { queue.append((item.job, item.attempt)) }
        } else if status != 0 || (try? TrialWorker.isDone(item.job, ledger: ledger)) != true {
          guard item.attempt < retries else {
            throw NotebookError(
              "search: \(item.job) failed \(item.attempt + 1) time(s) (exit \(status)); its log \(item.log) ends:\n\(SearchDriver.tail(of: item.log))"
            )
          }
          progress.say("search: \(item.job) failed (exit \(status)); retrying (\(item.attempt + 1) of \(retries))")
          queue.append((item.job, item.attempt + 1))
        }
        if try TrialWorker.isDone(item.job, ledger: ledger) { advanced = true }
      }
      try fill(ledger: ledger, progress: progress)
      if advanced { return }
    }
  }

  deinit {
    // A driver that fails leaves no orphans behind: its workers' claims would then be stale anyway.
    for item in running where item.process.isRunning { item.process.terminate() }
  }
}

/// Exit codes of `vpbook trial`.
enum TrialCommandExit {
  /// Another live process holds the job's claim.
  static let claimed: Int32 = 75
}

/// Drives a search: asks the scheduler what it needs, has the backend run it, until the trials are decided;
/// then the final runs. Everything it knows is in the ledger, so a driver killed at any point and started
/// again continues where the ledger stands.
struct SearchDriver {
  let ledger: Ledger
  let backend: SearchBackend
  let progress: SearchProgress

  /// The scheduler's next step from the ledger's records (a damaged record is an error naming it).
  static func schedule(_ ledger: Ledger) throws -> SchedulerStep {
    var failure: Error?
    let step = Scheduler.step(ledger.definition.plan) { trial, epochs in
      do {
        return try ledger.rung(trial, epochs)?.score
      } catch {
        if failure == nil { failure = error }
        return nil
      }
    }
    if let failure { throw failure }
    return step
  }

  func run() throws -> SearchOutcome {
    let definition = ledger.definition
    progress.say(
      "search: \(definition.trials.count) trials, \(definition.plan.strategy.rawValue), rungs \(definition.plan.rungs.map(String.init).joined(separator: "/")) epochs; ledger \(ledger.directory)"
    )
    while true {
      switch try Self.schedule(ledger) {
      case .need(let jobs):
        try backend.submit(jobs.map(SearchJob.trial), ledger: ledger, progress: progress)
        try backend.waitForProgress(ledger: ledger, progress: progress)
      case .done(let decisions):
        var finals = try definition.seeds.filter { try ledger.final($0) == nil }
        if !finals.isEmpty {
          progress.say(
            "search: chose trial \(decisions.chosen) (\(definition.trials[decisions.chosen].label)); final runs, seeds \(finals.map(String.init).joined(separator: ","))"
          )
        }
        while !finals.isEmpty {
          try backend.submit(finals.map { .final(seed: $0) }, ledger: ledger, progress: progress)
          try backend.waitForProgress(ledger: ledger, progress: progress)
          finals = try finals.filter { try ledger.final($0) == nil }
        }
        let outcome = try SearchOutcome(
          ledger: ledger, decisions: decisions, wallSeconds: Date().timeIntervalSince(progress.started))
        ledger.removeStates()
        return outcome
      }
    }
  }

  /// Waits while another live process holds `job` (its record appears, or its claim goes stale).
  static func waitForRecord(_ job: SearchJob, ledger: Ledger, holder: String, progress: SearchProgress) throws {
    progress.say("search: \(job) is being run by \(holder); waiting for it")
    while try !TrialWorker.isDone(job, ledger: ledger) {
      guard let claim = ledger.holder(job.name), !Ledger.isStale(claim) else { return }
      Thread.sleep(forTimeInterval: 0.5)
    }
  }

  /// The last lines of a log file.
  static func tail(of path: String, lines: Int = 15) -> String {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no log)"
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
  }
}

/// What a finished search found, from its ledger: for the report and the JSON/CSV exports.
struct SearchOutcome: Codable, Sendable {
  struct Trial: Codable, Sendable {
    var id: Int
    var point: [[String]]
    var label: String
    /// Epochs reached.
    var epochs: Int
    /// Validation accuracy of the state selected at the last rung reached.
    var validationAccuracy: Double
    /// Validation accuracy per epoch.
    var curve: [Double]
    /// `completed` (reached max_epochs), `stopped at N`.
    var status: String
    var seconds: Double
  }

  var strategy: SearchStrategy
  var rungs: [Int]
  var eta: Int
  var parallel: Int
  var axes: [[String]]
  var trials: [Trial]
  var chosen: Int
  var finals: [RunResult]
  var finalEpochs: Int
  /// Trial-epochs spent, and what the full grid at the maximum budget would spend.
  var trialEpochs: Int
  var fullGridEpochs: Int
  /// Seconds spent training trials (summed over workers), and the full grid's, estimated from each trial's
  /// measured seconds per epoch (exact for grid searches).
  var trialSeconds: Double
  var fullGridSeconds: Double
  var gridSize: Int
  var wallSeconds: Double

  init(ledger: Ledger, decisions: SearchDecisions, wallSeconds: Double) throws {
    let definition = ledger.definition
    let plan = definition.plan
    strategy = plan.strategy
    rungs = plan.rungs
    eta = plan.eta
    parallel = plan.parallel
    axes = definition.axes
    chosen = decisions.chosen
    finalEpochs = definition.finalEpochs
    var trials: [Trial] = []
    var seconds = 0.0
    var gridSeconds = 0.0
    for config in definition.trials {
      let records = try ledger.records(config.id)
      guard let last = records.last else {
        throw NotebookError("\(ledger.directory): trial \(config.id) has no record")
      }
      let trialSeconds = records.map(\.seconds).reduce(0, +)
      seconds += trialSeconds
      gridSeconds += trialSeconds / Double(last.epochs) * Double(plan.maxEpochs)
      trials.append(
        Trial(
          id: config.id, point: config.point, label: config.label, epochs: last.epochs,
          validationAccuracy: last.score, curve: last.history.map { $0.validationAccuracy ?? .nan },
          status: last.epochs == plan.maxEpochs ? "completed" : "stopped at \(last.epochs)", seconds: trialSeconds))
    }
    self.trials = trials
    finals = try definition.seeds.map { seed in
      guard let record = try ledger.final(seed) else {
        throw NotebookError("\(ledger.directory): no final run of seed \(seed)")
      }
      return record.result
    }
    trialEpochs = trials.map(\.epochs).reduce(0, +)
    gridSize = SearchDefinition.grid(definition.axes).count
    fullGridEpochs = gridSize * plan.maxEpochs
    trialSeconds = seconds
    // Random and ASHA searches see a subset of the grid: scale the measured mean to all its points.
    fullGridSeconds = gridSeconds / Double(max(1, trials.count)) * Double(gridSize)
    self.wallSeconds = wallSeconds
  }
}
