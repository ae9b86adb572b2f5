extension ParameterSet {
  /// The table that `--help-params` prints: one line per parameter with its name, type, default and help,
  /// in front-matter order, columns aligned.
  ///
  /// ```
  /// name    type            default      help
  /// seed    int             7
  /// epochs  int             6            training epochs per run
  /// maps    list of string  rlm,flm,ilm
  /// ```
  public func helpText() -> String {
    guard !isEmpty else { return "This notebook declares no parameters.\n" }
    let rows =
      [["name", "type", "default", "help"]]
      + declarations.map { [$0.name, $0.type.description, defaultText($0), $0.help ?? ""] }
    let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
    var text = ""
    for row in rows {
      var line = ""
      for column in 0..<3 {
        line += row[column] + String(repeating: " ", count: widths[column] - row[column].count + 2)
      }
      line += row[3]
      while line.hasSuffix(" ") { line.removeLast() }
      text += line + "\n"
    }
    return text
  }

  private func defaultText(_ declaration: ParameterDeclaration) -> String {
    switch declaration.defaultValue {
    case .string(let value) where value.isEmpty: return "\"\""
    case .list(let values) where values.isEmpty: return "(empty)"
    default: return declaration.defaultValue.text
    }
  }
}
