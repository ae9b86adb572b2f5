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
