import VPNotebook
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

  func testReportPageIsSelfContained() throws {
    let source = try NotebookSource.parse(
      """
      ---
      title: A <study>
      authors: [Ada, Grace]
      description: What "we" did.
      ---
      # Intro

      See @fig-acc.

      ## Method

      ```vp {#fig-acc}
      compare
      ```

      # Results
      """, file: "nb.md")
    let step = source.steps[0]
    let chart = SVGChart.Line(series: [.init(name: "ILM", y: [0.1, 0.5])]).svg()
    let body = source.render(outputs: [
      step.blockIndex: Figure(
        id: step.anchor, number: step.target?.number, caption: "Acc", content: chart
      ).html()
    ])
    let page = ReportPage(
      title: source.frontMatter.title ?? "", authors: source.frontMatter.authors,
      description: source.frontMatter.description, toc: source.document.headings, bodyHTML: body,
      appendixHTML: "<p>Run details.</p>",
      bannerHTML: ReportPage.errorBanner(
        message: "step 2 (line 9) failed: <boom>", anchor: "step-2")
    ).html()
    XCTAssertTrue(page.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
    XCTAssertTrue(page.contains("<title>A &lt;study&gt;</title>"))
    XCTAssertTrue(page.contains("<p class=\"vp-authors\">Ada, Grace</p>"))
    XCTAssertTrue(page.contains("<p class=\"vp-description\">What &quot;we&quot; did.</p>"))
    XCTAssertTrue(
      page.contains("failed: &lt;boom&gt; <a href=\"#step-2\">Go to the failed step</a>"), page)
    XCTAssertTrue(
      page.contains(
        "<ol><li><a href=\"#intro\">Intro</a><ol><li><a href=\"#method\">Method</a></li>\n</ol></li>\n"
          + "<li><a href=\"#results\">Results</a></li></ol>"), page)
    XCTAssertTrue(page.contains("<a href=\"#fig-acc\">Figure 1</a>"))
    XCTAssertTrue(page.contains("<figure class=\"vp-figure\" id=\"fig-acc\">"))
    XCTAssertTrue(page.contains("@media print"))
    XCTAssertTrue(page.contains("size: A4"))
    for forbidden in ["<script", "<link", "@import", "src=\"http", "url(", "<iframe"] {
      XCTAssertFalse(page.contains(forbidden), "the page must not contain \(forbidden)")
    }
    let urls = page.components(separatedBy: "http").dropFirst().map { String($0.prefix(30)) }
    XCTAssertTrue(urls.allSatisfy { $0.hasPrefix("://www.w3.org/2000/svg\"") }, "\(urls)")
    XCTAssertNil(
      tagBalanceProblem(
        page.replacingOccurrences(of: "<!DOCTYPE html>", with: "")
          .replacingOccurrences(of: "<meta charset=\"utf-8\">", with: "")
          .replacingOccurrences(
            of: "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", with: ""
          )
          .replacingOccurrences(of: "<meta name=\"generator\" content=\"vpbook\">", with: "")
          .replacingOccurrences(of: "<meta name=\"author\" content=\"Ada, Grace\">", with: "")
          .replacingOccurrences(
            of: "<meta name=\"description\" content=\"What &quot;we&quot; did.\">", with: ""
          )
          .replacingOccurrences(of: ReportPage.css, with: "")))
  }

  func testTableOfContentsNeedsTwoEntries() {
    let one = ReportPage(
      title: "T", toc: [Heading(level: 2, text: "Only", id: "only", line: 1)], bodyHTML: "")
    XCTAssertEqual(one.tocHTML(), "")
  }
}
