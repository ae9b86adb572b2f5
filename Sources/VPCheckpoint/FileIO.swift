import VPFiles

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whole-file reads and atomic writes (`VPFiles.AtomicFile`), with failures reported as `CheckpointError`s of
/// kind `.io`.
enum FileIO {
  /// Reads the whole file at `path`.
  static func readAll(_ path: String) throws(CheckpointError) -> [UInt8] {
    do {
      return try AtomicFile.readAll(path)
    } catch {
      let problem: String
      switch error.operation {
      case .read where error.code == EISDIR: problem = "is a directory, not a checkpoint file"
      case .open: problem = "cannot open file (\(error.reason))"
      case .stat: problem = "cannot stat file (\(error.reason))"
      default: problem = "cannot read file (\(error.reason))"
      }
      throw CheckpointError(path: path, kind: .io, problem: problem)
    }
  }

  /// Reads up to `count` bytes at `offset` of the file at `path` (fewer at its end).
  static func read(_ path: String, offset: Int, count: Int) throws(CheckpointError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CheckpointError(path: path, kind: .io, problem: "cannot open file") }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
      let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw CheckpointError(path: path, kind: .io, problem: "cannot read file") }
      if n == 0 { break }
      done += n
    }
    return Array(bytes.prefix(done))
  }

  /// Writes `bytes` to a temporary file next to `path`, flushes it, then renames it over `path`, so that
  /// readers see either the old file or the complete new one. The directory must exist.
  static func writeAtomically(_ bytes: [UInt8], to path: String) throws(CheckpointError) {
    do {
      try AtomicFile.write(bytes, to: path, createDirectory: false)
    } catch {
      let temporary = error.other ?? ""
      let problem: String
      switch error.operation {
      case .create: problem = "cannot create temporary file '\(temporary)' (\(error.reason))"
      case .write: problem = "cannot write temporary file '\(temporary)' (\(error.reason))"
      case .sync: problem = "cannot flush temporary file (\(error.reason))"
      case .close: problem = "cannot close temporary file (\(error.reason))"
      default: problem = "cannot rename temporary file (\(error.reason))"
      }
      throw CheckpointError(path: path, kind: .io, problem: problem)
    }
  }
}
