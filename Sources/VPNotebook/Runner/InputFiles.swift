import Foundation
import VPAssets
import VPEngine
import VPFiles
import VPModels

/// One file (or folder) a block loads, with its digest.
public struct InputDigest: Codable, Sendable, Hashable {
  /// The path as used.
  public var path: String
  /// SHA-256 of the contents (files), or of the sorted listing of names, sizes and modification times
  /// (folders such as an image folder).
  public var sha256: String
  /// Size in bytes (the sum over a folder).
  public var bytes: Int64
  /// Whether `sha256` is over a folder listing rather than contents.
  public var isListing: Bool
}

/// Where the files behind models and data sets are, and their digests.
enum InputFiles {
  /// `path` as given when absolute; otherwise relative to the notebook's folder when it exists there, else
  /// relative to the current folder (so a path given with `-p` from the shell works too).
  static func resolve(_ path: String, baseDirectory: String) -> String {
    if path.hasPrefix("/") { return path }
    let nearNotebook = URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardizedFileURL.path
    if FileManager.default.fileExists(atPath: nearNotebook) { return nearNotebook }
    let nearCaller = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
      .standardizedFileURL.path
    if FileManager.default.fileExists(atPath: nearCaller) { return nearCaller }
    return nearNotebook
  }

  /// The places `resolve` looks, in order: the notebook's folder, then the current folder.
  static func candidates(_ path: String, baseDirectory: String) -> [String] {
    if path.hasPrefix("/") { return [path] }
    let nearNotebook = URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardizedFileURL.path
    let nearCaller = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
      .standardizedFileURL.path
    return nearNotebook == nearCaller ? [nearNotebook] : [nearNotebook, nearCaller]
  }

  static let pathPrefixes = ["imagefolder:", "cifar10:", "cifar100:"]

  /// A data set name with the path of `imagefolder:`/`cifar10:`/`cifar100:` resolved.
  static func resolveDataName(_ name: String, baseDirectory: String) -> String {
    for prefix in pathPrefixes where name.hasPrefix(prefix) {
      return prefix + resolve(String(name.dropFirst(prefix.count)), baseDirectory: baseDirectory)
    }
    return name
  }

  /// Fails at `line` when a data set's folder does not exist.
  static func checkDataExists(_ name: String, written: String, file: String, line: Int) throws {
    for prefix in pathPrefixes where name.hasPrefix(prefix) {
      let path = String(name.dropFirst(prefix.count))
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw NotebookError(
          "data folder '\(written.dropFirst(prefix.count))' not found (looked for \(path))", file: file, line: line)
      }
    }
  }

  /// The files a model loads: its checkpoint and the ImageNet class names.
  static func files(for model: ModelChoice) throws -> [(path: String, listing: Bool)] {
    var files: [(String, Bool)] = []
    if let weights = model.weights {
      guard FileManager.default.fileExists(atPath: weights) else {
        throw NotebookError("weights file '\(weights)' not found")
      }
      files.append((weights, false))
    } else if let relative = model.name.defaultWeights {
      files.append((try assetPath(relative), false))
    }
    if let text = model.textEncoder {
      guard FileManager.default.fileExists(atPath: text) else {
        throw NotebookError("text_encoder file '\(text)' not found")
      }
      files.append((text, false))
    }
    if let names = try? Assets.path("imagenet/imagenet_classes.txt") { files.append((names, false)) }
    return files
  }

  /// The files a data set is read from.
  static func files(forData name: String) throws -> [(path: String, listing: Bool)] {
    switch name {
    case "fashion-mnist":
      let directory =
        ProcessInfo.processInfo.environment["VPBOOK_FASHION_MNIST"] ?? "/usr/share/datasets/fashion-mnist"
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
        throw NotebookError(
          "Fashion-MNIST not found in \(directory) (run `make setup`, which installs dataset-fashion-mnist)")
      }
      let files = names.filter { $0.contains("ubyte") }.sorted().map { (directory + "/" + $0, false) }
      guard !files.isEmpty else { throw NotebookError("no Fashion-MNIST files in \(directory)") }
      return files
    case "mnist-5k": return [(try assetPath("data/mnist_5k.csv.gz"), false)]
    case "digits": return [(try assetPath("data/digits.csv.gz"), false)]
    case "animal-mnist":
      return [
        (try assetPath("data/animal-mnist/animal_data_version_3.gz"), false),
        (try assetPath("data/animal-mnist/animal_label_version_3.gz"), false),
      ]
    case "union30":
      return try files(forData: "fashion-mnist") + files(forData: "mnist-5k") + files(forData: "animal-mnist")
    default:
      for prefix in pathPrefixes where name.hasPrefix(prefix) {
        let path = String(name.dropFirst(prefix.count))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
          throw NotebookError("data folder '\(path)' not found")
        }
        return [(path, true)]
      }
      throw NotebookError("unknown data set '\(name)'")
    }
  }

  private static func assetPath(_ relative: String) throws -> String {
    do {
      return try Assets.path(relative)
    } catch {
      throw NotebookError("\(error)")
    }
  }
}

/// Digests of input files, remembered by path, size and modification time in a small JSON file so that a
/// warm run hashes nothing.
final class DigestStore {
  private struct Entry: Codable {
    var size: Int64
    var modified: Double
    var sha256: String
  }

  private let file: String?
  private var entries: [String: Entry] = [:]
  private var dirty = false

  /// - Parameter file: where the remembered digests live (nil: remember nothing between runs).
  init(file: String?) {
    self.file = file
    if let file, let data = FileManager.default.contents(atPath: file),
      let decoded = try? JSONDecoder().decode([String: Entry].self, from: data)
    {
      entries = decoded
    }
  }

  /// The digest of a file's contents, or of a folder's listing.
  func digest(_ path: String, listing: Bool) throws -> InputDigest {
    if listing { return try listingDigest(path) }
    let attributes: [FileAttributeKey: Any]
    do {
      attributes = try FileManager.default.attributesOfItem(atPath: path)
    } catch {
      throw NotebookError("cannot read '\(path)'")
    }
    let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
    let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
    if let entry = entries[path], entry.size == size, entry.modified == modified {
      return InputDigest(path: path, sha256: entry.sha256, bytes: size, isListing: false)
    }
    let sha = try SHA256.hex(fileAt: path)
    entries[path] = Entry(size: size, modified: modified, sha256: sha)
    dirty = true
    return InputDigest(path: path, sha256: sha, bytes: size, isListing: false)
  }

  private func listingDigest(_ path: String) throws -> InputDigest {
    guard let enumerator = FileManager.default.enumerator(atPath: path) else {
      throw NotebookError("cannot list '\(path)'")
    }
    var lines: [String] = []
    var total: Int64 = 0
    while let relative = enumerator.nextObject() as? String {
      let full = path + "/" + relative
      guard let attributes = try? FileManager.default.attributesOfItem(atPath: full),
        (attributes[.type] as? FileAttributeType) == .typeRegular
      else { continue }
      let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
      let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      total += size
      lines.append("\(relative)\t\(size)\t\(modified)")
    }
    return InputDigest(
      path: path, sha256: SHA256.hex(lines.sorted().joined(separator: "\n")), bytes: total, isListing: true)
  }

  /// Writes the remembered digests back (atomically), if anything changed.
  func save() {
    guard dirty, let file else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    if let data = try? encoder.encode(entries) {
      try? AtomicFile.write(data, to: file)
    }
    dirty = false
  }
}

/// Writes files so that a reader never sees half of one (`VPFiles.AtomicFile`: a temporary file in the same
/// folder, created if missing, `fsync`, then `rename(2)`, which replaces the target atomically).
enum AtomicFile {
  static func write(_ data: Data, to path: String) throws {
    do {
      try VPFiles.AtomicFile.write(data, to: path)
    } catch {
      throw NotebookError("cannot write '\(path)': \(error.problem)")
    }
  }

  static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }

  /// Writes the report, its manifest and its tables' CSV files as a set: all complete or none replaced.
  static func writeSet(_ files: [(path: String, data: Data)]) throws {
    do {
      try VPFiles.AtomicFile.writeTogether(files.map { ($0.path, Array($0.data)) })
    } catch {
      throw NotebookError(
        "cannot write '\(error.path)': \(error.problem); \(files.map(\.path).prefix(2).joined(separator: " and ")) were left as they were"
      )
    }
  }

  /// Writes the report and its manifest as a pair: both complete or neither replaced.
  static func writePair(_ first: (path: String, data: Data), _ second: (path: String, data: Data)) throws {
    do {
      try VPFiles.AtomicFile.writeTogether([(first.path, Array(first.data)), (second.path, Array(second.data))])
    } catch {
      throw NotebookError(
        "cannot write '\(error.path)': \(error.problem); \(first.path) and \(second.path) were left as they were")
    }
  }
}
