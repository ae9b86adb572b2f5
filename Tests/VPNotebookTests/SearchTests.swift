import Foundation
import VPEngine
import XCTest

@testable import VPNotebook

/// The scheduler on hand-made learning curves, the ledger's guarantees, and the `search` statement.
final class SearchSchedulerTests: XCTestCase {
  /// `curves[trial]`: validation accuracy after epoch 1, 2, … (what a trial's record would hold).
  private func score(_ curves: [[Double]]) -> (Int, Int) -> Double? { { curves[$0][$1 - 1] } }

  private func plan(trials: Int, grace: Int, max: Int, eta: Int, parallel: Int) -> SchedulePlan {
    SchedulePlan(strategy: .asha, trialCount: trials, grace: grace, maxEpochs: max, eta: eta, parallel: parallel)
  }

  func testRungsAreGraceTimesPowersOfEtaThenTheBudget() {
    XCTAssertEqual(plan(trials: 1, grace: 1, max: 8, eta: 2, parallel: 1).rungs, [1, 2, 4, 8])
    XCTAssertEqual(plan(trials: 1, grace: 1, max: 8, eta: 3, parallel: 1).rungs, [1, 3, 8])
    XCTAssertEqual(plan(trials: 1, grace: 2, max: 5, eta: 2, parallel: 1).rungs, [2, 4, 5])
    var grid = plan(trials: 1, grace: 1, max: 8, eta: 2, parallel: 1)
    grid.strategy = .grid
    XCTAssertEqual(grid.rungs, [8])
  }

  /// η = 2, one worker: a trial is promoted once it is in the top ⌊n/2⌋ of its rung (worked by hand).
  func testAshaWithEtaTwoOnOneWorker() {
    let curves: [[Double]] = [
      [0.30, 0.40, 0.45, 0.50], [0.50, 0.55, 0.57, 0.60], [0.20, 0.25, 0.27, 0.30], [0.60, 0.58, 0.65, 0.70],
    ]
    let step = Scheduler.step(plan(trials: 4, grace: 1, max: 4, eta: 2, parallel: 1), score: score(curves))
    guard case .done(let decisions) = step else { return XCTFail("\(step)") }
    XCTAssertEqual(
      decisions.jobs.map { [$0.trial, $0.from, $0.to] },
      [[0, 0, 1], [1, 0, 1], [1, 1, 2], [2, 0, 1], [3, 0, 1], [3, 1, 2], [3, 2, 4]])
    XCTAssertEqual(decisions.reached, [1, 2, 1, 4])
    XCTAssertEqual(decisions.chosen, 3)
  }

  /// η = 3, two workers: asynchronous order (results revealed at their virtual end time), and a tie at 0.5
  /// broken towards the lower trial id.
  func testAshaWithEtaThreeOnTwoWorkersBreaksTiesByTrialId() {
    let curves: [[Double]] = [
      [0.5, 0.6, 0.65], [0.5, 0.9, 0.9], [0.4, 0.4, 0.4], [0.7, 0.6, 0.6], [0.1, 0.1, 0.1], [0.2, 0.2, 0.2],
    ]
    let step = Scheduler.step(plan(trials: 6, grace: 1, max: 3, eta: 3, parallel: 2), score: score(curves))
    guard case .done(let decisions) = step else { return XCTFail("\(step)") }
    XCTAssertEqual(
      decisions.jobs.map { [$0.trial, $0.from, $0.to] },
      [[0, 0, 1], [1, 0, 1], [2, 0, 1], [3, 0, 1], [3, 1, 3], [4, 0, 1], [5, 0, 1], [0, 1, 3]])
    XCTAssertEqual(decisions.reached, [3, 1, 1, 3, 1, 1])
    // Trial 1 would have been the best at 3 epochs, but it lost the tie at the first rung.
    XCTAssertEqual(decisions.chosen, 0)
  }

  func testTheSchedulerAsksForEveryRunningJobWhoseResultItNeeds() {
    let none: (Int, Int) -> Double? = { _, _ in nil }
    XCTAssertEqual(
      Scheduler.step(plan(trials: 5, grace: 1, max: 4, eta: 2, parallel: 3), score: none),
      .need([
        TrialJob(trial: 0, from: 0, to: 1), TrialJob(trial: 1, from: 0, to: 1), TrialJob(trial: 2, from: 0, to: 1),
      ]))
    // With trial 0 known, nothing more is decided: trials 1 and 2 end at the same time and are revealed
    // before the next decision.
    let some: (Int, Int) -> Double? = { $0 == 0 && $1 == 1 ? 0.5 : nil }
    XCTAssertEqual(
      Scheduler.step(plan(trials: 5, grace: 1, max: 4, eta: 2, parallel: 3), score: some),
      .need([TrialJob(trial: 1, from: 0, to: 1), TrialJob(trial: 2, from: 0, to: 1)]))
    // With the first three known, worker 0 starts trial 3 and worker 1 promotes the best (trial 2).
    let three: (Int, Int) -> Double? = { $1 == 1 && $0 < 3 ? [0.5, 0.4, 0.6][$0] : nil }
    XCTAssertEqual(
      Scheduler.step(plan(trials: 5, grace: 1, max: 4, eta: 2, parallel: 3), score: three),
      .need([
        TrialJob(trial: 2, from: 1, to: 2), TrialJob(trial: 3, from: 0, to: 1), TrialJob(trial: 4, from: 0, to: 1),
      ]))
  }

  func testGridNeedsEveryTrialToTheBudgetThenChoosesTheBest() {
    let grid = SchedulePlan(strategy: .grid, trialCount: 3, grace: 1, maxEpochs: 2, eta: 2, parallel: 4)
    XCTAssertEqual(
      Scheduler.step(grid, score: { _, _ in nil }),
      .need((0..<3).map { TrialJob(trial: $0, from: 0, to: 2) }))
    guard case .done(let d) = Scheduler.step(grid, score: score([[0, 0.3], [0, 0.6], [0, 0.6]])) else {
      return XCTFail()
    }
    XCTAssertEqual(d.chosen, 1)
    XCTAssertEqual(d.reached, [2, 2, 2])
  }

  func testGridOrderAndSeededSamples() {
    let points = SearchDefinition.grid([["image", "32", "64"], ["mapping", "flm", "ilm", "blm"]])
    XCTAssertEqual(points.count, 6)
    XCTAssertEqual(points[0], [["image", "32"], ["mapping", "flm"]])
    XCTAssertEqual(points[1], [["image", "32"], ["mapping", "ilm"]])
    XCTAssertEqual(points[5], [["image", "64"], ["mapping", "blm"]])
    let a = SearchDefinition.sample(4, of: 10, seed: 7)
    XCTAssertEqual(a, SearchDefinition.sample(4, of: 10, seed: 7))
    XCTAssertNotEqual(a, SearchDefinition.sample(4, of: 10, seed: 8))
    XCTAssertEqual(Set(a).count, 4)
    XCTAssertTrue(a.allSatisfy { (0..<10).contains($0) })
    XCTAssertEqual(SearchDefinition.sample(12, of: 10, seed: 7), Array(0..<10))
  }

  func testJobNamesRoundTrip() {
    for job in [SearchJob.trial(TrialJob(trial: 12, from: 2, to: 4)), .final(seed: 9)] {
      XCTAssertEqual(SearchJob(name: job.name), job)
    }
    XCTAssertNil(SearchJob(name: "t1-e4-e2"))
    XCTAssertNil(SearchJob(name: "../x"))
  }
}

final class SearchLedgerTests: XCTestCase {
  private func definition(seeds: [UInt64] = [7]) -> SearchDefinition {
    let trial = TrialConfig(
      id: 0, point: [["image", "16"]], model: ModelChoice(name: .mobilenetV2, weights: nil),
      data: DataSpec(name: "digits", perClass: 3, validationPerClass: 1, test: 5),
      prompt: PromptConfig(kind: .pad, canvas: 32, image: 16), mapping: MappingConfig(.flm),
      training: TrainingConfig(epochs: 2), seed: seeds[0])
    return SearchDefinition(
      plan: SchedulePlan(strategy: .grid, trialCount: 1, grace: 1, maxEpochs: 2, eta: 2, parallel: 1),
      axes: [["image", "16", "24"]], trials: [trial], seeds: seeds, finalEpochs: 2)
  }

  func testALedgerRefusesAnotherSearch() throws {
    let scratch = try Scratch()
    _ = try Ledger(directory: scratch.path("l"), definition: definition())
    _ = try Ledger(directory: scratch.path("l"), definition: definition())
    XCTAssertThrowsError(try Ledger(directory: scratch.path("l"), definition: definition(seeds: [8]))) {
      XCTAssertTrue(
        "\($0)".contains("\(scratch.path("l"))/search.json: this ledger holds a different search (seeds"), "\($0)")
    }
  }

  func testALedgerIsTiedToTheBuildAndTheInputsThatStartedIt() throws {
    let scratch = try Scratch()
    var started = definition()
    started.provenance = ["build aaaa", "input /data/x.gz 1111"]
    _ = try Ledger(directory: scratch.path("l"), definition: started)
    var rebuilt = started
    rebuilt.provenance[0] = "build bbbb"
    XCTAssertThrowsError(try Ledger(directory: scratch.path("l"), definition: rebuilt)) {
      XCTAssertTrue("\($0)".contains("it was started by another vpbook build (build aaaa vs build bbbb)"), "\($0)")
    }
    var changed = started
    changed.provenance[1] = "input /data/x.gz 2222"
    XCTAssertThrowsError(try Ledger(directory: scratch.path("l"), definition: changed)) {
      XCTAssertTrue("\($0)".contains("an input file changed: /data/x.gz"), "\($0)")
    }
    // A worker of another build refuses the ledger's jobs before it loads anything.
    XCTAssertThrowsError(
      try TrialWorker.run(
        .trial(TrialJob(trial: 0, from: 0, to: 2)), ledger: try Ledger(existing: scratch.path("l")),
        resources: RunnerResources())
    ) { XCTAssertTrue("\($0)".contains("this search was started by another vpbook build (build aaaa)"), "\($0)") }
    // The real provenance names this build and every model and data file of the trials.
    let lines = try definition().currentProvenance()
    XCTAssertEqual(lines.first, "build " + NotebookRunner.buildIdentity)
    XCTAssertTrue(lines.contains { $0.hasPrefix("input ") && $0.contains("mobilenet_v2") }, "\(lines)")
  }

  func testADamagedOrForeignRecordIsAnErrorNamingTheFile() throws {
    let scratch = try Scratch()
    let ledger = try Ledger(directory: scratch.path("l"), definition: definition())
    let record = RungRecord(
      trial: 0, epochs: 2, score: 0.5, selectedEpoch: 2, history: [], seconds: 1, host: "h", stateSHA256: "")
    let path = ledger.rungPath(0, 2)
    try Ledger.write(record, to: path)
    XCTAssertEqual(try Ledger(existing: scratch.path("l")).rung(0, 2)?.score, 0.5)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let at = bytes.lastIndex(of: UInt8(ascii: "5"))!
    bytes[at] = UInt8(ascii: "9")
    try bytes.write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try Ledger(existing: scratch.path("l")).rung(0, 2)) {
      XCTAssertTrue("\($0)".contains("\(path): the record is damaged"), "\($0)")
    }
    try Data("{\"trial\": 0}".utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try Ledger(existing: scratch.path("l")).rung(0, 2)) {
      XCTAssertTrue("\($0)".contains("\(path): not a vpbook ledger record"), "\($0)")
    }
    // A record whose state is missing or does not match it is refused when resuming.
    try Ledger.write(record, to: path)
    XCTAssertThrowsError(try Ledger(existing: scratch.path("l")).state(0, 2)) {
      XCTAssertTrue("\($0)".contains(ledger.statePath(0, 2)), "\($0)")
    }
  }

  func testAClaimIsExclusiveAndADeadHoldersClaimIsTakenOver() throws {
    let scratch = try Scratch()
    let ledger = try Ledger(directory: scratch.path("l"), definition: definition())
    try FileManager.default.createDirectory(atPath: scratch.path("l/claims"), withIntermediateDirectories: true)
    XCTAssertTrue(try ledger.claim("t0-e0-e2"))
    XCTAssertFalse(try ledger.claim("t0-e0-e2"), "a live claim (this process) is exclusive")
    ledger.release("t0-e0-e2")
    // A claim left by a process that no longer exists on this host.
    let dead = Ledger.Claim(host: Ledger.hostName, pid: 4_194_303, slurmJob: nil, started: Date())
    try Ledger.write(dead, to: ledger.claimPath("t0-e0-e2"))
    XCTAssertTrue(Ledger.isStale(dead))
    XCTAssertTrue(try ledger.claim("t0-e0-e2"))
    XCTAssertEqual(ledger.holder("t0-e0-e2")?.pid, getpid())
    // Another host's claim (outside Slurm) is left alone.
    ledger.release("t0-e0-e2")
    try Ledger.write(
      Ledger.Claim(host: "elsewhere", pid: 1, slurmJob: nil, started: Date()), to: ledger.claimPath("t0-e0-e2"))
    XCTAssertFalse(try ledger.claim("t0-e0-e2"))
  }

  func testSearchStatementErrorsNameTheLine() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      model mobilenet_v2
      data digits per_class=2 val=1
      prompt pad canvas=32 image=16
      search image=16
      ```

      ```vp
      search mapping=ilm,linear-probe
      ```

      ```vp
      search image=16,24 strategy=grid trials=2
      ```

      ```vp
      search image=16,24 strategy=random
      ```

      ```vp
      search image=16,24 grace=4 max_epochs=4
      ```
      """)
    let outcome = try scratch.run(notebook, keepGoing: true)
    let axes = BlockLanguage.options(of: "search").filter(\.axis).map(\.name).joined(separator: ", ")
    XCTAssertEqual(
      outcome.errors.map(\.description),
      [
        "\(notebook):5: search needs at least one option with several values, e.g. image=32,64,96 (axes: \(axes))",
        "\(notebook):9: a search trains prompts: linear-probe is a baseline (use `baseline linear-probe`)",
        "\(notebook):13: strategy=grid tries every point: leave out trials= (or use strategy=random)",
        "\(notebook):17: strategy=random needs trials=N (the grid has 2 points)",
        "\(notebook):21: grace=4 leaves ASHA no rung below max_epochs=4",
      ])
  }

  /// With a `model` axis, the other models' trials keep the text tower the search's model was given (for
  /// `mapping=semantic text=clip`), with their own installed weights.
  func testAModelAxisKeepsTheTextTower() throws {
    let raw = try BlockSyntax.parse(
      "search model=mobilenet_v2,efficientnet_lite0 mapping=semantic text=clip", firstLine: 1, file: "nb.md")[0]
    let search = try XCTUnwrap(try StatementRegistry.decode(raw, file: "nb.md") as? SearchStatement)
    let model = ModelChoice(name: .mobilenetV2, weights: nil, textEncoder: "/clip.safetensors")
    let definition = try search.makeDefinition(
      model: model, data: DataSpec(name: "digits", perClass: 2, validationPerClass: 1),
      prompt: PromptConfig(kind: .pad, canvas: 32, image: 16))
    XCTAssertEqual(definition.trials.map(\.model.name), [.mobilenetV2, .efficientnetLite0])
    XCTAssertEqual(definition.trials.map(\.model.textEncoder), ["/clip.safetensors", "/clip.safetensors"])
    XCTAssertEqual(definition.trials.map(\.model.weights), [nil, nil])
    XCTAssertEqual(definition.trials[0].mapping, MappingConfig(.semantic, text: .clip))
  }

  func testASearchWithoutAValidationSplitIsRefused() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      model mobilenet_v2
      data digits per_class=2
      prompt pad canvas=32 image=16
      search image=16,24
      ```
      """)
    let outcome = try scratch.run(notebook, keepGoing: true)
    XCTAssertEqual(
      outcome.errors.map(\.description),
      ["\(notebook):5: a search selects on the validation split: the data needs val=N (N ≥ 1)"])
  }
}

/// A `search` block in a notebook: its report, its registered runs, and its ledger beside the cache.
final class SearchNotebookTests: XCTestCase {
  func testANotebookSearchReportsItsTrialsRegistersTheFinalRunsAndResumesFromItsLedger() throws {
    try requireAssets()
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      model mobilenet_v2
      data digits per_class=3 val=2 test=5
      prompt pad canvas=32 image=16
      search image=16,24 mapping=flm,ilm batch=8 strategy=asha grace=1 max_epochs=2 parallel=2 seeds=7,8
      show prompt run=search count=2
      ```
      """)
    let notes = CollectedLines()
    let onEvent: @Sendable (RunnerEvent) -> Void = { event in if case .note(let text) = event { notes.add(text) } }
    let first = try scratch.run(notebook, onEvent: onEvent)
    XCTAssertTrue(first.succeeded, "\(first.errors)")
    for text in [
      "Chosen: trial ", "Trials: validation accuracy", "Validation accuracy (%) per epoch of every trial",
      "trial-epochs against 8 for the full grid", "stopped at 1", "completed", "chosen: trial ",
    ] {
      XCTAssertTrue(first.html.contains(text), "the report lacks '\(text)'")
    }
    XCTAssertTrue(first.html.contains("<svg"), "no chart")
    let trained = notes.texts.filter { $0.hasPrefix("search: trial ") && $0.contains(": image=") }
    XCTAssertGreaterThanOrEqual(trained.count, 5, notes.texts.joined(separator: "\n"))  // 4 trials + promotions

    // Every results table is also a CSV file beside the report.
    let tables = try FileManager.default.contentsOfDirectory(atPath: scratch.path("output/nb.tables")).sorted()
    XCTAssertEqual(tables.count, 2, "\(tables)")
    let trials = try String(contentsOfFile: scratch.path("output/nb.tables/" + tables[0]), encoding: .utf8)
      .split(separator: "\n")
    XCTAssertTrue(tables[0].hasPrefix("01-1-trials"), tables[0])
    XCTAssertEqual(trials.count, 5, "a header and 4 trials")
    XCTAssertEqual(trials[0], "Trial,image,mapping,Epochs,Val. acc. (%),Status,Time (s)")

    let ledgers = try FileManager.default.contentsOfDirectory(atPath: scratch.path("cache/ledgers"))
    XCTAssertEqual(ledgers.count, 1)
    let ledger = scratch.path("cache/ledgers/" + ledgers[0])
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: ledger + "/final").sorted(), ["s7.json", "s8.json"])

    // With the block cache gone but the ledger kept, nothing is trained again and the numbers are the same.
    for entry in try FileManager.default.contentsOfDirectory(atPath: scratch.path("cache")) where entry != "ledgers" {
      try FileManager.default.removeItem(atPath: scratch.path("cache/" + entry))
    }
    notes.removeAll()
    let again = try scratch.run(notebook, onEvent: onEvent)
    XCTAssertTrue(again.succeeded, "\(again.errors)")
    XCTAssertEqual(again.cachedCount, 0)
    XCTAssertTrue(notes.texts.filter { $0.contains(": image=") }.isEmpty, notes.texts.joined(separator: "\n"))
    let accuracy = { (html: String) -> String? in
      html.range(of: #"test [0-9.]+ ± [0-9.]+ %"#, options: .regularExpression).map { String(html[$0]) }
    }
    XCTAssertNotNil(accuracy(first.html))
    XCTAssertEqual(accuracy(again.html), accuracy(first.html))
  }
}
