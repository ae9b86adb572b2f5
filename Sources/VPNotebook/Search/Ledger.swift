import Foundation
import VPEngine
import VPFiles

#if canImport(Glibc)
  import Glibc
#endif

/// A search's ledger: a folder that holds its definition, one record (and one saved state) per trial and
/// rung, the final runs, and the claims of the jobs being worked on.
///
/// Safe with several writers on one machine and on a shared network file system: every file is written once,
/// to a temporary file in its own folder and renamed into place (rename within a folder is atomic on NFS and
/// Lustre); a job is claimed by hard-linking a complete claim file to its name (`link` fails when the name
/// exists, atomically, on NFS too); there are no `flock`s and no database. Every file starts with a line that
/// holds the SHA-256 of the rest, so a torn, truncated or edited file is an error naming it, never a wrong
/// number.
///
/// ```
/// LEDGER/search.json               the definition (axes, trials, schedule, final seeds)
/// LEDGER/trials/0007/e0004.json    trial 7's result after 4 epochs …
/// LEDGER/trials/0007/e0004.state   … and its state, to resume from when promoted
/// LEDGER/final/s7.json             the final retraining with seed 7
/// LEDGER/claims/t0007-e0004        who works on a job (host, pid, Slurm job)
/// LEDGER/logs/…                    workers' logs
/// ```
final class Ledger: @unchecked Sendable {
  static let header = "vpbook-ledger 1"
  let directory: String
  let definition: SearchDefinition
  private let lock = NSLock()
  private var rungs: [TrialJobKey: RungRecord] = [:]

  struct TrialJobKey: Hashable {
    var trial: Int
    var epochs: Int
  }

  /// Opens the ledger at `directory` for `definition`, creating it, or checking that it holds the same search.
  init(directory: String, definition: SearchDefinition) throws {
    self.directory = directory
    self.definition = definition
    let path = directory + "/search.json"
    if FileManager.default.fileExists(atPath: path) {
      let existing = try Ledger.read(SearchDefinition.self, at: path)
      guard existing == definition else {
        throw NotebookError(
          "\(path): this ledger holds a different search (\(Ledger.difference(existing, definition))); use another ledger folder"
        )
      }
    } else {
      try Ledger.write(definition, to: path)
    }
  }

  /// Opens an existing ledger (a worker).
  init(existing directory: String) throws {
    self.directory = directory
    let path = directory + "/search.json"
    guard FileManager.default.fileExists(atPath: path) else {
      throw NotebookError("\(path): no such file (is \(directory) a search ledger?)")
    }
    definition = try Ledger.read(SearchDefinition.self, at: path)
  }

  // MARK: - Paths

  func trialFolder(_ trial: Int) -> String { directory + "/trials/" + pad(trial) }
  func rungPath(_ trial: Int, _ epochs: Int) -> String { trialFolder(trial) + "/e" + pad(epochs) + ".json" }
  func statePath(_ trial: Int, _ epochs: Int) -> String { trialFolder(trial) + "/e" + pad(epochs) + ".state" }
  func finalPath(_ seed: UInt64) -> String { directory + "/final/s\(seed).json" }
  var logFolder: String { directory + "/logs" }

  // MARK: - Records

  /// Trial `trial`'s record after `epochs`, or nil when it has not been written.
  func rung(_ trial: Int, _ epochs: Int) throws -> RungRecord? {
    let key = TrialJobKey(trial: trial, epochs: epochs)
    lock.lock()
    if let known = rungs[key] {
      lock.unlock()
      return known
    }
    lock.unlock()
    let path = rungPath(trial, epochs)
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let record = try Ledger.read(RungRecord.self, at: path)
    guard record.trial == trial, record.epochs == epochs else {
      throw NotebookError("\(path): the record is of trial \(record.trial) after \(record.epochs) epochs")
    }
    lock.lock()
    rungs[key] = record
    lock.unlock()
    return record
  }

  /// The saved state of trial `trial` after `epochs` (checked against its record's digest).
  func state(_ trial: Int, _ epochs: Int) throws -> TrialState {
    guard let record = try rung(trial, epochs) else {
      throw NotebookError("\(rungPath(trial, epochs)): missing (trial \(trial) has not reached epoch \(epochs))")
    }
    let path = statePath(trial, epochs)
    let (state, digest) = try Ledger.readWithDigest(TrialState.self, at: path)
    guard digest == record.stateSHA256, state.epochs == epochs else {
      throw NotebookError("\(path): the state does not match its record \(rungPath(trial, epochs))")
    }
    return state
  }

  /// Writes a trial's state, then its record (a record on disk always has its complete state).
  func write(_ record: RungRecord, state: TrialState) throws {
    var record = record
    record.stateSHA256 = try Ledger.write(state, to: statePath(record.trial, record.epochs))
    try Ledger.write(record, to: rungPath(record.trial, record.epochs))
    lock.lock()
    rungs[TrialJobKey(trial: record.trial, epochs: record.epochs)] = record
    lock.unlock()
  }

  /// The records this ledger object has read or written so far (no file system access).
  var knownRecords: [RungRecord] {
    lock.lock()
    defer { lock.unlock() }
    return Array(rungs.values)
  }

  func final(_ seed: UInt64) throws -> FinalRecord? {
    let path = finalPath(seed)
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let record = try Ledger.read(FinalRecord.self, at: path)
    guard record.seed == seed else { throw NotebookError("\(path): the record is of seed \(record.seed)") }
    return record
  }

  func write(_ record: FinalRecord) throws { try Ledger.write(record, to: finalPath(record.seed)) }

  /// Every trial's records, by epochs reached (for the report).
  func records(_ trial: Int) throws -> [RungRecord] {
    try definition.plan.rungs.compactMap { try rung(trial, $0) }
  }

  /// Removes the saved states once the search is decided and its final runs are recorded: they exist only to
  /// resume trials (a state at 224 px is a few MB; a large search's would fill a disk). The records stay.
  func removeStates() {
    for trial in definition.trials.indices {
      for epochs in definition.plan.rungs { unlink(statePath(trial, epochs)) }
    }
  }

  // MARK: - Claims

  /// Who holds a job.
  struct Claim: Codable, Sendable, Equatable {
    var host: String
    var pid: Int32
    /// `SLURM_JOB_ID` of the task, when it runs under Slurm.
    var slurmJob: String?
    var started: Date
  }

  func claimPath(_ job: String) -> String { directory + "/claims/" + job }

  /// Claims `job` for this process: true when it is now ours. A claim left by a dead process of this host is
  /// taken over; a live one (or one on another host) is left alone.
  func claim(_ job: String) throws -> Bool {
    let path = claimPath(job)
    let mine = Claim(
      host: Ledger.hostName, pid: getpid(), slurmJob: ProcessInfo.processInfo.environment["SLURM_JOB_ID"],
      started: Date())
    let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).claim"
    try Ledger.write(mine, to: temporary)
    defer { unlink(temporary) }
    for _ in 0..<2 {
      if link(temporary, path) == 0 { return true }
      guard errno == EEXIST else {
        throw NotebookError("\(path): cannot create the claim (\(String(cString: strerror(errno))))")
      }
      guard let holder = try? Ledger.read(Claim.self, at: path), !Ledger.isStale(holder) else {
        // Stale (its process is gone) or unreadable (torn by a crash before this format's atomic link):
        // remove it and try once more; a concurrent taker may win, which is fine.
        unlink(path)
        continue
      }
      return false
    }
    return false
  }

  func release(_ job: String) { unlink(claimPath(job)) }

  /// The claim on `job`, if any.
  func holder(_ job: String) -> Claim? { try? Ledger.read(Claim.self, at: claimPath(job)) }

  /// A claim whose process is known to be gone: on this host, no such pid; under Slurm, a job Slurm no longer
  /// lists. Any other claim is live (a claim of another host outside Slurm stays until it is removed).
  static func isStale(_ claim: Claim) -> Bool {
    if claim.host == hostName, kill(claim.pid, 0) != 0, errno == ESRCH { return true }
    // A Slurm task that Slurm no longer lists died without releasing its claim.
    if let job = claim.slurmJob, SlurmCommands.isQueued(job) == false { return true }
    return false
  }

  static let hostName: String = ProcessInfo.processInfo.hostName

  // MARK: - Files

  /// Writes `value` as `vpbook-ledger 1 SHA256\n` + JSON, atomically; returns the body's digest.
  @discardableResult
  static func write<T: Encodable>(_ value: T, to path: String) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    let body = try encoder.encode(value)
    let digest = SHA256.hex(body)
    var bytes = Array((header + " " + digest + "\n").utf8)
    bytes += body
    do {
      try VPFiles.AtomicFile.write(bytes, to: path)
    } catch {
      throw NotebookError("\(error)")
    }
    return digest
  }

  static func read<T: Decodable>(_ type: T.Type, at path: String) throws -> T {
    try readWithDigest(type, at: path).value
  }

  static func readWithDigest<T: Decodable>(_ type: T.Type, at path: String) throws -> (value: T, digest: String) {
    let bytes: [UInt8]
    do {
      bytes = try VPFiles.AtomicFile.readAll(path)
    } catch {
      throw NotebookError("\(error)")
    }
    guard let newline = bytes.firstIndex(of: 10),
      let first = String(bytes: bytes[..<newline], encoding: .utf8), first.hasPrefix(header + " ")
    else {
      throw NotebookError("\(path): not a vpbook ledger record (it must start with '\(header) SHA256')")
    }
    let recorded = String(first.dropFirst(header.count + 1))
    let body = Data(bytes[(newline + 1)...])
    guard SHA256.hex(body) == recorded else {
      throw NotebookError(
        "\(path): the record is damaged (its SHA-256 is not the one it was written with); remove it to recompute that job"
      )
    }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    do {
      return (try decoder.decode(T.self, from: body), recorded)
    } catch {
      throw NotebookError("\(path): not a record of this vpbook version (\(error))")
    }
  }

  /// The first field in which two definitions differ, in words.
  static func difference(_ a: SearchDefinition, _ b: SearchDefinition) -> String {
    if a.plan != b.plan { return "schedule \(a.plan) vs \(b.plan)" }
    if a.axes != b.axes { return "axes \(a.axes) vs \(b.axes)" }
    if a.seeds != b.seeds { return "seeds \(a.seeds) vs \(b.seeds)" }
    if a.finalEpochs != b.finalEpochs { return "final epochs \(a.finalEpochs) vs \(b.finalEpochs)" }
    if a.provenance.first != b.provenance.first {
      return "it was started by another vpbook build (\(a.provenance.first ?? "?") vs \(b.provenance.first ?? "?"))"
    }
    if let line = b.provenance.first(where: { !a.provenance.contains($0) }) {
      return "an input file changed: \(line.split(separator: " ").dropFirst().first ?? "?")"
    }
    if a.trials.count != b.trials.count { return "\(a.trials.count) vs \(b.trials.count) trials" }
    if let i = a.trials.indices.first(where: { a.trials[$0] != b.trials[$0] }) {
      return "trial \(i): \(a.trials[i].label) differs in its fixed settings"
    }
    return "format \(a.format) vs \(b.format)"
  }
}

private func pad(_ n: Int) -> String {
  let text = String(n)
  return String(repeating: "0", count: max(0, 4 - text.count)) + text
}
