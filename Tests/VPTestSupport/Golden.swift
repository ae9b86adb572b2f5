import Foundation
import XCTest

/// Compares `actual` with the committed golden file `Golden/NAME` next to the calling test file (found from
/// `file`, the caller's `#filePath`, so UPDATE_GOLDEN=1 can write into the sources); with UPDATE_GOLDEN=1 it
/// rewrites the file instead.
public func assertGolden(
  _ actual: String, named name: String, file: StaticString = #filePath, line: UInt = #line
) {
  let url = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
    .appendingPathComponent("Golden").appendingPathComponent(name)
  if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
    XCTAssertNoThrow(
      try actual.write(to: url, atomically: true, encoding: .utf8), file: file, line: line)
    return
  }
  guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
    XCTFail(
      "missing golden file \(name); run the tests with UPDATE_GOLDEN=1 to create it", file: file,
      line: line)
    return
  }
  if actual != expected {
    let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let first = zip(actualLines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }
    let location =
      first.map { "line \($0.offset + 1):\n  got      \($0.element.0)\n  expected \($0.element.1)" }
      ?? "lengths differ (\(actualLines.count) vs \(expectedLines.count) lines)"
    let message =
      "\(name) differs from its golden file at \(location) (UPDATE_GOLDEN=1 regenerates)"
    XCTFail(message, file: file, line: line)
  }
}
