import Foundation

/// Directory listing helpers (byte-wise sorted, as Python's `sorted`).
enum FileSystem {
  static func exists(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path)
  }

  /// The size of a regular file in bytes; nil when it does not exist.
  static func size(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.size].flatMap { ($0 as? NSNumber)?.intValue }
  }

  static func isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
      && isDirectory.boolValue
  }

  /// Entry names of `path`, sorted by their UTF-8 bytes (Python's code-point order).
  static func sortedEntries(_ path: String) throws(DataError) -> [String] {
    do {
      return try FileManager.default.contentsOfDirectory(atPath: path).sorted(by: utf8Less)
    } catch {
      throw DataError(file: path, "cannot list directory: \(error.localizedDescription)")
    }
  }

  static func utf8Less(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
  }
}
