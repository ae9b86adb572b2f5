import Foundation
internal import Yams

extension ParameterSet {
  /// The values to run with: the defaults, overridden by a YAML file of `name: value` lines, overridden by the
  /// command line's `-p name=value` strings (the last one wins when a name is given twice).
  ///
  /// - Parameters:
  ///   - overrides: `name=value` strings, as given to `-p`.
  ///   - file: the path of a YAML parameters file, or nil.
  /// - Throws: `NotebookError` for an unknown name (`unknown parameter 'epoch' (known: epochs, seed)`), a value
  ///   of the wrong type (`parameter 'epochs' expects an integer, got 'ten'`), a malformed override or an
  ///   unreadable or invalid file (with the file and line).
  public func resolve(overrides: [String] = [], file: String? = nil) throws -> ResolvedParameters {
    var yaml: String?
    if let file {
      do {
        yaml = try String(contentsOfFile: file, encoding: .utf8)
      } catch {
        throw NotebookError("cannot read the parameters file", file: file)
      }
    }
    return try resolve(overrides: overrides, yaml: yaml, yamlFile: file ?? "<parameters>")
  }

  /// Like `resolve(overrides:file:)` with the parameters file's text given directly; `yamlFile` names it in
  /// error messages.
  public func resolve(overrides: [String] = [], yaml: String?, yamlFile: String = "<parameters>")
    throws
    -> ResolvedParameters
  {
    var resolved = ResolvedParameters(defaultsOf: self)
    if let yaml {
      for (name, value) in try fileValues(yaml: yaml, file: yamlFile) {
        resolved.set(name, value, source: .file)
      }
    }
    for override in overrides {
      guard let equals = override.firstIndex(of: "=") else {
        throw NotebookError("expected name=value for a parameter, got '\(override)'")
      }
      let name = String(override[..<equals]).trimmedSpaces()
      let text = String(override[override.index(after: equals)...])
      guard let declaration = self[name] else { throw unknownParameter(name) }
      resolved.set(name, try declaration.parse(text), source: .commandLine)
    }
    return resolved
  }

  /// The typed values of a parameters file, in file order.
  private func fileValues(yaml: String, file: String) throws -> [(String, ParameterValue)] {
    let root: Node?
    do {
      root = try Yams.compose(yaml: yaml)
    } catch {
      throw FrontMatter.yamlError(error, file: file, firstLine: 1, what: "parameters file")
    }
    guard var root else { return [] }
    if case .mapping(let mapping) = root, mapping.count == 1, let inner = mapping["params"],
      case .mapping = inner, self["params"] == nil
    {
      root = inner
    }
    guard case .mapping(let mapping) = root else {
      throw NotebookError(
        "a parameters file must be a YAML mapping of name: value lines", file: file, line: 1)
    }
    var result: [(String, ParameterValue)] = []
    for (keyNode, valueNode) in mapping {
      let name = keyNode.string ?? ""
      let line = keyNode.mark?.line ?? 1
      guard let declaration = self[name] else {
        throw unknownParameter(name).located(file: file, line: line)
      }
      do {
        result.append((name, try value(of: valueNode, for: declaration)))
      } catch let error as NotebookError {
        throw error.located(file: file, line: line)
      }
    }
    return result
  }

  /// A YAML value converted to the declared type: scalars are read like command-line text (so `3` is fine for
  /// a Double and for a String), lists may be YAML sequences or comma-separated text.
  private func value(of node: Node, for declaration: ParameterDeclaration) throws -> ParameterValue {
    switch (node, declaration.type) {
    case (.scalar, .bool) where node.resolvedTagName == .bool:
      return .bool(node.bool ?? false)
    case (.scalar(let scalar), _):
      return try declaration.parse(scalar.string)
    case (.sequence(let sequence), .list(let element)):
      var values: [ParameterValue] = []
      for item in sequence {
        guard case .scalar(let scalar) = item,
          let value = ParameterDeclaration.parse(scalar.string, as: element)
        else {
          let text = sequence.map { $0.string ?? "…" }.joined(separator: ",")
          throw NotebookError(
            "parameter '\(declaration.name)' expects \(declaration.type.expectation), got '\(text)'"
          )
        }
        values.append(value)
      }
      return .list(values)
    default:
      throw NotebookError(
        "parameter '\(declaration.name)' expects \(declaration.type.expectation), got a YAML \(kind(of: node))"
      )
    }
  }

  private func kind(of node: Node) -> String {
    switch node {
    case .mapping: return "mapping"
    case .sequence: return "list"
    default: return "value"
    }
  }
}
