import Foundation

/// An error in a notebook or in the parameters given to it, with the place it was found when known.
///
/// Its `description` reads like a compiler diagnostic, `file:line: message`, so that editors can jump to it.
public struct NotebookError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
  /// The file the error is in, when it is about a file.
  public var file: String?
  /// The 1-based line in `file`, when known.
  public var line: Int?
  /// What went wrong, without the location.
  public var message: String

  /// Creates an error with an optional location.
  public init(_ message: String, file: String? = nil, line: Int? = nil) {
    self.message = message
    self.file = file
    self.line = line
  }

  /// `file:line: message`, `file: message` or just `message`, depending on what is known.
  public var description: String {
    switch (file, line) {
    case (let file?, let line?): return "\(file):\(line): \(message)"
    case (let file?, nil): return "\(file): \(message)"
    case (nil, let line?): return "line \(line): \(message)"
    case (nil, nil): return message
    }
  }

  /// The same text as `description`, for code that prints `localizedDescription`.
  public var errorDescription: String? { description }

  /// This error with a location filled in where it had none.
  func located(file: String?, line: Int?) -> NotebookError {
    var copy = self
    if copy.file == nil { copy.file = file }
    if copy.line == nil { copy.line = line }
    return copy
  }
}
