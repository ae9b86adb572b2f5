internal import Yams

extension FrontMatter {
  /// The known top-level keys.
  static let knownKeys: Set<String> = ["title", "authors", "author", "description", "params", "portable"]

  /// Splits the front matter off `text` before cmark sees it.
  ///
  /// The body that comes back starts with as many empty lines as the front matter took, so every line number
  /// cmark reports for it is already a line number of the file. Line endings are normalised to `\n`.
  /// A first line `---` without a closing `---`/`...` line is an error (rather than silently rendering YAML
  /// as prose).
  ///
  /// - Returns: the front matter (empty with `lineCount` 0 when the file has none) and the padded body.
  public static func split(_ text: String, file: String) throws -> (
    frontMatter: FrontMatter, body: String
  ) {
    var text = text.replacingAll("\r\n", with: "\n")
    if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let first = lines.first, first.trimmingTrailingSpaces() == "---" else {
      return (FrontMatter(), text)
    }
    guard
      let close = lines.indices.dropFirst().first(where: {
        let line = lines[$0].trimmingTrailingSpaces()
        return line == "---" || line == "..."
      })
    else {
      throw NotebookError(
        "front matter opened by '---' is never closed by a '---' line", file: file, line: 1)
    }
    let yaml = lines[1..<close].joined(separator: "\n")
    var frontMatter = try parse(yaml: yaml, file: file, firstLine: 2)
    frontMatter.lineCount = close + 1
    let rest = lines[(close + 1)...].joined(separator: "\n")
    return (frontMatter, String(repeating: "\n", count: close + 1) + rest)
  }

  /// Parses the YAML between the delimiters; `firstLine` is the file line of the YAML's first line.
  static func parse(yaml: String, file: String, firstLine: Int) throws -> FrontMatter {
    let root: Node?
    do {
      root = try Yams.compose(yaml: yaml)
    } catch {
      throw yamlError(error, file: file, firstLine: firstLine, what: "front matter")
    }
    guard let root else { return FrontMatter() }
    guard case .mapping(let mapping) = root else {
      throw NotebookError(
        "front matter must be a YAML mapping (key: value lines)", file: file, line: firstLine)
    }
    var result = FrontMatter()
    func line(of node: Node) -> Int { (node.mark?.line ?? 1) + firstLine - 1 }
    for (keyNode, value) in mapping {
      let key = keyNode.string ?? ""
      switch key {
      case "title":
        result.title = try scalarString(value, key: key, file: file, line: line(of: value))
      case "description":
        result.description = try scalarString(value, key: key, file: file, line: line(of: value))
      case "authors", "author":
        result.authors = try authorList(value, file: file, line: line(of: value))
      case "portable":
        guard case .scalar = value, let flag = value.bool else {
          throw NotebookError(
            "front matter key 'portable' must be true or false", file: file, line: line(of: value))
        }
        result.portable = flag
      case "params":
        result.parameters = try ParameterSet.declarations(
          from: value, file: file, firstLine: firstLine)
      default:
        result.unknownKeys.append(key)
      }
    }
    return result
  }

  private static func scalarString(_ node: Node, key: String, file: String, line: Int) throws
    -> String?
  {
    if node.null != nil, case .scalar = node { return nil }
    guard case .scalar(let scalar) = node else {
      throw NotebookError(
        "front matter key '\(key)' must be a single value", file: file, line: line)
    }
    return scalar.string
  }

  private static func authorList(_ node: Node, file: String, line: Int) throws -> [String] {
    func name(_ node: Node) throws -> String {
      switch node {
      case .scalar(let scalar): return scalar.string
      case .mapping(let mapping):
        if let name = mapping["name"]?.string { return name }
      default: break
      }
      throw NotebookError(
        "each author must be a name or a mapping with a 'name' key", file: file, line: line)
    }
    switch node {
    case .sequence(let sequence): return try sequence.map(name)
    case .scalar where node.null != nil: return []
    default: return [try name(node)]
    }
  }

  /// A `NotebookError` for a Yams error, with the file line of the problem when Yams gives one.
  static func yamlError(_ error: Error, file: String, firstLine: Int, what: String) -> NotebookError {
    guard let yamlError = error as? YamlError else {
      return NotebookError("invalid \(what): \(error)", file: file, line: firstLine)
    }
    switch yamlError {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
      .composer(_, let problem, let mark, _):
      return NotebookError(
        "invalid \(what): \(problem)", file: file, line: mark.line + firstLine - 1)
    default:
      return NotebookError("invalid \(what): \(yamlError)", file: file, line: firstLine)
    }
  }
}

extension String {
  /// This string with every occurrence of `target` replaced (no Foundation needed).
  func replacingAll(_ target: String, with replacement: String) -> String {
    guard !target.isEmpty, contains(target) else { return self }
    return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
  }
}

extension Substring {
  /// This line without trailing spaces and tabs.
  func trimmingTrailingSpaces() -> Substring {
    var end = endIndex
    while end > startIndex, self[index(before: end)] == " " || self[index(before: end)] == "\t" {
      end = index(before: end)
    }
    return self[startIndex..<end]
  }
}
