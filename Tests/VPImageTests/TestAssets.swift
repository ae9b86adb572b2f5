import Foundation
import XCTest

/// Locates the real test assets (`.cache/assets`).
///
/// `VPBOOK_ASSETS` wins; otherwise the directories above this file are searched for
/// `.cache/assets`. A missing asset fails the test with a clear message, unless
/// `VPBOOK_ALLOW_MISSING_ASSETS=1`, which turns it into a skip.
enum TestAssets {
  struct Missing: Error, CustomStringConvertible {
    var description: String
  }

  static func root(file: StaticString = #filePath) -> String? {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["VPBOOK_ASSETS"], !explicit.isEmpty { return explicit }
    var directory = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
    while directory.path != "/" {
      let candidate = directory.appendingPathComponent(".cache/assets")
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory),
        isDirectory.boolValue
      {
        return candidate.path
      }
      directory = directory.deletingLastPathComponent()
    }
    return nil
  }

  /// The path of `relative` under the assets root; throws (fail) or skips when it is missing.
  static func path(_ relative: String) throws -> String {
    let allowMissing = ProcessInfo.processInfo.environment["VPBOOK_ALLOW_MISSING_ASSETS"] == "1"
    let found = root().map { $0 + "/" + relative }
    if let found, FileManager.default.fileExists(atPath: found) { return found }
    let message =
      "missing test asset \(relative) (looked in \(root() ?? "<no .cache/assets above the tests; set VPBOOK_ASSETS>")); "
      + "set VPBOOK_ASSETS=/path/to/.cache/assets, or VPBOOK_ALLOW_MISSING_ASSETS=1 to skip"
    if allowMissing { throw XCTSkip(message) }
    throw Missing(description: message)
  }
}

/// Loads a JSON fixture shipped with the tests.
func loadFixture<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
  guard
    let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures")
  else {
    throw TestAssets.Missing(description: "fixture Fixtures/\(name).json not in the test bundle")
  }
  return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
}

/// `|a - b| <= tolerance * max(1, |b|)` for every element.
func assertClose(
  _ actual: [Float], _ expected: [Double], tolerance: Double = 1e-5, _ message: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
  var failures = 0
  for (i, (a, b)) in zip(actual, expected).enumerated() {
    if abs(Double(a) - b) > tolerance * max(1, abs(b)) {
      failures += 1
      if failures <= 5 {
        XCTFail("\(message) [\(i)]: \(a) vs expected \(b)", file: file, line: line)
      }
    }
  }
  if failures > 5 { XCTFail("\(message): \(failures) mismatches in all", file: file, line: line) }
}
