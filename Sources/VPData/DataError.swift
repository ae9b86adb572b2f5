import Foundation

/// Why a data set could not be loaded: names the file, the line where one applies, and the problem.
///
/// The description reads `FILE:LINE: PROBLEM` or `FILE: PROBLEM`, e.g.
/// `digits.csv.gz:17: field 3: "x1" is not an integer`.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
  /// The file (path as given) or directory the problem is in.
  public var file: String
  /// The 1-based line number, for line-oriented formats.
  public var line: Int?
  /// What is wrong.
  public var message: String

  /// An error in `file` (at `line`, if given).
  public init(file: String, line: Int? = nil, _ message: String) {
    self.file = file
    self.line = line
    self.message = message
  }

  /// `FILE:LINE: MESSAGE` or `FILE: MESSAGE`.
  public var description: String {
    if let line { return "\(file):\(line): \(message)" }
    return "\(file): \(message)"
  }

  /// Same as ``description``.
  public var errorDescription: String? { description }
}
