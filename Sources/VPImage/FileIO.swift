import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed POSIX file operation: the `strerror` text of `errno`.
package struct FileIOError: Error, Sendable {
  /// The system's description, e.g. `No such file or directory`.
  package var reason: String
}

/// Small POSIX helpers shared by the image and data-set readers.
package enum FileIO {
  /// Reads a whole file into memory (one allocation for regular files).
  package static func readAll(_ path: String) throws(FileIOError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw FileIOError(reason: errnoText()) }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) != 0 { throw FileIOError(reason: errnoText()) }
    if (info.st_mode & S_IFMT) == S_IFDIR { throw FileIOError(reason: "Is a directory") }
    // One spare byte so that the end of a regular file is seen without growing the buffer.
    var result = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
    var total = 0
    while true {
      if total == result.count { result.append(contentsOf: repeatElement(0, count: result.count)) }
      let n = result.withUnsafeMutableBytes { raw in
        read(fd, raw.baseAddress! + total, raw.count - total)
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileIOError(reason: errnoText())
      }
      if n == 0 { break }
      total += n
    }
    result.removeLast(result.count - total)
    return result
  }

  /// Writes `bytes` to `path` atomically: a temporary file in the same directory, `fsync`, then
  /// `rename` over the destination. On failure the temporary file is removed.
  package static func writeAtomically(_ bytes: [UInt8], to path: String) throws(FileIOError) {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let temp =
      directory + "/." + url.lastPathComponent
      + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if fd < 0 { throw FileIOError(reason: errnoText()) }
    var failure: String?
    bytes.withUnsafeBufferPointer { buffer in
      var written = 0
      while written < buffer.count {
        let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
        if n < 0 {
          if errno == EINTR { continue }
          failure = errnoText()
          return
        }
        written += n
      }
    }
    if failure == nil && fsync(fd) != 0 { failure = errnoText() }
    if close(fd) != 0 && failure == nil { failure = errnoText() }
    if failure == nil && rename(temp, path) != 0 { failure = errnoText() }
    if let failure {
      unlink(temp)
      throw FileIOError(reason: failure)
    }
  }

  private static func errnoText() -> String {
    String(cString: strerror(errno))
  }
}
