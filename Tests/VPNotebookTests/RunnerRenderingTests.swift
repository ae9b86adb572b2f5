import Foundation
import VPEngine
import VPNotebook
import XCTest

/// The runner's results table and curve chart against golden files, from fixed run results.
final class RunnerRenderingTests: XCTestCase {
  /// Two seeds each of RLM, FLM and ILM (a trimmed copy of a real run's results), with one run renamed so
  /// that its name needs escaping.
  static func fixture() throws -> [RunResult] {
    let url = goldenDirectory.appendingPathComponent("runner-results.json")
    var results = try ResultsJSON.decoder().decode([RunResult].self, from: Data(contentsOf: url))
    for index in results.indices where results[index].name == "ilm" {
      results[index].name = "ilm <b>&\""
    }
    return results
  }

  func testResultsTableGolden() throws {
    let html = RunnerRendering.resultsTable(try Self.fixture())
    assertGolden(html, named: "runner-results-table.html")
    assertWellFormedXML("<div>" + html + "</div>")
    XCTAssertFalse(html.contains("<b>&"))
    XCTAssertTrue(html.contains("<td>ilm &lt;b&gt;&amp;&quot;</td>"))
    // Mean ± std over the two seeds, the best test accuracy in bold.
    XCTAssertTrue(html.contains("<strong>"))
    XCTAssertTrue(html.contains(" ± "))
  }

  func testCurvesChartGolden() throws {
    let svg = try XCTUnwrap(RunnerRendering.curves(try Self.fixture()))
    assertGolden(svg, named: "runner-curves.svg")
    assertWellFormedXML(svg)
    XCTAssertFalse(svg.contains("<b>&"))
    XCTAssertEqual(svg.components(separatedBy: "class=\"vp-band\"").count - 1, 3, "one ± std band per mapping")
    XCTAssertTrue(svg.contains(">validation accuracy (%)</text>"))
    let loss = try XCTUnwrap(RunnerRendering.curves(try Self.fixture(), metric: "loss"))
    XCTAssertTrue(loss.contains(">training loss</text>"))
  }
}
