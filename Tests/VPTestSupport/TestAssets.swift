import Foundation
import VPAssets
import XCTest

/// The real assets for the tests, found the way the tools find them (`VPAssets.Assets`: `$VPBOOK_ASSETS`, else
/// the first `.cache/assets` above the current directory or the test executable).
///
/// A missing asset fails the test with a message that says how to provide it; `VPBOOK_ALLOW_MISSING_ASSETS=1`
/// turns that into a skip.
public enum TestAssets {
  public struct Missing: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
  }

  /// The asset folder, or nil when setup has not run.
  public static var root: String? { Assets.directory?.path }

  /// The path of `relative` under the asset folder (e.g. `models/mobilenet_v2-b0353104.pth`).
  public static func path(_ relative: String) throws -> String {
    if let root, FileManager.default.fileExists(atPath: root + "/" + relative) { return root + "/" + relative }
    try missing("test asset \(relative) (looked in \(root ?? "<no .cache/assets found>"))")
  }

  /// The Fashion-MNIST folder: `$VPBOOK_FASHION_MNIST`, else `ASSETS/data/fashion-mnist`, else Debian's
  /// `/usr/share/datasets/fashion-mnist` (where `DataCatalog` looks).
  public static func fashionMNISTDirectory() throws -> String {
    var candidates = [String]()
    if let explicit = ProcessInfo.processInfo.environment["VPBOOK_FASHION_MNIST"], !explicit.isEmpty {
      candidates.append(explicit)
    }
    if let root { candidates.append(root + "/data/fashion-mnist") }
    candidates.append("/usr/share/datasets/fashion-mnist")
    for candidate in candidates
    where FileManager.default.fileExists(atPath: candidate + "/train-images-idx3-ubyte.gz") {
      return candidate
    }
    try missing("Fashion-MNIST (looked in \(candidates.joined(separator: ", ")); set VPBOOK_FASHION_MNIST)")
  }

  /// Fails the test (throws `Missing`), or skips it with `VPBOOK_ALLOW_MISSING_ASSETS=1`.
  public static func missing(_ what: String) throws -> Never {
    let message =
      "missing \(what); run `make setup` or set VPBOOK_ASSETS, or VPBOOK_ALLOW_MISSING_ASSETS=1 to skip"
    if ProcessInfo.processInfo.environment["VPBOOK_ALLOW_MISSING_ASSETS"] == "1" { throw XCTSkip(message) }
    throw Missing(description: message)
  }
}
