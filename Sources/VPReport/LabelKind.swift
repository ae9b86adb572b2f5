/// What a block label names, told by its prefix: `fig-` for figures, `tbl-` for tables.
public enum LabelKind: String, Sendable, Hashable, Codable, CaseIterable {
  case figure
  case table

  /// The kind of `label` (`fig-acc` → `.figure`), or nil when it has neither prefix.
  public init?(label: String) {
    guard let kind = LabelKind.allCases.first(where: { label.hasPrefix($0.prefix) }) else {
      return nil
    }
    self = kind
  }

  /// `fig-` or `tbl-`.
  public var prefix: String {
    switch self {
    case .figure: return "fig-"
    case .table: return "tbl-"
    }
  }

  /// `Figure` or `Table`, as in "Figure 2".
  public var name: String {
    switch self {
    case .figure: return "Figure"
    case .table: return "Table"
    }
  }
}
