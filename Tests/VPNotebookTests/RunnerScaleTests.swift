import Foundation
import VPEngine
import VPNotebook
import XCTest

/// AutoVP's learnable input scale in the block language: `prompt pad scale=learn`, the `scale` option of
/// `train`/`compare` and the `scale=fixed,learn` sweep axis, and how the report shows the learned σ.
final class RunnerScaleTests: XCTestCase {
  func testScaleSweepTrainsBothAndTheReportShowsTheLearnedScale() throws {
    try requireAssets()
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      model mobilenet_v2
      data digits per_class=3 val=1 test=2
      prompt pad canvas=32 image=16
      sweep mapping=flm scale=fixed,learn epochs=2 lr=0.05 schedule=constant
      ```

      ```vp {#fig-learned}
      show prompt run=scale=learn count=2
      ```

      ```vp
      show table
      ```

      ```vp
      sweep mapping=rlm,flm scale=fixed,learn epochs=1 lr=0.05 schedule=constant name=grid
      ```
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertTrue(outcome.succeeded, "\(outcome.errors)")
    let html = outcome.html
    XCTAssertTrue(html.contains(">Scale σ<"), "the results table has no scale column")
    XCTAssertTrue(html.contains("learned input scale σ = "), "the prompt figure does not give σ")
    XCTAssertTrue(html.contains("zoomed ×"))
    // A single-axis sweep has a σ column; a two-axis (pivot) sweep a second pivot of the learned σ.
    XCTAssertTrue(html.contains("Learned input scale σ by mapping × input scale"))
    XCTAssertTrue(html.contains("scale = learn"))

    let data = try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(outcome.jsonPath)))
    let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let runs = try XCTUnwrap(manifest["runs"] as? [[String: Any]])
    XCTAssertEqual(
      runs.compactMap { $0["name"] as? String },
      [
        "scale=fixed", "scale=learn", "grid/mapping=rlm/scale=fixed", "grid/mapping=rlm/scale=learn",
        "grid/mapping=flm/scale=fixed", "grid/mapping=flm/scale=learn",
      ])
    let fixed = try XCTUnwrap((runs[0]["results"] as? [[String: Any]])?.first)
    let learned = try XCTUnwrap((runs[1]["results"] as? [[String: Any]])?.first)
    XCTAssertNil(fixed["inputScale"])
    XCTAssertEqual((fixed["prompt"] as? [String: Any])?["learnableScale"] as? Bool, nil)
    XCTAssertEqual((learned["prompt"] as? [String: Any])?["learnableScale"] as? Bool, true)
    let sigma = try XCTUnwrap(learned["inputScale"] as? Double)
    XCTAssertNotEqual(sigma, 1, "σ did not move")
    XCTAssertTrue((0.1...5).contains(sigma))
  }

  func testBadScaleOptionsAreReportedAtTheirLine() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "nb.md",
      """
      ```vp
      prompt pad canvas=64 image=32 scale=lern
      ```

      ```vp
      prompt watermark canvas=64 scale=learn
      ```

      ```vp
      sweep mapping=flm scale=fixed,big
      ```
      """)
    let outcome = try scratch.run(notebook, keepGoing: true)
    XCTAssertEqual(
      outcome.errors.map(\.description),
      [
        "\(notebook):2: option 'scale' got unknown value 'lern' (did you mean 'learn'?); known: fixed, learn",
        "\(notebook):6: unknown option 'scale' for prompt watermark; known: canvas, frame",
        "\(notebook):10: option 'scale' got unknown value 'big'; known: fixed, learn",
      ])
  }
}
