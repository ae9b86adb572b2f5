#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whole-file reads and atomic writes over POSIX calls (no Foundation).
enum FileIO {
  private static func ioError(_ path: String, _ what: String) -> CheckpointError {
    let reason = String(cString: strerror(errno))
    return CheckpointError(path: path, kind: .io, problem: "\(what) (\(reason))")
  }

  /// Reads the whole file at `path`.
  static func readAll(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ioError(path, "cannot open file") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ioError(path, "cannot stat file") }
    guard info.st_mode & 0o170000 != 0o040000 else {
      throw CheckpointError(path: path, kind: .io, problem: "is a directory, not a checkpoint file")
    }
    let size = Int(info.st_size)
    guard size >= 0 else { throw CheckpointError(path: path, kind: .io, problem: "file size unknown") }
    var failure: CheckpointError?
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
      initialized = 0
      while initialized < size {
        let n = read(fd, buffer.baseAddress! + initialized, size - initialized)
        if n < 0 {
          if errno == EINTR { continue }
          failure = ioError(path, "cannot read file")
          return
        }
        if n == 0 { break }  // the file shrank while being read
        initialized += n
      }
    }
    if let failure { throw failure }
    return bytes
  }

  /// Writes `bytes` to a temporary file next to `path`, flushes it, then renames it over `path`, so that
  /// readers see either the old file or the complete new one.
  static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ioError(path, "cannot create temporary file '\(temporary)'") }
    var written = 0
    var failure: CheckpointError?
    bytes.withUnsafeBytes { raw in
      while written < raw.count {
        let n = write(fd, raw.baseAddress! + written, raw.count - written)
        if n < 0 {
          if errno == EINTR { continue }
          failure = ioError(path, "cannot write temporary file '\(temporary)'")
          return
        }
        written += n
      }
    }
    if failure == nil, fsync(fd) != 0 { failure = ioError(path, "cannot flush temporary file") }
    if close(fd) != 0, failure == nil { failure = ioError(path, "cannot close temporary file") }
    if failure == nil, rename(temporary, path) != 0 {
      failure = ioError(path, "cannot rename temporary file")
    }
    if let failure {
      unlink(temporary)
      throw failure
    }
  }
}
