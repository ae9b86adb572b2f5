import Foundation
import XCTest

@testable import VPNotebook

/// Every notebook in `notebooks/` plans with its default parameters: every statement decodes, every option
/// and name is known, every run a `show` names exists. (Only the tour is run end to end by a test; this
/// catches a shipped notebook that a change of the language broke, without training anything.)
final class ShippedNotebookTests: XCTestCase {
  func testEveryShippedNotebookPlansWithItsDefaults() throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("notebooks")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") }
      .sorted()
    XCTAssertTrue(names.contains("prompt-families.md") && names.contains("tour.md"), "\(names)")
    for name in names {
      let path = folder.appendingPathComponent(name).path
      let source = try NotebookSource.parse(try NotebookSource.read(path: path), file: path)
      let parameters = try source.parameters.resolve(overrides: [], file: nil)
      let plan = Planner.plan(source, parameters: parameters, baseDirectory: folder.path)
      XCTAssertFalse(plan.isEmpty, name)
      for block in plan {
        XCTAssertNil(block.error, "\(name): \(block.error.map { "\($0)" } ?? "")")
      }
    }
  }
}
