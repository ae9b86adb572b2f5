import Foundation
import VPFiles

/// Jobs run as Slurm job arrays: every step of the search (the jobs the scheduler needs at once: all trials of
/// a grid, ASHA's pending jobs, the final runs) is one array whose task i runs `vpbook trial LEDGER --wave FILE`
/// on line i of FILE. The driver polls `squeue` until the array has left the queue, then reads the ledger:
/// a job without its record is resubmitted (up to `retries` times) and then reported with its Slurm log.
///
/// A driver killed and started again finds the arrays it had submitted (each wave file records its array id)
/// and waits for them instead of submitting them twice; a task's claim names its Slurm job, so a task that
/// died without a record is recognised once Slurm no longer lists it.
struct SlurmBackend: SearchBackend {
  let binary: String
  /// `sbatch` options passed through (split at spaces).
  let options: String
  let retries: Int

  func execute(_ jobs: [SearchJob], ledger: Ledger, progress: SearchProgress) throws {
    var pending = try jobs.filter { try !TrialWorker.isDone($0, ledger: ledger) }
    var attempt = 0
    while !pending.isEmpty {
      // Arrays of at most `maxArraySize` tasks (Slurm's MaxArraySize, 1001 by default, bounds the index).
      let chunks = stride(from: 0, to: pending.count, by: maxArraySize).map {
        Array(pending[$0..<min(pending.count, $0 + maxArraySize)])
      }
      let waves = try chunks.map { try submitOrFind($0, attempt: attempt, ledger: ledger, progress: progress) }
      for (wave, chunk) in zip(waves, chunks) { try wait(for: wave.arrayID, progress: progress, count: chunk.count) }
      var failed: [(job: SearchJob, log: String)] = []
      for (wave, chunk) in zip(waves, chunks) {
        for (index, job) in chunk.enumerated() {
          let log = ledger.logFolder + "/\(wave.arrayID)_\(index).out"
          if try isRecorded(job, log: log, ledger: ledger) {
            progress.jobFinished(job, ledger: ledger)
            continue
          }
          if let claim = ledger.holder(job.name), !Ledger.isStale(claim) {
            try SearchDriver.waitForRecord(
              job, ledger: ledger, holder: "\(claim.host) (Slurm job \(claim.slurmJob ?? "?"))", progress: progress)
            if try TrialWorker.isDone(job, ledger: ledger) { continue }
          }
          failed.append((job, log))
        }
      }
      guard !failed.isEmpty else { return }
      if attempt >= retries {
        let first = failed[0]
        throw NotebookError(
          "search: \(failed.count) Slurm task(s) failed \(attempt + 1) time(s), e.g. \(first.job); its log \(first.log) ends:\n\(SearchDriver.tail(of: first.log))"
        )
      }
      attempt += 1
      progress.say(
        "search: \(failed.count) Slurm task(s) left no record; resubmitting (\(attempt) of \(retries))")
      pending = failed.map(\.job)
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

  /// Polls `squeue` until the array has left the queue.
  private func wait(for id: String, progress: SearchProgress, count: Int) throws {
    var delay = 0.5
    var lastSaid = Date()
    while SlurmCommands.isQueued(id) != false {
      Thread.sleep(forTimeInterval: delay)
      delay = min(delay * 1.5, 5)
      if Date().timeIntervalSince(lastSaid) > 30 {
        progress.say("search: waiting for Slurm array \(id) (\(count) task(s))")
        lastSaid = Date()
      }
    }
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
