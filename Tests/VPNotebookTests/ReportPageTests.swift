import VPNotebook
import XCTest

/// A notebook's steps rendered into a report page.
final class ReportPageTests: XCTestCase {
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
}
