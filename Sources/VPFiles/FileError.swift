#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed whole-file read or atomic write: the file, the step that failed and the system's reason.
///
/// Its `description` reads `PATH: cannot write temporary file 'DIR/.NAME.….tmp' (No space left on device)`;
/// when the file system is full it adds how many bytes the file needed.
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The step that failed.
  public enum Operation: String, Sendable, Equatable {
    /// Opening the file to read it.
    case open
    /// Asking for the size and type of the opened file.
    case stat
    /// Reading the file (also: the path is a directory).
    case read
    /// Creating the destination's directory (or one of its parents).
    case createDirectory
    /// Creating the temporary file next to the destination.
    case create
    /// Writing the temporary file.
    case write
    /// Flushing the temporary file to the disk (`fsync`).
    case sync
    /// Closing the temporary file.
    case close
    /// Renaming the temporary file over the destination.
    case rename
  }

  /// The file being read or written, as the caller gave it.
  public var path: String
  /// The step that failed.
  public var operation: Operation
  /// The `errno` value.
  public var code: Int32
  /// The system's description of `code` (`strerror`), e.g. `No such file or directory`.
  public var reason: String
  /// The temporary file or the directory the step worked on, when it is not `path` itself.
  public var other: String?
  /// The size of the file being written (0 for reads).
  public var byteCount: Int

  /// Creates an error; `reason` is `strerror(code)`.
  public init(path: String, operation: Operation, code: Int32, other: String? = nil, byteCount: Int = 0) {
    self.path = path
    self.operation = operation
    self.code = code
    self.reason = String(cString: strerror(code))
    self.other = other
    self.byteCount = byteCount
  }

  /// Whether the file system (or the user's quota) had no room left.
  public var isFileSystemFull: Bool { code == ENOSPC || code == EDQUOT }

  /// What failed and why, without the path: `cannot create temporary file '…' (Permission denied)`.
  public var problem: String {
    let quoted = other.map { " '\($0)'" } ?? ""
    let step: String
    switch operation {
    case .open: step = "cannot open file"
    case .stat: step = "cannot stat file"
    case .read: step = "cannot read file"
    case .createDirectory: step = "cannot create directory\(quoted)"
    case .create: step = "cannot create temporary file\(quoted)"
    case .write: step = "cannot write temporary file\(quoted)"
    case .sync: step = "cannot sync temporary file\(quoted)"
    case .close: step = "cannot close temporary file\(quoted)"
    case .rename: step = "cannot rename temporary file\(quoted) over it"
    }
    let full = isFileSystemFull ? "; the file system is full (the file needs \(byteCount) bytes)" : ""
    return "\(step) (\(reason))\(full)"
  }

  /// `PATH: PROBLEM`.
  public var description: String { "\(path): \(problem)" }
}
