/// The single error type thrown by `VPCheckpoint`.
///
/// Its `description` always starts with the path of the file being read (or written) followed by the
/// problem, for example `model.pth: truncated pickle at byte 1234 (BINUNICODE needs 30 bytes, 12 left)`.
/// Malformed input of any kind is reported through this type; the module never traps on file contents.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
  /// A coarse classification of the problem, for callers that want to react programmatically.
  public enum Kind: String, Sendable, Equatable {
    /// The file could not be opened, read or written.
    case io
    /// The data ends before a structure it announces.
    case truncated
    /// The leading bytes match no supported format (or the legacy magic number is wrong).
    case notACheckpoint
    /// A pickle opcode outside the supported set.
    case unknownOpcode
    /// A pickle names a global (`module.name`) that is not on the caller's allow-list.
    case forbiddenGlobal
    /// The data is structurally invalid (bad offsets, inconsistent sizes, wrong types, …).
    case malformed
    /// The data is valid but uses a feature this reader does not implement.
    case unsupported
    /// A tensor name was looked up that the state dict does not contain.
    case missingTensor
  }

  /// The path of the file the problem was found in, as given by the caller.
  public let path: String
  /// The classification of the problem.
  public let kind: Kind
  /// A human-readable description of the problem, without the path.
  public let problem: String

  /// Creates an error for `path`.
  public init(path: String, kind: Kind, problem: String) {
    self.path = path
    self.kind = kind
    self.problem = problem
  }

  /// `"<path>: <problem>"`.
  public var description: String { "\(path): \(problem)" }
}
