import Foundation
import VPTestSupport
import XCTest

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
