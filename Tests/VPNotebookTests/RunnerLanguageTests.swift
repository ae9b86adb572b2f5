import Foundation
import VPEngine
import VPNotebook
import VPTestSupport
import XCTest

/// The block language's errors, each at `file:line` (nothing here loads a model or data).
final class RunnerLanguageTests: XCTestCase {
  func testUnknownStatementIsReportedAtItsLineInsideTheBlock() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ---
      params: {epochs: 2}
      ---
      # A notebook

      ```vp
      model mobilenet_v2
      trian mapping=ilm epochs=$epochs
      ```
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertEqual(
      outcome.errors.map(\.description),
      [
        "\(notebook):8: unknown statement 'trian' (did you mean 'train'?); a vp block understands: "
          + BlockLanguage.verbs.joined(separator: ", ")
      ])
    XCTAssertEqual(outcome.blocks.map(\.status), [.failed])
    XCTAssertEqual(outcome.executedCount, 0)
    // The report is written anyway, with a banner that links to the failing block.
    let html = try String(contentsOfFile: outcome.htmlPath, encoding: .utf8)
    XCTAssertTrue(html.contains("class=\"vp-banner\""))
    XCTAssertTrue(html.contains("href=\"#step-1\""))
    XCTAssertTrue(html.contains("id=\"step-1-error\""))
    XCTAssertTrue(html.contains("unknown statement &#39;trian&#39;"))
  }

  func testUnknownParameterReferenceIsReportedAtItsLine() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ---
      params:
        epochs: 2
        seed: 7
      ---
      ```vp
      model mobilenet_v2
      data digits per_class=2
      prompt pad canvas=32 image=16
      train mapping=ilm epochs=$epoch seed=$seed
      ```
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertEqual(
      outcome.errors.map(\.description), ["\(notebook):10: unknown parameter '$epoch' (known: epochs, seed)"])
  }

  func testBadValuesAreReportedAtTheirLine() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      Some prose.

      ```vp
      model mobilenet_v2
      data digits per_class=2

      prompt pad canvas=32 image=16
      train mapping=ilm epochs=1.5
      ```

      ```vp
      train mapping=ilm epoch=3
      ```

      ```vp
      compare mapping=rlm,ilx
      ```

      ```vp
      prompt pad canvas=16
      ```
      """)
    let outcome = try scratch.run(notebook, keepGoing: true)
    XCTAssertEqual(
      outcome.errors.map(\.description),
      [
        "\(notebook):8: option 'epochs' expects a whole number ≥ 1, got '1.5'",
        "\(notebook):12: unknown option 'epoch' for train (did you mean 'epochs'?); known: "
          + BlockLanguage.options(of: "train").map(\.name).joined(separator: ", "),
        "\(notebook):16: option 'mapping' got unknown value 'ilx' (did you mean 'ilm'?); known: "
          + (MappingKind.allCases.map(\.rawValue) + ["linear-probe"]).joined(separator: ", "),
        "\(notebook):20: option 'canvas' expects a whole number ≥ 32, got '16'",
      ])
  }

  func testAParameterOfTheWrongTypeOnTheCommandLineIsAnError() throws {
    let scratch = try Scratch()
    let notebook = scratch.write("nb.md", "---\nparams: {epochs: 2}\n---\nText.\n")
    XCTAssertThrowsError(try scratch.run(notebook, parameters: ["epochs=ten"])) { error in
      XCTAssertEqual("\(error)", "parameter 'epochs' expects an integer, got 'ten'")
    }
    XCTAssertThrowsError(try scratch.run(notebook, parameters: ["epoch=3"])) { error in
      XCTAssertEqual("\(error)", "unknown parameter 'epoch' (known: epochs)")
    }
  }

  func testUnknownCrossReferenceIsReportedAtItsLine() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      # Title

      ```vp {#fig-data}
      show data
      ```

      As @fig-data shows, and as @fig-missing does not.
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertEqual(
      outcome.errors.map(\.description), ["\(notebook):7: unknown reference '@fig-missing' (known: fig-data)"])
    let html = try String(contentsOfFile: outcome.htmlPath, encoding: .utf8)
    XCTAssertTrue(html.contains("class=\"vp-banner\""))
    XCTAssertTrue(html.contains("unknown reference &#39;@fig-missing&#39;"))
  }

  func testMissingFilesAreReportedAtTheirLine() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      model mobilenet_v2 weights=missing.pth
      ```

      ```vp
      data imagefolder:no/such/folder per_class=2
      ```
      """)
    let outcome = try scratch.run(notebook, keepGoing: true)
    let messages = outcome.errors.map(\.description)
    XCTAssertEqual(messages.count, 2)
    XCTAssertTrue(
      messages[0].hasPrefix("\(notebook):2: weights file 'missing.pth' not found (looked for "), messages[0])
    XCTAssertTrue(
      messages[1].hasPrefix("\(notebook):6: data folder 'no/such/folder' not found (looked for "), messages[1])
  }

  func testReadsNeedAnEarlierWrite() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      train mapping=ilm
      ```

      ```vp
      model mobilenet_v2
      data digits per_class=2
      prompt pad canvas=32 image=16
      show mapping run=ilx
      ```
      """)
    let outcome = try scratch.run(notebook, keepGoing: true)
    XCTAssertEqual(
      outcome.errors.map(\.description),
      [
        "\(notebook):2: train needs the model, which no earlier statement sets (add e.g. `model mobilenet_v2` in "
          + "this or an earlier block)",
        "\(notebook):9: show mapping: no run named 'ilx' before this statement (no run so far)",
      ])
  }

  func testKeepGoingSkipsOnlyTheBlocksThatDependOnAFailure() throws {
    try requireAssets()
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      model mobilenet_v2
      prompt pad canvas=32 image=16
      ```

      ```vp
      data digits per_class=2 val=zero
      ```

      ```vp
      show data
      ```

      ```vp
      prompt pad canvas=48 image=40
      ```
      """)
    let keepGoing = try scratch.run(notebook, keepGoing: true)
    XCTAssertEqual(keepGoing.blocks.map(\.status), [.ran, .failed, .skipped, .ran])
    XCTAssertEqual(
      keepGoing.errors.map(\.description), ["\(notebook):7: option 'val' expects a whole number ≥ 0, got 'zero'"])
    XCTAssertEqual(keepGoing.blocks[2].message, "needs the data from step 2 (line 7), which did not run")
    XCTAssertFalse(keepGoing.succeeded)

    let stop = try scratch.run(notebook, useCache: false)
    XCTAssertEqual(stop.blocks.map(\.status), [.ran, .failed, .notRun, .notRun])
    let html = try String(contentsOfFile: stop.htmlPath, encoding: .utf8)
    XCTAssertTrue(html.contains("<a href=\"#step-2\">Go to the failed step</a>"))
    XCTAssertTrue(html.contains("Not run: the run stopped at an earlier failure"))
  }

  func testSetupBlocksDescribeThemselvesAndRunWithoutLoadingAnything() throws {
    try requireAssets()
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ---
      title: Setup only
      params: {canvas: 64}
      ---
      ```vp {#fig-setup caption="The setting."}
      model mobilenet_v2   # the frozen source model
      data fashion-mnist per_class=100 val=20 test=1000 seed=3
      prompt pad canvas=$canvas image=32
      ```

      See @fig-setup.
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertTrue(outcome.succeeded, "\(outcome.errors)")
    let html = outcome.html
    XCTAssertTrue(html.contains("<figure class=\"vp-figure\" id=\"fig-setup\">"))
    XCTAssertTrue(html.contains("<span class=\"vp-label\">Figure 1:</span> The setting."))
    XCTAssertTrue(html.contains("<a href=\"#fig-setup\">Figure 1</a>"))
    XCTAssertTrue(html.contains("100 training and 20 validation images per class"))
    XCTAssertTrue(html.contains("a trainable <strong>padding</strong> of 64 × 64 px around the 32 × 32 px"))
    XCTAssertTrue(html.contains("<span class=\"vp-step-params\">canvas = 64</span>"))
    // The manifest records the block.
    let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: outcome.jsonPath!)))
    let blocks = (manifest as? [String: Any])?["blocks"] as? [[String: Any]]
    XCTAssertEqual(blocks?.first?["status"] as? String, "ran")
  }

  func testRawHTMLInProseIsSanitisedUnlessUnsafe() throws {
    let scratch = try Scratch()
    let notebook = scratch.write("nb.md", "# T\n\n<script>alert(1)</script>\n\n<b>bold</b> text.\n")
    let safe = try scratch.run(notebook)
    XCTAssertFalse(safe.html.contains("<script>alert(1)</script>"))
    XCTAssertFalse(safe.html.contains("<b>bold</b>"))
    let unsafe = try scratch.run(notebook, unsafe: true)
    XCTAssertTrue(unsafe.html.contains("<b>bold</b>"))
  }
}

// MARK: - Support shared by the runner tests

/// Models and data loaded once for every runner test in this process.
let sharedRunnerResources = RunnerResources()

/// A temporary folder for one test, removed afterwards.
final class Scratch {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "vpbook-runner-test-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit {
    try? FileManager.default.removeItem(at: url)
  }

  func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }

  @discardableResult
  func write(_ name: String, _ text: String) -> String {
    let file = path(name)
    try? FileManager.default.createDirectory(
      atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path, withIntermediateDirectories: true)
    try? text.write(toFile: file, atomically: true, encoding: .utf8)
    return file
  }

  /// Runs `notebook` with the cache and outputs inside this folder.
  func run(
    _ notebook: String, parameters: [String] = [], keepGoing: Bool = false, useCache: Bool = true,
    unsafe: Bool = false, output: String? = nil, onEvent: (@Sendable (RunnerEvent) -> Void)? = nil
  ) throws -> RunOutcome {
    var options = RunnerOptions()
    options.onEvent = onEvent
    options.parameterOverrides = parameters
    options.keepGoing = keepGoing
    options.useCache = useCache
    options.unsafe = unsafe
    options.cacheDirectory = path("cache")
    let name = URL(fileURLWithPath: notebook).deletingPathExtension().lastPathComponent
    options.outputHTML = output ?? path("output/\(name).html")
    options.vpbookVersion = "test"
    return try NotebookRunner(resources: sharedRunnerResources).run(notebook: notebook, options: options)
  }
}

/// Fails a test that needs the real model and data when setup has not installed them (see `TestAssets`).
func requireAssets() throws {
  _ = try TestAssets.path("models")
}
