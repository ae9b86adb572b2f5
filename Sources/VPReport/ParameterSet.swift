/// The parameters a notebook declares in its front matter, in the order they are written.
public struct ParameterSet: Sendable, Hashable {
  /// The declarations, in front-matter order.
  public var declarations: [ParameterDeclaration]

  /// Creates a set from declarations (empty by default).
  public init(_ declarations: [ParameterDeclaration] = []) {
    self.declarations = declarations
  }

  /// The declared names, in front-matter order.
  public var names: [String] { declarations.map(\.name) }

  /// Whether the notebook declares no parameter.
  public var isEmpty: Bool { declarations.isEmpty }

  /// The declaration named `name`.
  public subscript(name: String) -> ParameterDeclaration? {
    declarations.first { $0.name == name }
  }

  /// The error for a name that is not declared: `unknown parameter 'epoch' (known: epochs, seed)`.
  func unknownParameter(_ name: String) -> NotebookError {
    let known = names.sorted()
    let list =
      known.isEmpty ? "this notebook declares none" : "known: " + known.joined(separator: ", ")
    return NotebookError("unknown parameter '\(name)' (\(list))")
  }
}
