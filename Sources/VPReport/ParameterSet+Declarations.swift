internal import Yams

extension ParameterSet {
  /// Reads the `params:` mapping of the front matter; `firstLine` is the file line of the YAML's first line.
  static func declarations(from node: Node, file: String, firstLine: Int) throws -> ParameterSet {
    func line(of node: Node) -> Int { (node.mark?.line ?? 1) + firstLine - 1 }
    if case .scalar = node, node.null != nil { return ParameterSet() }
    guard case .mapping(let mapping) = node else {
      throw NotebookError(
        "'params' must be a mapping of parameter names to default values", file: file,
        line: line(of: node))
    }
    var result: [ParameterDeclaration] = []
    for (keyNode, valueNode) in mapping {
      let name = keyNode.string ?? ""
      let lineNumber = line(of: keyNode)
      guard ParameterDeclaration.isValidName(name) else {
        throw NotebookError(
          "parameter name '\(name)' must be letters, digits and underscores, not starting with a digit",
          file: file, line: lineNumber)
      }
      guard !result.contains(where: { $0.name == name }) else {
        throw NotebookError("parameter '\(name)' is declared twice", file: file, line: lineNumber)
      }
      var defaultNode = valueNode
      var help: String?
      if case .mapping(let details) = valueNode {
        guard let value = details["default"] else {
          throw NotebookError(
            "parameter '\(name)' is a mapping without a 'default' key", file: file, line: lineNumber
          )
        }
        defaultNode = value
        help = details["help"]?.string
      }
      do {
        let (type, value) = try inferType(of: defaultNode, name: name)
        result.append(
          ParameterDeclaration(
            name: name, type: type, defaultValue: value, help: help, line: lineNumber))
      } catch let error as NotebookError {
        throw error.located(file: file, line: lineNumber)
      }
    }
    return ParameterSet(result)
  }

  /// The type and value of a default: Int, Double, Bool, String, or a list of one of them.
  static func inferType(of node: Node, name: String) throws -> (ParameterType, ParameterValue) {
    switch node {
    case .scalar:
      return try scalar(node, name: name)
    case .sequence(let sequence):
      var items: [(ParameterType, ParameterValue)] = []
      for item in sequence {
        guard case .scalar = item else {
          throw NotebookError("parameter '\(name)': list items must be plain values")
        }
        items.append(try scalar(item, name: name))
      }
      let types = Set(items.map(\.0))
      if types.isEmpty { return (.list(.string), .list([])) }
      if types.count == 1, let type = types.first { return (.list(type), .list(items.map(\.1))) }
      if types == [.int, .double] {
        return (.list(.double), .list(items.map { .double($0.1.doubleValue ?? 0) }))
      }
      let strings = sequence.map { ParameterValue.string($0.string ?? "") }
      return (.list(.string), .list(strings))
    default:
      throw NotebookError(
        "parameter '\(name)' must have a default value that is a number, a boolean, a string or a list"
      )
    }
  }

  private static func scalar(_ node: Node, name: String) throws -> (ParameterType, ParameterValue) {
    switch node.resolvedTagName {
    case .int:
      if let value = node.int { return (.int, .int(value)) }
    case .float:
      if let value = node.float, value.isFinite { return (.double, .double(value)) }
      throw NotebookError("parameter '\(name)' has a default that is not a finite number")
    case .bool:
      if let value = node.bool { return (.bool, .bool(value)) }
    case .null:
      throw NotebookError("parameter '\(name)' needs a default value (its type is taken from it)")
    default:
      break
    }
    return (.string, .string(node.string ?? ""))
  }
}

extension Node {
  /// The tag name after resolution (`tag:yaml.org,2002:int` for `6`, `…:str` for `"6"`).
  var resolvedTagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
