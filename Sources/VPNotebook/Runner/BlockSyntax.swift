/// One statement of a ```` ```vp ```` block as written: a verb, positional words and `key=value` options.
///
/// ```
/// compare mapping=rlm,flm,ilm epochs=3 seeds=7,8   # a comment
/// ```
struct RawStatement: Sendable, Hashable {
  /// One `key=value` item.
  struct Option: Sendable, Hashable {
    var key: String
    var value: String
  }

  /// The first word (`compare`).
  var verb: String
  /// The words after the verb that are not `key=value` (`pad` in `prompt pad canvas=128`).
  var words: [String]
  /// The `key=value` items, in order.
  var options: [Option]
  /// The file line of the statement.
  var line: Int
  /// The statement's text without its comment, trimmed (after parameter substitution).
  var text: String
}

/// Splits a block's code into statements: one per line, `#` starts a comment (at the start of a word),
/// words are separated by spaces, a value may be double-quoted (`name="my run"`, `\"` inside).
enum BlockSyntax {
  /// Parses one line; nil for a blank or comment-only line.
  ///
  /// - Throws: `NotebookError` at `line` for an unclosed quote, an empty key or value, or a repeated key.
  static func parseLine(_ text: String, line: Int, file: String) throws -> RawStatement? {
    func fail(_ message: String) -> NotebookError { NotebookError(message, file: file, line: line) }
    var tokens: [String] = []
    var quoteStarts: [Int?] = []
    let scalars = Array(text.unicodeScalars)
    var index = 0
    var commentStart = scalars.count
    while index < scalars.count {
      while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" || scalars[index] == "\r" {
        index += 1
      }
      guard index < scalars.count else { break }
      if scalars[index] == "#" {
        commentStart = index
        break
      }
      var token = ""
      var quoteStart: Int? = nil
      while index < scalars.count, scalars[index] != " ", scalars[index] != "\t", scalars[index] != "\r" {
        let scalar = scalars[index]
        if scalar == "\"" {
          if quoteStart == nil { quoteStart = token.unicodeScalars.count }
          index += 1
          var closed = false
          while index < scalars.count {
            let inner = scalars[index]
            index += 1
            if inner == "\"" {
              closed = true
              break
            }
            if inner == "\\", index < scalars.count {
              token.unicodeScalars.append(scalars[index])
              index += 1
            } else {
              token.unicodeScalars.append(inner)
            }
          }
          guard closed else { throw fail("a quoted value has no closing \"") }
          continue
        }
        token.unicodeScalars.append(scalar)
        index += 1
      }
      tokens.append(token)
      quoteStarts.append(quoteStart)
    }
    guard let verb = tokens.first else { return nil }
    let statementText = String(String.UnicodeScalarView(scalars[0..<commentStart])).trimmedSpaces()
    var statement = RawStatement(verb: verb, words: [], options: [], line: line, text: statementText)
    for (token, quoteStart) in zip(tokens.dropFirst(), quoteStarts.dropFirst()) {
      let equalsOffset = token.unicodeScalars.firstIndex(of: "=").map {
        token.unicodeScalars.distance(from: token.unicodeScalars.startIndex, to: $0)
      }
      if let equalsOffset, equalsOffset < (quoteStart ?? Int.max) {
        let equals = token.unicodeScalars.index(token.unicodeScalars.startIndex, offsetBy: equalsOffset)
        let quoted = quoteStart != nil
        let key = String(token[..<equals])
        let value = String(token[token.index(after: equals)...])
        guard !key.isEmpty else { throw fail("'\(token)' has no option name before '='") }
        guard value.isEmpty == false || quoted else {
          throw fail("option '\(key)' has no value (write \(key)=VALUE)")
        }
        guard !statement.options.contains(where: { $0.key == key }) else {
          throw fail("option '\(key)' is given twice")
        }
        statement.options.append(.init(key: key, value: value))
      } else {
        statement.words.append(token)
      }
    }
    return statement
  }

  /// Parses a block's code (after parameter substitution); `firstLine` is the file line of its first line.
  static func parse(_ code: String, firstLine: Int, file: String) throws -> [RawStatement] {
    var statements: [RawStatement] = []
    for (offset, line) in code.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if let statement = try parseLine(String(line), line: firstLine + offset, file: file) {
        statements.append(statement)
      }
    }
    return statements
  }

  /// The closest of `candidates` to `word` when it is a plausible typo (edit distance ≤ 2), for "did you mean".
  static func suggestion(for word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= min(2, max(1, word.count / 2)) else {
      return nil
    }
    return best.0
  }

  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + [Int](repeating: 0, count: b.count)
      for j in 1...b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
