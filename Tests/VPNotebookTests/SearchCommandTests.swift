import Foundation
import XCTest

/// `vpbook search` as a user runs it: killed and restarted, two drivers on one ledger, and on a real Slurm
/// cluster on loopback (started by `scripts/slurm-cluster.sh`, torn down after).
final class SearchCommandTests: XCTestCase {
  /// A small ASHA search on digits: 4 trials, rungs at 1 and 2 epochs.
  private func arguments(ledger: String, csv: String, json: String? = nil, perClass: Int = 3) -> [String] {
    [
      "search", "--data", "digits", "--per-class", String(perClass), "--val", "2", "--test", "10", "--canvas", "32",
      "--image",
      "16,24", "--mapping", "flm,ilm", "--batch", "8", "--strategy", "asha", "--grace", "1", "--max-epochs", "2",
      "--eta", "2", "--parallel", "2", "--seeds", "7", "--ledger", ledger, "--csv", csv,
    ] + (json.map { ["--json", $0] } ?? [])
  }

  /// The trial table without the timing column.
  private func table(_ csv: String) throws -> [String] {
    try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map { line in
      var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      fields.remove(at: fields.count - 2)
      return fields.joined(separator: ",")
    }
  }

  private func finalAccuracy(_ json: String) throws -> [Double] {
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
    return (object["finals"] as! [[String: Any]]).map { $0["testAccuracy"] as! Double }
  }

  private func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try vpbookBinary())
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  private func waitUntil(_ timeout: Double = 120, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if condition() { return true }
      Thread.sleep(forTimeInterval: 0.05)
    }
    return false
  }

  private func records(_ ledger: String) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: ledger + "/trials")
    return (enumerator?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".json") }.sorted()
  }

  func testSearchHelpAndErrorsComeFromTheStatementsTables() throws {
    let help = try runVPBook(["search", "--help"])
    XCTAssertEqual(help.status, 0)
    for flag in [
      "--strategy", "--grace", "--max-epochs", "--eta", "--trials", "--parallel", "--final-epochs",
      "--workers", "--on", "--slurm", "--retries", "--ledger", "--csv", "--json", "--per-class", "--image",
    ] {
      XCTAssertTrue(help.stdout.contains(flag), "\(flag) missing from search --help")
    }
    let bad = try runVPBook(["search", "--image", "16,24", "--strategy", "bohb"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("option '--strategy' got unknown value 'bohb'"), bad.stderr)
    let noAxis = try runVPBook(["search", "--image", "16"])
    XCTAssertNotEqual(noAxis.status, 0)
    XCTAssertTrue(noAxis.stderr.contains("search needs at least one option with several values"), noAxis.stderr)
    let unknown = try runVPBook(["search", "--max-epoch", "3"])
    XCTAssertTrue(
      unknown.stderr.contains("unknown option '--max-epoch' for vpbook search (did you mean '--max-epochs'?)"),
      unknown.stderr)
  }

  func testASearchKilledAtSeveralPointsAndRestartedEqualsAnUninterruptedOne() throws {
    try requireAssets()
    let scratch = try Scratch()
    let whole = try runVPBook(
      arguments(ledger: scratch.path("a"), csv: scratch.path("a.csv"), json: scratch.path("a.json")))
    XCTAssertEqual(whole.status, 0, whole.stderr)
    XCTAssertTrue(whole.stdout.contains("chosen: trial "), whole.stdout)
    // Two worker processes give the same search.
    let workers = try runVPBook(
      arguments(ledger: scratch.path("w"), csv: scratch.path("w.csv"), json: scratch.path("w.json")) + [
        "--workers", "2",
      ])
    XCTAssertEqual(workers.status, 0, workers.stderr)
    XCTAssertEqual(try table(scratch.path("w.csv")), try table(scratch.path("a.csv")))
    XCTAssertEqual(try finalAccuracy(scratch.path("w.json")), try finalAccuracy(scratch.path("a.json")))
    XCTAssertTrue(
      FileManager.default.fileExists(atPath: scratch.path("w/logs/t0-e0-e1.0.log")), "worker processes keep logs")

    let ledger = scratch.path("b")
    let args = arguments(ledger: ledger, csv: scratch.path("b.csv"), json: scratch.path("b.json"))
    // Killed between trials (after the first record), then in the middle of a trial (right after a record).
    for count in [1, 3] {
      let driver = try start(args)
      XCTAssertTrue(waitUntil { records(ledger).count >= count }, "no record appeared")
      kill(driver.processIdentifier, SIGKILL)
      driver.waitUntilExit()
    }
    let before = records(ledger)
    XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("b.csv")), "the search must not have finished")
    // Killed while writing a record: a torn temporary file and the claim of a dead process are left behind.
    let folder = ledger + "/trials/0000"
    try Data("vpbook-ledger 1 abc\n{\"tri".utf8).write(to: URL(fileURLWithPath: folder + "/.e0002.json.99.1.tmp"))
    try FileManager.default.createDirectory(atPath: ledger + "/claims", withIntermediateDirectories: true)
    try Data(
      "vpbook-ledger 1 0\n{\"host\":\"\(ProcessInfo.processInfo.hostName)\",\"pid\":4194303}".utf8
    ).write(to: URL(fileURLWithPath: ledger + "/claims/t1-e0-e1"))
    let modified = try before.map {
      try FileManager.default.attributesOfItem(atPath: ledger + "/trials/" + $0)[.modificationDate] as! Date
    }

    let resumed = try runVPBook(args)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(try table(scratch.path("b.csv")), try table(scratch.path("a.csv")))
    XCTAssertEqual(try finalAccuracy(scratch.path("b.json")), try finalAccuracy(scratch.path("a.json")))
    XCTAssertEqual(records(ledger), records(scratch.path("a")))
    // Finished work was not redone: the records written before the kills are untouched.
    for (name, date) in zip(before, modified) {
      XCTAssertEqual(
        try FileManager.default.attributesOfItem(atPath: ledger + "/trials/" + name)[.modificationDate] as? Date, date,
        name)
    }
  }

  func testTwoDriversOnOneLedgerNeverRunTheSameJobTwice() throws {
    try requireAssets()
    let scratch = try Scratch()
    let ledger = scratch.path("l")
    let a = Process()
    a.executableURL = URL(fileURLWithPath: try vpbookBinary())
    // Jobs long enough (60 images per class, about a second each with the fastest kernels seen here) for the
    // second driver to start while the first is still at its first rung.
    a.arguments = arguments(ledger: ledger, csv: scratch.path("a.csv"), perClass: 60)
    let aErr = Pipe()
    a.standardError = aErr
    a.standardOutput = FileHandle.nullDevice
    try a.run()
    // The second starts once the first holds a claim, not after a guessed delay.
    XCTAssertTrue(
      waitUntil { !((try? FileManager.default.contentsOfDirectory(atPath: ledger + "/claims")) ?? []).isEmpty },
      "the first driver never claimed a job")
    let b = try runVPBook(arguments(ledger: ledger, csv: scratch.path("b.csv"), perClass: 60))
    let aText = String(decoding: aErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    a.waitUntilExit()
    XCTAssertEqual(a.terminationStatus, 0, aText)
    XCTAssertEqual(b.status, 0, b.stderr)
    XCTAssertEqual(try table(scratch.path("a.csv")), try table(scratch.path("b.csv")))
    // Every job was trained by exactly one of them ("search: trial N, epoch E: …" is printed by the one that runs it).
    let ran = (aText + b.stderr).split(separator: "\n").filter {
      $0.hasPrefix("search: trial ") && $0.contains(": image=")
    }
    XCTAssertEqual(ran.count, Set(ran).count, ran.joined(separator: "\n"))
    XCTAssertEqual(ran.count, records(ledger).count)
    let ranByA = aText.split(separator: "\n").filter { $0.hasPrefix("search: trial ") && $0.contains(": image=") }
    XCTAssertFalse(ranByA.isEmpty, "the first driver ran nothing")
    XCTAssertLessThan(ranByA.count, ran.count, "the second driver ran nothing: the drivers did not overlap")
  }

  func testOnSlurmEqualsLocalRetriesAFailedTaskAndSurvivesARestartedDriver() throws {
    try requireAssets()
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/slurmctld") else {
      return XCTFail("Slurm is not installed: make test installs slurm-wlm and munge (scripts/setup.sh)")
    }
    let scratch = try Scratch()
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
    let harness = root + "/scripts/slurm-cluster.sh"
    let cluster = "/tmp/vpbook-slurm-\(getpid())"
    let started = try shell(["bash", harness, "start", cluster, "4"])
    defer { _ = try? shell(["bash", harness, "stop", cluster]) }
    XCTAssertEqual(started.status, 0, started.output)
    let conf = cluster + "/slurm.conf"

    let local = try runVPBook(
      arguments(ledger: scratch.path("local"), csv: scratch.path("local.csv"), json: scratch.path("local.json")))
    XCTAssertEqual(local.status, 0, local.stderr)

    // Workers run through a wrapper that fails the first attempt of trial 1 and is slow enough for the
    // driver to be killed while an array is queued or running.
    let wrapper = scratch.write(
      "vpbook-wrapper.sh",
      """
      #!/bin/sh
      marker="\(scratch.path("failed-once"))"
      if [ "$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$4")" = "t1-e0-e1" ] && [ ! -e "$marker" ]; then
        touch "$marker"; echo "injected failure" >&2; exit 3
      fi
      sleep 1
      exec "\(try vpbookBinary())" "$@"
      """)
    chmod(wrapper, 0o755)
    let environment = ["SLURM_CONF": conf, "VPBOOK_BINARY": wrapper]
    let ledger = scratch.path("slurm")
    let args =
      arguments(ledger: ledger, csv: scratch.path("slurm.csv"), json: scratch.path("slurm.json")) + ["--on", "slurm"]
    let driver = try start(args, environment: environment)
    XCTAssertTrue(
      waitUntil {
        ((try? FileManager.default.contentsOfDirectory(atPath: ledger + "/waves")) ?? []).contains {
          $0.hasSuffix(".array")
        }
      })
    kill(driver.processIdentifier, SIGKILL)
    driver.waitUntilExit()
    let resumed = try runVPBook(args, environment: environment)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stderr.contains("was submitted before; waiting for it"), resumed.stderr)
    XCTAssertTrue(resumed.stderr.contains("resubmitting (1 of 2)"), resumed.stderr)
    XCTAssertEqual(try table(scratch.path("slurm.csv")), try table(scratch.path("local.csv")))
    XCTAssertEqual(try finalAccuracy(scratch.path("slurm.json")), try finalAccuracy(scratch.path("local.json")))
    let logs = try FileManager.default.contentsOfDirectory(atPath: ledger + "/logs")
    XCTAssertTrue(logs.contains { $0.hasSuffix(".out") }, "per-task Slurm logs: \(logs)")

    // A task that fails every time is reported with its Slurm log.
    let broken = scratch.write("broken.sh", "#!/bin/sh\necho 'worker exploded' >&2\nexit 4\n")
    chmod(broken, 0o755)
    let failing = try runVPBook(
      arguments(ledger: scratch.path("broken"), csv: scratch.path("broken.csv")) + ["--on", "slurm", "--retries", "1"],
      environment: ["SLURM_CONF": conf, "VPBOOK_BINARY": broken])
    XCTAssertNotEqual(failing.status, 0)
    XCTAssertTrue(failing.stderr.contains("failed 2 time(s) as a Slurm task"), failing.stderr)
    XCTAssertTrue(failing.stderr.contains("worker exploded"), failing.stderr)
  }

  /// Runs a command with posix_spawn and waitpid; its output goes through a file, not a pipe (the harness
  /// leaves daemons running that would hold a pipe open).
  private func shell(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let log = NSTemporaryDirectory() + "/vpbook-shell-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
    defer { try? FileManager.default.removeItem(atPath: log) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = ["/usr/bin/env"] + arguments
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for pointer in cArgs { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, &cArgs, environ)
    guard spawned == 0 else { throw NSError(domain: "posix_spawn", code: Int(spawned)) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exit, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
  }
}
