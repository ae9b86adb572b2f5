/// A block's text after parameter references were replaced, and which parameters it read.
public struct Substitution: Sendable, Hashable {
  /// The text with `$name` and `${name}` replaced and `$$` turned into `$`.
  public var text: String
  /// The parameters the text referred to, sorted and without repeats (part of the block's cache key).
  public var parametersRead: [String]
}

extension ResolvedParameters {
  /// Replaces parameter references in a block's text.
  ///
  /// `$name` takes the longest run of letters, digits and underscores after `$`; `${name}` delimits the
  /// name explicitly (`${lr}x`); `$$` is a literal `$`; a `$` not followed by a letter, `_` or `{` is kept.
  ///
  /// - Parameters:
  ///   - text: the block's code.
  ///   - firstLine: the file line of the text's first line (a fenced block's fence line + 1).
  ///   - file: the notebook's path, for errors.
  /// - Throws: `NotebookError` at the line of an unknown name or of an unterminated `${`.
  public func substitute(in text: String, firstLine: Int = 1, file: String? = nil) throws
    -> Substitution
  {
    var output = ""
    var read = Set<String>()
    var line = firstLine
    let scalars = Array(text.unicodeScalars)
    var index = 0
    func fail(_ message: String) -> NotebookError { NotebookError(message, file: file, line: line) }
    func lookUp(_ name: String) throws -> String {
      guard let value = values[name] else {
        let known = names.sorted()
        let list =
          known.isEmpty ? "this notebook declares none" : "known: " + known.joined(separator: ", ")
        throw fail("unknown parameter '$\(name)' (\(list))")
      }
      read.insert(name)
      return value.text
    }
    while index < scalars.count {
      let scalar = scalars[index]
      if scalar == "\n" { line += 1 }
      guard scalar == "$", index + 1 < scalars.count else {
        output.unicodeScalars.append(scalar)
        index += 1
        continue
      }
      let next = scalars[index + 1]
      if next == "$" {
        output += "$"
        index += 2
      } else if next == "{" {
        var end = index + 2
        while end < scalars.count, scalars[end] != "}", scalars[end] != "\n" { end += 1 }
        guard end < scalars.count, scalars[end] == "}" else {
          throw fail("'${' without a closing '}'")
        }
        let name = String(String.UnicodeScalarView(scalars[(index + 2)..<end])).trimmedSpaces()
        guard ParameterDeclaration.isValidName(name) else {
          throw fail("'${\(name)}' is not a parameter reference (use $$ for a literal $)")
        }
        output += try lookUp(name)
        index = end + 1
      } else if next.isIdentifierStart {
        var end = index + 1
        while end < scalars.count, scalars[end].isIdentifierBody { end += 1 }
        output += try lookUp(String(String.UnicodeScalarView(scalars[(index + 1)..<end])))
        index = end
      } else {
        output += "$"
        index += 1
      }
    }
    return Substitution(text: output, parametersRead: read.sorted())
  }
}
