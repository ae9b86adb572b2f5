import Foundation
import VPNotebook
import XCTest

/// notebooks/tour.md end to end on a tiny setting, and its report in a real headless browser.
final class RunnerTourTests: XCTestCase {
  /// The tour, run once per test process with small parameters; shared by the tests below.
  final class TourRun: @unchecked Sendable {
    static let shared = TourRun()
    private let lock = NSLock()
    private var result: Result<(RunOutcome, Scratch), Error>?

    func outcome() throws -> (RunOutcome, Scratch) {
      lock.lock()
      defer { lock.unlock() }
      if result == nil {
        result = Result {
          let scratch = try Scratch()
          let tour = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("notebooks/tour.md").path
          let outcome = try scratch.run(
            tour,
            parameters: [
              "per_class=4", "val=1", "test=2", "epochs=2", "canvas=32", "image=24", "seeds=7",
            ], output: scratch.path("output/tour.html"))
          return (outcome, scratch)
        }
      }
      return try result!.get()
    }
  }

  func testTourRunsEndToEndOnATinySetting() throws {
    try requireAssets()
    let (outcome, _) = try TourRun.shared.outcome()
    XCTAssertTrue(outcome.succeeded, "\(outcome.errors)")
    XCTAssertEqual(outcome.blocks.map(\.status), Array(repeating: .ran, count: 6))
    let html = outcome.html
    for id in ["fig-data", "tbl-zero-shot", "fig-mappings", "fig-ilm-mapping", "fig-prompt"] {
      XCTAssertTrue(html.contains("id=\"\(id)\""), "missing \(id)")
    }
    XCTAssertTrue(html.contains("<span class=\"vp-label\">Table 1:</span>"))
    XCTAssertTrue(html.contains("<span class=\"vp-label\">Figure 4:</span>"))
    XCTAssertTrue(html.contains("<svg"))
    XCTAssertTrue(html.contains("data:image/png;base64,"))
    XCTAssertTrue(html.contains("class=\"vp-chart vp-heatmap\""))
    XCTAssertTrue(html.contains("class=\"vp-chart vp-timeline\""))
    XCTAssertTrue(html.contains("<h2 id=\"appendix\">Appendix</h2>"))
    XCTAssertTrue(html.contains("libcmark"))
    XCTAssertTrue(html.contains("OpenBLAS"))
    XCTAssertFalse(html.contains("http://") && html.contains("<link"), "the report must not load anything")
    XCTAssertFalse(html.contains("<script"), "the report has no scripts")

    // The manifest holds every result.
    let data = try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(outcome.jsonPath)))
    let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let runs = try XCTUnwrap(manifest["runs"] as? [[String: Any]])
    XCTAssertEqual(runs.compactMap { $0["name"] as? String }, ["rlm", "flm", "ilm"])
    let parameters = try XCTUnwrap(manifest["parameters"] as? [String: Any])
    XCTAssertEqual(parameters["epochs"] as? Int, 2)
    XCTAssertEqual(manifest["succeeded"] as? Bool, true)
  }

  func testTourReportRendersInAHeadlessBrowser() throws {
    try requireAssets()
    guard let browser = BrowserCheck.findBrowser() else {
      if ProcessInfo.processInfo.environment["CI"] == "true" {
        XCTFail("chromium is not installed (scripts/setup.sh --browser installs it); CI must run this check")
        return
      }
      throw XCTSkip("chromium is not installed (scripts/setup.sh --browser installs it)")
    }
    let (outcome, scratch) = try TourRun.shared.outcome()
    let report = try BrowserCheck.run(
      htmlFile: outcome.htmlPath, browser: browser, screenshot: scratch.path("tour.png"))
    XCTAssertEqual(report.problems, [])
    XCTAssertEqual(report.screenshotWidth, 1200)
    XCTAssertEqual(report.screenshotHeight, 2000)
    XCTAssertGreaterThanOrEqual(report.svgCount, 3, "curves, heat map and timeline")
    XCTAssertGreaterThan(report.imageCount, 10)
    XCTAssertGreaterThanOrEqual(report.figureCount, 4)
    XCTAssertGreaterThan(report.documentHeight, 3000)
  }
}
