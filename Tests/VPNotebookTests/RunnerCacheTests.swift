import Foundation
import VPImage
import VPNotebook
import XCTest

/// The per-block cache on the real engine, with a tiny setting (8×8 digits, canvas 32, one epoch).
final class RunnerCacheTests: XCTestCase {
  static func notebook(prose: String = "Some prose.", extra: String = "") -> String {
    """
    ---
    title: Cache test
    params:
      epochs: 1
      seed: 7
    ---
    # Cache test

    \(prose)

    ```vp
    model mobilenet_v2
    data digits per_class=3 val=1 test=2
    prompt pad canvas=32 image=16
    ```

    ```vp
    show data count=2
    ```

    ```vp {#fig-ilm caption="ILM."}
    train mapping=ilm epochs=$epochs seed=$seed batch=16
    ```

    ```vp
    show mapping run=ilm count=1
    ```

    ```vp
    train mapping=flm epochs=1 seed=$seed batch=16 name=fixed
    ```
    \(extra)
    """
  }

  func testProseEditsRunNothingAndParametersRerunExactlyTheBlocksThatReadThem() throws {
    try requireAssets()
    let scratch = try Scratch()
    let path = scratch.write("cache.md", Self.notebook())

    let cold = try scratch.run(path)
    XCTAssertTrue(cold.succeeded, "\(cold.errors)")
    XCTAssertEqual(cold.blocks.map(\.status), [.ran, .ran, .ran, .ran, .ran])

    // Prose edits: nothing is executed, the report is rebuilt from the cache.
    scratch.write("cache.md", Self.notebook(prose: "Other prose, with *emphasis*."))
    let warm = try scratch.run(path)
    XCTAssertEqual(warm.executedCount, 0)
    XCTAssertEqual(warm.blocks.map(\.status), [.cached, .cached, .cached, .cached, .cached])
    XCTAssertTrue(warm.html.contains("Other prose, with <em>emphasis</em>."))
    XCTAssertTrue(warm.html.contains("from cache"))

    // epochs is read by the ILM block only; the mapping view reads the ILM run, so it runs again too.
    let epochs = try scratch.run(path, parameters: ["epochs=2"])
    XCTAssertEqual(epochs.blocks.map(\.status), [.cached, .cached, .ran, .ran, .cached])

    // seed is read by both training blocks.
    let seed = try scratch.run(path, parameters: ["epochs=2", "seed=8"])
    XCTAssertEqual(seed.blocks.map(\.status), [.cached, .cached, .ran, .ran, .ran])

    // A new block that reads a cached run is served from the run's stored results and prompt.
    scratch.write("cache.md", Self.notebook(extra: "\n```vp\nshow prompt run=ilm count=2\n```\n"))
    let added = try scratch.run(path)
    XCTAssertEqual(added.blocks.map(\.status), [.cached, .cached, .cached, .cached, .cached, .ran])
    XCTAssertTrue(added.html.contains("The learned prompt of run ilm"))

    // --no-cache executes everything and leaves the cache alone.
    let uncached = try scratch.run(path, useCache: false)
    XCTAssertEqual(uncached.executedCount, 6)

    // Every cache write went through a temporary file that was renamed.
    let leftovers = (FileManager.default.enumerator(atPath: scratch.path("cache"))?.allObjects as? [String] ?? [])
      .filter { $0.hasSuffix(".tmp") }
    XCTAssertEqual(leftovers, [])
    XCTAssertEqual(try NotebookRunner.cleanCache(directory: scratch.path("cache")), 5 + 2 + 3 + 1)
    XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("cache")))
  }

  func testEngineErrorsAreReportedAtTheStatementAndDependentsAreSkipped() throws {
    try requireAssets()
    let scratch = try Scratch()
    let path = scratch.write(
      "engine.md",
      """
      ```vp
      model mobilenet_v2
      data digits per_class=3 val=1 test=2
      prompt pad canvas=32 image=16
      ```

      ```vp
      train mapping=freqmap m=200 epochs=1 batch=16
      ```

      ```vp
      show prompt run=freqmap(m=200)
      ```

      ```vp
      show data count=1
      ```
      """)
    let outcome = try scratch.run(path, keepGoing: true)
    XCTAssertEqual(outcome.blocks.map(\.status), [.ran, .failed, .skipped, .ran])
    let message = try XCTUnwrap(outcome.errors.first?.description)
    XCTAssertTrue(message.hasPrefix("\(path):8: "), message)
    XCTAssertTrue(message.contains("10 target classes × 200 need more than the model's 1000 source classes"), message)
  }

  /// Class names come from data (here: folder names) and are escaped everywhere they are shown.
  func testClassNamesFromDataAreEscaped() throws {
    try requireAssets()
    let scratch = try Scratch()
    let nasty = "<b>&\"x"
    for (classIndex, name) in [nasty, "plain"].enumerated() {
      let folder = scratch.path("images/\(name)")
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      for i in 0..<7 {
        var pixels = [Float](repeating: 0, count: 12 * 12 * 3)
        for p in 0..<(12 * 12) {
          let on = classIndex == 0 ? (p % 12 < 6) : (p / 12 < 6)
          for c in 0..<3 { pixels[p * 3 + c] = on ? Float(0.6 + 0.05 * Double(i)) : 0.1 }
        }
        try Image(width: 12, height: 12, channels: 3, pixels: pixels).writePNG(toFile: "\(folder)/\(i).png")
      }
    }
    let path = scratch.write(
      "escape.md",
      """
      ```vp
      model mobilenet_v2
      data imagefolder:images per_class=4 val=1 test=2
      prompt pad canvas=32 image=12
      show data count=2
      show zero-shot top=2
      compare mapping=flm,ilm epochs=2 seeds=1,2 batch=8
      show mapping run=ilm
      show prompt run=ilm
      ```
      """)
    let outcome = try scratch.run(path)
    XCTAssertTrue(outcome.succeeded, "\(outcome.errors)")
    XCTAssertFalse(outcome.html.contains(nasty))
    XCTAssertFalse(outcome.html.contains("<b>&"))
    XCTAssertTrue(outcome.html.contains("&lt;b&gt;&amp;&quot;x"))
    let json = try String(contentsOfFile: try XCTUnwrap(outcome.jsonPath), encoding: .utf8)
    XCTAssertTrue(json.contains("\"runs\""))
  }
}
