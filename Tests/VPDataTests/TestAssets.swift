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

  /// The Fashion-MNIST directory: `VPBOOK_FASHION_MNIST`, else `ASSETS/data/fashion-mnist`, else
  /// `/usr/share/datasets/fashion-mnist`; throws (fail) or skips when none holds the files.
  static func fashionMNISTDirectory() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    var candidates = [String]()
    if let explicit = environment["VPBOOK_FASHION_MNIST"], !explicit.isEmpty {
      candidates.append(explicit)
    }
    if let root = root() { candidates.append(root + "/data/fashion-mnist") }
    candidates.append("/usr/share/datasets/fashion-mnist")
    for candidate in candidates
    where FileManager.default.fileExists(atPath: candidate + "/train-images-idx3-ubyte.gz") {
      return candidate
    }
    let message =
      "missing Fashion-MNIST (looked in \(candidates.joined(separator: ", "))); set VPBOOK_FASHION_MNIST, "
      + "or VPBOOK_ALLOW_MISSING_ASSETS=1 to skip"
    if environment["VPBOOK_ALLOW_MISSING_ASSETS"] == "1" { throw XCTSkip(message) }
    throw Missing(description: message)
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
