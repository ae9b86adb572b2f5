import Foundation

/// Where `scripts/setup.sh` put the real models, data sets and photos.
///
/// The folder is `$VPBOOK_ASSETS` when set; otherwise the first `.cache/assets` found walking up from the
/// current directory, then from the running executable (so `.build/release/vpbook` finds the checkout's
/// cache wherever it is started from).
public enum Assets {
  /// The asset folder, or nil when setup has not run.
  public static var directory: URL? {
    let env = ProcessInfo.processInfo.environment
    if let explicit = env["VPBOOK_ASSETS"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
    let starts = [
      URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
      URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent(),
    ]
    for start in starts {
      var dir = start.standardizedFileURL
      while true {
        let candidate = dir.appendingPathComponent(".cache/assets")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), isDir.boolValue {
          return candidate
        }
        let parent = dir.deletingLastPathComponent()
        if parent.path == dir.path { break }
        dir = parent
      }
    }
    return nil
  }

  /// The path of an asset, e.g. `models/mobilenet_v2-b0353104.pth`, failing with a hint to run setup.
  public static func path(_ relative: String) throws -> String {
    guard let dir = directory else { throw AssetError.missingCache(relative) }
    let url = dir.appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: url.path) else { throw AssetError.missingFile(url.path) }
    return url.path
  }
}

/// An asset that setup should have installed is absent.
public enum AssetError: Error, CustomStringConvertible {
  case missingCache(String)
  case missingFile(String)
  public var description: String {
    switch self {
    case .missingCache(let what):
      return "no asset cache found for '\(what)' (run `make setup` or `scripts/setup.sh`, or set VPBOOK_ASSETS)"
    case .missingFile(let path): return "\(path): asset missing (run `make setup` or `scripts/setup.sh`)"
    }
  }
}
