import ArgumentParser
import Foundation
import VPFiles
import VPNotebook

struct CheckReport: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-report",
    abstract: "Open a report in headless chromium and check that it renders (screenshot, SVG sizes, console).")

  @Argument(help: "The HTML report.")
  var report: String

  @Option(help: "Keep the screenshot here.")
  var screenshot: String?

  func run() throws {
    // A report whose pair write was killed between its renames is finished first (the journal's job).
    if AtomicFile.recover(folder: URL(fileURLWithPath: report).deletingLastPathComponent().path) > 0 {
      note("finished an interrupted write of the report's files")
    }
    let result = try BrowserCheck.run(htmlFile: report, screenshot: screenshot)
    print(
      "\(report): \(result.svgCount) SVGs, \(result.imageCount) images, \(result.figureCount) figures, "
        + "\(result.tableCount) tables, \(result.documentHeight) px tall; screenshot \(result.screenshotWidth)×"
        + "\(result.screenshotHeight), grey-level std \(String(format: "%.3f", result.pixelStandardDeviation))")
    let problems = result.problems
    for problem in problems { note("problem: \(problem)") }
    if !problems.isEmpty { throw ExitCode(1) }
  }
}
