import Foundation

/// The fixture file `Fixtures/NAME.EXT` shipped in `bundle` (the calling test target's `Bundle.module`).
public func fixtureURL(_ name: String, _ ext: String, in bundle: Bundle) throws -> URL {
  guard let url = bundle.url(forResource: name, withExtension: ext, subdirectory: "Fixtures") else {
    throw TestAssets.Missing(description: "fixture Fixtures/\(name).\(ext) not in the test bundle")
  }
  return url
}

/// Decodes the JSON fixture `Fixtures/NAME.json` shipped in `bundle` (the calling test target's
/// `Bundle.module`).
public func loadFixture<T: Decodable>(_ name: String, as type: T.Type, in bundle: Bundle) throws -> T {
  try JSONDecoder().decode(T.self, from: Data(contentsOf: try fixtureURL(name, "json", in: bundle)))
}
