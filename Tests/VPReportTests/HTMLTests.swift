import VPReport
import VPTestSupport
import XCTest

final class HTMLTests: XCTestCase {
  static let nasty = "<b>&\"'"

  func testEscape() {
    XCTAssertEqual(HTML.escape(Self.nasty), "&lt;b&gt;&amp;&quot;&#39;")
    XCTAssertEqual(HTML.escape("plain ünïcode"), "plain ünïcode")
  }

  static let table = ResultsTable(
    columns: [
      .init("Mapping", better: .none),
      .init("Accuracy", unit: "%"),
      .init("Loss", better: .lower, decimals: 3),
      .init("Notes", better: .none),
    ],
    rows: [
      [
        .text("RLM"), .measurement(.init(mean: 61.27, std: 1.04, n: 3)), .value(1.2345),
        .text("random"),
      ],
      [.text("FLM"), .measurement(.init(mean: 71.3, std: 0.84, n: 3)), .value(0.9876), .empty],
      [
        .text("ILM"), .measurement(.init(mean: 71.34, std: 0.5, n: 3)), .value(.nan),
        .text("iterative"),
      ],
      [.text(nasty), .measurement(.init(mean: 12)), .value(0.9876)],
    ],
    caption: "Test accuracy on Fashion-MNIST <3", number: 2, id: "tbl-main")

  func testResultsTableGolden() {
    assertGolden(Self.table.html(), named: "results-table.html")
  }

  func testResultsTableBestValuesAndEscaping() {
    let html = Self.table.html()
    XCTAssertEqual(Self.table.bestRows(column: 1), [1, 2], "71.3 and 71.34 tie at one decimal")
    XCTAssertEqual(Self.table.bestRows(column: 2), [1, 3])
    XCTAssertEqual(Self.table.bestRows(column: 0), [])
    XCTAssertTrue(
      html.contains("<td class=\"num\" title=\"n = 3\"><strong>71.3 ± 0.8</strong></td>"), html)
    XCTAssertTrue(html.contains("<td>&lt;b&gt;&amp;&quot;&#39;</td>"), html)
    XCTAssertFalse(html.contains(Self.nasty))
    XCTAssertTrue(
      html.contains("<caption><span class=\"vp-label\">Table 2:</span> Test accuracy"), html)
    XCTAssertTrue(html.contains("<table class=\"vp-table\" id=\"tbl-main\">"), html)
    assertWellFormedXML(html)
  }

  func testFigure() {
    let figure = Figure(
      id: "fig-acc", number: 1, caption: "Accuracy <per> epoch", content: "<svg/>")
    XCTAssertEqual(
      figure.html(),
      "<figure class=\"vp-figure\" id=\"fig-acc\">\n<svg/>\n<figcaption><span class=\"vp-label\">Figure 1:</span> "
        + "Accuracy &lt;per&gt; epoch</figcaption>\n</figure>\n")
    XCTAssertEqual(
      Figure(content: "<svg/>").html(), "<figure class=\"vp-figure\">\n<svg/>\n</figure>\n")
  }

  func testDataURI() {
    XCTAssertEqual(DataURI.png([0x89, 0x50, 0x4E, 0x47]), "data:image/png;base64,iVBORw==")
    XCTAssertTrue(
      Figure.image(png: [1, 2, 3], alt: "a \"b\"").hasPrefix(
        "<img src=\"data:image/png;base64,AQID\" alt=\"a &quot;b&quot;\""))
  }

  func testTableOfContentsNeedsTwoEntries() {
    let one = ReportPage(
      title: "T", toc: [Heading(level: 2, text: "Only", id: "only", line: 1)], bodyHTML: "")
    XCTAssertEqual(one.tocHTML(), "")
  }
}
