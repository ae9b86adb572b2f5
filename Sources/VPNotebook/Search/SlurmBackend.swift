import Foundation
import VPFiles

/// Jobs run as Slurm job arrays: the jobs submitted together (all trials of a grid, the ASHA jobs decided
/// since the last submission, the final runs) are one array whose task i runs `vpbook trial LEDGER --wave
/// FILE` on line i of FILE. A job counts as done as soon as its record is in the ledger; a job whose array has
/// left the queue (`squeue`) without its record is resubmitted (up to `retries` times) and then reported with
/// its Slurm log.
///
/// A driver killed and started again finds the arrays it had submitted (each wave file records its array id)
/// and waits for them instead of submitting them twice; a task's claim names its Slurm job, so a task that
/// died without a record is recognised once Slurm no longer lists it.
final class SlurmBackend: SearchBackend {
  let binary: String
  /// `sbatch` options passed through (split at spaces).
  let options: String
  let retries: Int
  /// Jobs submitted and not yet recorded: their array, task index and attempt.
  private var inFlight: [SearchJob: (array: String, index: Int, attempt: Int)] = [:]

  init(binary: String, options: String, retries: Int) {
    self.binary = binary
    self.options = options
    self.retries = retries
  }

  func submit(_ jobs: [SearchJob], ledger: Ledger, progress: SearchProgress) throws {
    let new = try jobs.filter { try inFlight[$0] == nil && !TrialWorker.isDone($0, ledger: ledger) }
    try submit(new, attempt: 0, ledger: ledger, progress: progress)
  }

  private func submit(_ jobs: [SearchJob], attempt: Int, ledger: Ledger, progress: SearchProgress) throws {
    guard !jobs.isEmpty else { return }
    // Arrays of at most `maxArraySize` tasks (Slurm's MaxArraySize, 1001 by default, bounds the index).
    for start in stride(from: 0, to: jobs.count, by: maxArraySize) {
      let chunk = Array(jobs[start..<min(jobs.count, start + maxArraySize)])
      let wave = try submitOrFind(chunk, attempt: attempt, ledger: ledger, progress: progress)
      for (index, job) in chunk.enumerated() { inFlight[job] = (wave.arrayID, index, attempt) }
    }
  }

  func waitForProgress(ledger: Ledger, progress: SearchProgress) throws {
    var delay = 0.5
    var lastSaid = Date()
    while !inFlight.isEmpty {
      var advanced = false
      var failed: [(job: SearchJob, log: String, attempt: Int)] = []
      let queued = Dictionary(
        uniqueKeysWithValues: Set(inFlight.values.map(\.array)).map { ($0, SlurmCommands.isQueued($0)) })
      for (job, place) in inFlight.sorted(by: { $0.value.index < $1.value.index }) {
        let log = ledger.logFolder + "/\(place.array)_\(place.index).out"
        // A task's record counts as soon as it is there, while the rest of its array still runs.
        if try TrialWorker.isDone(job, ledger: ledger) {
          inFlight[job] = nil
          progress.jobFinished(job, ledger: ledger)
          advanced = true
          continue
        }
        guard queued[place.array] == false else { continue }
        // The array has left the queue and this job has no record (yet).
        if try isRecorded(job, log: log, ledger: ledger) {
          inFlight[job] = nil
          progress.jobFinished(job, ledger: ledger)
          advanced = true
        } else if let claim = ledger.holder(job.name), !Ledger.isStale(claim) {
          // Another driver's task (or a task of an array this driver submitted before a restart) runs it.
          try SearchDriver.waitForRecord(
            job, ledger: ledger, holder: "\(claim.host) (Slurm job \(claim.slurmJob ?? "?"))", progress: progress)
          if try TrialWorker.isDone(job, ledger: ledger) {
            inFlight[job] = nil
            advanced = true
          }
        } else {
          inFlight[job] = nil
          failed.append((job, log, place.attempt))
        }
      }
      if let worst = failed.first(where: { $0.attempt >= retries }) {
        throw NotebookError(
          "search: \(worst.job) failed \(worst.attempt + 1) time(s) as a Slurm task; its log \(worst.log) ends:\n\(SearchDriver.tail(of: worst.log))"
        )
      }
      for attempt in Set(failed.map(\.attempt)).sorted() {
        let jobs = failed.filter { $0.attempt == attempt }.map(\.job)
        progress.say(
          "search: \(jobs.count) Slurm task(s) left no record; resubmitting (\(attempt + 1) of \(retries))")
        try submit(jobs, attempt: attempt + 1, ledger: ledger, progress: progress)
      }
      if advanced { return }
      Thread.sleep(forTimeInterval: delay)
      delay = min(delay * 1.5, 5)
      if Date().timeIntervalSince(lastSaid) > 30 {
        progress.say("search: waiting for \(inFlight.count) Slurm task(s)")
        lastSaid = Date()
      }
    }
  }

  /// The most tasks in one array.
  var maxArraySize: Int {
    ProcessInfo.processInfo.environment["VPBOOK_SLURM_MAX_ARRAY"].flatMap(Int.init).map { max(1, $0) } ?? 1000
  }

  /// Whether `job`'s record is visible. When the task's log says it recorded the job, waits up to
  /// `VPBOOK_LEDGER_GRACE` seconds (default 30) for a shared file system's attribute cache to show the file
  /// that another node has just written; a task that did not record it has failed.
  private func isRecorded(_ job: SearchJob, log: String, ledger: Ledger) throws -> Bool {
    if try TrialWorker.isDone(job, ledger: ledger) { return true }
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    guard text.contains("\(job): recorded") || text.contains("\(job): already recorded") else { return false }
    let grace = ProcessInfo.processInfo.environment["VPBOOK_LEDGER_GRACE"].flatMap(Double.init) ?? 30
    let deadline = Date().addingTimeInterval(grace)
    while Date() < deadline {
      Thread.sleep(forTimeInterval: 1)
      if try TrialWorker.isDone(job, ledger: ledger) { return true }
    }
    return false
  }

  struct Wave {
    var file: String
    var arrayID: String
  }

  /// Submits `jobs` as one array, or finds the array a previous driver submitted for the same jobs and
  /// attempt that is still queued or running.
  private func submitOrFind(_ jobs: [SearchJob], attempt: Int, ledger: Ledger, progress: SearchProgress) throws -> Wave
  {
    let names = jobs.map(\.name)
    let folder = ledger.directory + "/waves"
    let file = folder + "/" + String(SHA256.hex(names.joined(separator: "\n")).prefix(16)) + "-a\(attempt).jobs"
    let submitted = file + ".array"
    if let id = try? String(contentsOfFile: submitted, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
      !id.isEmpty, SlurmCommands.isQueued(id) == true
    {
      progress.say("search: array \(id) (\(jobs.count) tasks) was submitted before; waiting for it")
      for _ in jobs { progress.jobStarted() }
      return Wave(file: file, arrayID: id)
    }
    do {
      try VPFiles.AtomicFile.write(Array((names.joined(separator: "\n") + "\n").utf8), to: file)
      try FileManager.default.createDirectory(atPath: ledger.logFolder, withIntermediateDirectories: true)
    } catch {
      throw NotebookError("search: cannot write the wave file: \(error)")
    }
    let command = [binary, "trial", ledger.directory, "--wave", file].map(SlurmCommands.shellQuote).joined(
      separator: " ")
    var arguments = [
      "--parsable", "--array=0-\(jobs.count - 1)", "--job-name=vpbook-search",
      "--output=\(ledger.logFolder)/%A_%a.out",
    ]
    arguments += options.split(separator: " ").map(String.init)
    arguments += ["--wrap", command]
    let (status, output) = try SlurmCommands.run("sbatch", arguments)
    guard status == 0,
      let id = output.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines),
      !id.isEmpty, id.allSatisfy(\.isNumber)
    else {
      throw NotebookError(
        "search: sbatch failed (exit \(status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    try? VPFiles.AtomicFile.write(Array((id + "\n").utf8), to: submitted)
    for _ in jobs { progress.jobStarted() }
    progress.say("search: submitted array \(id) with \(jobs.count) task(s)")
    return Wave(file: file, arrayID: id)
  }

}

/// The Slurm commands the backend uses, run without a shell.
enum SlurmCommands {
  /// Runs `command` (looked up in PATH) with `arguments`; returns its exit status and its output and errors.
  static func run(_ command: String, _ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [command] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw NotebookError("search: cannot run \(command): \(error)")
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  /// Whether Slurm still lists the job (or any task of the array); nil when squeue cannot be asked.
  static func isQueued(_ id: String) -> Bool? {
    guard let (status, output) = try? run("squeue", ["-h", "-j", id, "-o", "%i"]) else { return nil }
    if status != 0 {
      // squeue fails with "Invalid job id specified" for a job that has left the controller's memory.
      return output.contains("Invalid job id") ? false : nil
    }
    return !output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
  }

  /// `text` as one word for a POSIX shell.
  static func shellQuote(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
