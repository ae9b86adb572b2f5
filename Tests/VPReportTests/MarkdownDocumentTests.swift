import VPReport
import VPTestSupport
import XCTest

final class MarkdownDocumentTests: XCTestCase {
  func testTopLevelBlocksAndCodeBlockLines() throws {
    let text = """
      # Title

      Some *prose*.

      ```vp {#fig-acc}
      compare mapping=rlm
      epochs 3
      ```

          indented code

      - a list
      """
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    XCTAssertEqual(
      document.blocks.map(\.kind), [.heading(level: 1), .paragraph, .codeBlock, .codeBlock, .list])
    XCTAssertEqual(document.blocks[1].text, "Some prose.")
    let code = try XCTUnwrap(document.blocks[2].codeBlock)
    XCTAssertEqual(code.info, "vp {#fig-acc}")
    XCTAssertEqual(code.language, "vp")
    XCTAssertEqual(code.literal, "compare mapping=rlm\nepochs 3\n")
    XCTAssertTrue(code.isFenced)
    XCTAssertEqual(code.startLine, 5, "a fenced block starts at its opening fence")
    XCTAssertEqual(code.fileLine(ofCodeLine: 2), 7)
    XCTAssertEqual(document.blocks[2].endLine, 8)
    let indented = try XCTUnwrap(document.blocks[3].codeBlock)
    XCTAssertFalse(indented.isFenced)
    XCTAssertEqual(indented.fileLine(ofCodeLine: 1), 10)
    XCTAssertEqual(document.codeBlocks.map(\.index), [2, 3])
  }

  func testFrontMatterKeepsLineNumbers() throws {
    let text = """
      ---
      title: A study
      authors: [Ada, "Grace <H>"]
      params: {epochs: 6}
      ---
      Prose on line 6.

      ```vp
      first line
      second line
      ```
      """
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    XCTAssertEqual(document.frontMatter.lineCount, 5)
    XCTAssertEqual(document.frontMatter.title, "A study")
    XCTAssertEqual(document.frontMatter.authors, ["Ada", "Grace <H>"])
    XCTAssertEqual(document.blocks[0].startLine, 6)
    let code = try XCTUnwrap(document.blocks[1].codeBlock)
    XCTAssertEqual(code.startLine, 8)
    XCTAssertEqual(code.fileLine(ofCodeLine: 2), 10)
  }

  func testFrontMatterWithCRLFAndSingleAuthor() throws {
    let text = "---\r\ntitle: T\r\nauthor: Solo\r\ndescription: D\r\nextra: 1\r\n---\r\n\r\n# H\r\n"
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    XCTAssertEqual(document.frontMatter.authors, ["Solo"])
    XCTAssertEqual(document.frontMatter.description, "D")
    XCTAssertEqual(document.frontMatter.unknownKeys, ["extra"])
    XCTAssertEqual(document.headings.first?.line, 8)
  }

  func testFrontMatterErrors() {
    assertThrowsDescription("nb.md:1: front matter opened by '---' is never closed by a '---' line") {
      _ = try MarkdownDocument.parse("---\ntitle: x\n", file: "nb.md")
    }
    XCTAssertThrowsError(try MarkdownDocument.parse("---\ntitle: [x\n---\n", file: "nb.md")) {
      error in
      let error = error as? NotebookError
      XCTAssertEqual(error?.file, "nb.md")
      XCTAssertTrue(
        error?.message.hasPrefix("invalid front matter") ?? false, "\(String(describing: error))")
    }
  }

  func testNoFrontMatter() throws {
    let document = try MarkdownDocument.parse("Just prose.\n", file: "nb.md")
    XCTAssertEqual(document.frontMatter, FrontMatter())
    XCTAssertEqual(document.blocks.first?.startLine, 1)
  }

  func testSafeModeDropsAuthorsRawHTML() throws {
    let text = """
      Prose <script>alert(1)</script> and [a link](javascript:alert(2)).

      <div onclick="x()">block html</div>
      """
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    let safe = document.render()
    XCTAssertFalse(safe.contains("<script"), safe)
    XCTAssertFalse(safe.contains("onclick"), safe)
    XCTAssertFalse(safe.contains("javascript:"), safe)
    XCTAssertTrue(safe.contains("raw HTML omitted"), safe)
    let unsafe = document.render(unsafe: true)
    XCTAssertTrue(unsafe.contains("<script>alert(1)</script>"), unsafe)
    XCTAssertTrue(unsafe.contains("<div onclick=\"x()\">block html</div>"), unsafe)
  }

  func testRunnerOutputSurvivesSafeMode() throws {
    let text = """
      Before.

      ```vp
      compare
      ```

      After <em>raw</em>.
      """
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    let svg =
      "<figure id=\"fig-a\"><svg viewBox=\"0 0 10 10\"><rect width=\"5\" height=\"5\"/></svg></figure>"
    let html = document.render(replacing: [1: svg])
    XCTAssertEqual(
      html,
      "<p>Before.</p>\n" + svg
        + "\n<p>After <!-- raw HTML omitted -->raw<!-- raw HTML omitted -->.</p>\n")
    XCTAssertFalse(html.contains("compare"))
  }

  func testHeadingsGetUniqueIDs() throws {
    let text = """
      # Results & “discussion”

      ## Setup

      ## Setup

      > ### Quoted heading

      Setext
      ------

      ## Fig acc
      """
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    XCTAssertEqual(
      document.headings.map(\.id),
      ["results-discussion", "setup", "setup-1", "quoted-heading", "setext", "sec-fig-acc"])
    XCTAssertEqual(document.headings.map(\.level), [1, 2, 2, 3, 2, 2])
    XCTAssertEqual(document.headings[0].text, "Results & “discussion”")
    XCTAssertEqual(document.headings.map(\.line), [1, 3, 5, 7, 9, 12])
    let html = document.render()
    XCTAssertTrue(
      html.contains("<h1 id=\"results-discussion\">Results &amp; “discussion”</h1>"), html)
    XCTAssertTrue(html.contains("<h2 id=\"setup-1\">Setup</h2>"), html)
    XCTAssertTrue(
      html.contains("<blockquote>\n<h3 id=\"quoted-heading\">Quoted heading</h3>"), html)
  }

  func testHeadingIDsStayAlignedWhenABlockIsReplaced() throws {
    let text = "# One\n\n```vp\nx\n```\n\n# Two\n"
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    let html = document.render(replacing: [0: "<p>replaced heading</p>"])
    XCTAssertTrue(html.contains("<h1 id=\"two\">Two</h1>"), html)
  }

  func testSmartPunctuationInProseOnly() throws {
    let document = try MarkdownDocument.parse("\"Quoted\" -- and `\"code\" --`\n", file: "nb.md")
    XCTAssertEqual(
      document.render(), "<p>“Quoted” – and <code>&quot;code&quot; --</code></p>\n")
  }

  func testReferenceMentionsSkipCodeAndEmail() throws {
    let text = """
      See @fig-acc and
      @tbl-main. Not `@fig-code` nor me@fig-mail.org.

      ```
      @fig-in-code
      ```
      """
    let document = try MarkdownDocument.parse(text, file: "nb.md")
    XCTAssertEqual(
      document.references, [.init(label: "fig-acc", line: 1), .init(label: "tbl-main", line: 2)])
  }
}
