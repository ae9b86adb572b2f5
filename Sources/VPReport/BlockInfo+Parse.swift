extension BlockInfo {
  /// Parses an info string.
  ///
  /// - Parameters:
  ///   - info: the text after the opening fence.
  ///   - file: the notebook, for errors.
  ///   - line: the fence's line, for errors.
  /// - Throws: `NotebookError` for an unclosed `{` or quote, text after `}`, a repeated key, two labels, or
  ///   an item that is none of the forms above.
  public static func parse(_ info: String, file: String? = nil, line: Int? = nil) throws
    -> BlockInfo
  {
    var scanner = InfoScanner(Array(info.unicodeScalars))
    func fail(_ message: String) -> NotebookError { NotebookError(message, file: file, line: line) }

    scanner.skipSpaces()
    let kind = scanner.take { $0 != " " && $0 != "\t" && $0 != "{" }
    var result = BlockInfo(kind: kind)
    scanner.skipSpaces()
    guard !scanner.atEnd else { return result }
    guard scanner.peek == "{" else {
      throw fail("unexpected '\(scanner.rest)' in the info string (attributes go in {…})")
    }
    scanner.advance()
    while true {
      scanner.skipSpaces()
      guard let next = scanner.peek else {
        throw fail("'{' in the info string is never closed by '}'")
      }
      if next == "}" {
        scanner.advance()
        break
      }
      if next == "#" || next == "." {
        scanner.advance()
        let word = scanner.take(while: isWordScalar)
        guard !word.isEmpty else {
          throw fail("'\(next)' must be followed by a name in the info string")
        }
        if next == "#" {
          guard result.label == nil else { throw fail("a block can have only one #label") }
          result.label = word
        } else {
          result.classes.append(word)
        }
        continue
      }
      let key = scanner.take(while: isWordScalar)
      guard !key.isEmpty else { throw fail("unexpected '\(next)' in the attributes") }
      guard result.attributes[key] == nil else { throw fail("attribute '\(key)' is given twice") }
      guard scanner.peek == "=" else {
        result.attributes[key] = ""
        continue
      }
      scanner.advance()
      switch scanner.peek {
      case "\"", "'":
        let quote = scanner.peek!
        scanner.advance()
        var value = ""
        var closed = false
        while let scalar = scanner.peek {
          scanner.advance()
          if scalar == quote {
            closed = true
            break
          }
          if scalar == "\\", quote == "\"", let escaped = scanner.peek {
            scanner.advance()
            value.unicodeScalars.append(escaped)
          } else {
            value.unicodeScalars.append(scalar)
          }
        }
        guard closed else { throw fail("the value of '\(key)' has no closing \(quote)") }
        result.attributes[key] = value
      default:
        result.attributes[key] = scanner.take { $0 != " " && $0 != "\t" && $0 != "}" }
      }
    }
    scanner.skipSpaces()
    guard scanner.atEnd else { throw fail("unexpected '\(scanner.rest)' after the attributes") }
    return result
  }

  private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
    scalar.isIdentifierBody || scalar == "-" || scalar == ":"
  }
}

/// A cursor over unicode scalars.
private struct InfoScanner {
  let scalars: [Unicode.Scalar]
  var position = 0

  init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

  var atEnd: Bool { position >= scalars.count }
  var peek: Unicode.Scalar? { atEnd ? nil : scalars[position] }
  var rest: String { String(String.UnicodeScalarView(scalars[position...])) }

  mutating func advance() { position += 1 }

  mutating func skipSpaces() {
    while let scalar = peek, scalar == " " || scalar == "\t" { advance() }
  }

  mutating func take(while predicate: (Unicode.Scalar) -> Bool) -> String {
    let start = position
    while let scalar = peek, predicate(scalar) { advance() }
    return String(String.UnicodeScalarView(scalars[start..<position]))
  }
}
