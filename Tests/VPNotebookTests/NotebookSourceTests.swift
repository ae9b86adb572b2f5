import VPNotebook
import XCTest

final class NotebookSourceTests: XCTestCase {
  let notebook = """
    ---
    title: Cross references
    ---
    As @fig-acc and @tbl-main show, and @fig-map too.

    ```vp {#tbl-main caption='Main results' width=600}
    table
    ```

    ```vp {#fig-acc caption="Validation accuracy per epoch"}
    compare
    ```

    ```vp
    unlabelled
    ```

    ```vp {#fig-map}
    show mapping
    ```

    ```swift {#fig-not-a-step}
    print("shown as code")
    ```

    A [link about @fig-map](https://example.org) and `@fig-acc` in code. ![alt @fig-acc](x.png)
    """

  func testStepsAndNumbering() throws {
    let source = try NotebookSource.parse(notebook, file: "nb.md")
    XCTAssertEqual(source.steps.map(\.anchor), ["tbl-main", "fig-acc", "step-3", "fig-map"])
    XCTAssertEqual(source.steps.map(\.fenceLine), [6, 10, 14, 18])
    XCTAssertEqual(source.steps[0].info.attributes, ["caption": "Main results", "width": "600"])
    XCTAssertEqual(source.steps[1].code, "compare\n")
    XCTAssertEqual(source.steps[1].firstCodeLine, 11)
    XCTAssertEqual(source.steps.map { $0.target?.name }, ["Table 1", "Figure 1", nil, "Figure 2"])
    XCTAssertEqual(source.crossReferences.target("fig-map")?.number, 2)
    XCTAssertNil(source.crossReferences.target("fig-not-a-step"))
  }

  func testCrossReferencesBecomeLinks() throws {
    let source = try NotebookSource.parse(notebook, file: "nb.md")
    let html = source.render(outputs: [:])
    XCTAssertTrue(
      html.contains(
        "<p>As <a href=\"#fig-acc\">Figure 1</a> and <a href=\"#tbl-main\">Table 1</a> show, and "
          + "<a href=\"#fig-map\">Figure 2</a> too.</p>"), html)
    XCTAssertTrue(html.contains("<a href=\"https://example.org\">link about Figure 2</a>"), html)
    XCTAssertTrue(html.contains("<code>@fig-acc</code>"), html)
    XCTAssertTrue(html.contains("<img src=\"x.png\" alt=\"alt Figure 1\" />"), html)
  }

  func testUnknownReferenceNamesFileAndLine() {
    let text = "---\ntitle: x\n---\n```vp {#fig-acc}\nx\n```\n\nText\nsee @fig-ac here.\n"
    assertThrowsDescription("nb.md:9: unknown reference '@fig-ac' (known: fig-acc)") {
      _ = try NotebookSource.parse(text, file: "nb.md")
    }
  }

  func testLabelErrors() {
    assertThrowsDescription("nb.md:5: label 'fig-a' is already used at line 1") {
      _ = try NotebookSource.parse("```vp {#fig-a}\n```\n\n\n```vp {#fig-a}\n```\n", file: "nb.md")
    }
    assertThrowsDescription(
      "nb.md:2: label 'acc' must start with fig- (a figure) or tbl- (a table)"
    ) {
      _ = try NotebookSource.parse("\n```vp {#acc}\n```\n", file: "nb.md")
    }
    assertThrowsDescription("nb.md:1: the value of 'caption' has no closing \"") {
      _ = try NotebookSource.parse("```vp {caption=\"open}\n```\n", file: "nb.md")
    }
  }

  func testRenderReplacesStepsWithOutputs() throws {
    let source = try NotebookSource.parse(notebook, file: "nb.md")
    let figure = Figure(id: "fig-acc", number: 1, caption: "Acc", content: "<svg></svg>").html()
    let html = source.render(outputs: [source.steps[1].blockIndex: figure])
    XCTAssertTrue(html.contains(figure), html)
    XCTAssertFalse(html.contains("compare"), html)
    XCTAssertTrue(html.contains("<pre><code class=\"language-vp\">table"), html)
  }
}
