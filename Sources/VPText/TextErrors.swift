import Foundation

/// Why a byte-pair vocabulary could not be read: names the file, the line where one applies, and the problem.
///
/// The description reads `FILE:LINE: PROBLEM` or `FILE: PROBLEM`, e.g.
/// `bpe_simple_vocab_16e6.txt.gz:17: expected two symbols separated by a space, found "i n t"`.
public struct VocabularyError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
  /// The file, as given.
  public var file: String
  /// The 1-based line number, for a problem with one line.
  public var line: Int?
  /// What is wrong.
  public var message: String

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

  public var errorDescription: String? { description }
}

/// A text whose tokens (with the start and end tokens) do not fit the context length.
public struct ContextLengthError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
  /// The number of tokens the text needs, start and end tokens included.
  public var tokenCount: Int
  /// The context length asked for.
  public var contextLength: Int
  /// The text (its first 80 characters).
  public var text: String

  public init(tokenCount: Int, contextLength: Int, text: String) {
    self.tokenCount = tokenCount
    self.contextLength = contextLength
    self.text = text.count > 80 ? String(text.prefix(80)) + "…" : text
  }

  public var description: String {
    if contextLength < 2 {
      return "context length \(contextLength) cannot hold the start and end tokens (at least 2 are needed)"
    }
    return "text of \(tokenCount) tokens (with start and end) is too long for context length \(contextLength): "
      + "\"\(text)\" (pass truncate: true to cut it)"
  }

  public var errorDescription: String? { description }
}
