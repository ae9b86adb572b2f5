import VPFiles

/// A failed POSIX file operation: the `strerror` text of `errno`.
package struct FileIOError: Error, Sendable {
  /// The system's description, e.g. `No such file or directory`.
  package var reason: String
}

/// Whole-file reads and atomic writes (`VPFiles.AtomicFile`) for the image and data-set readers, whose errors
/// carry only the system's reason.
package enum FileIO {
  /// Reads a whole file into memory (one allocation for regular files).
  package static func readAll(_ path: String) throws(FileIOError) -> [UInt8] {
    do {
      return try AtomicFile.readAll(path)
    } catch {
      throw FileIOError(reason: error.reason)
    }
  }

  /// Writes `bytes` to `path` atomically: a temporary file in the same directory, `fsync`, then
  /// `rename` over the destination. On failure the temporary file is removed. The directory must exist.
  package static func writeAtomically(_ bytes: [UInt8], to path: String) throws(FileIOError) {
    do {
      try AtomicFile.write(bytes, to: path, createDirectory: false)
    } catch {
      throw FileIOError(reason: error.reason)
    }
  }
}
