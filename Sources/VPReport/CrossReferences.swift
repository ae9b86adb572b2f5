/// The numbering of labelled figures and tables, and the check of `@label` mentions.
///
/// Figures and tables are numbered separately, from 1, in document order.
public struct CrossReferences: Sendable, Hashable {
  /// One numbered figure or table.
  public struct Target: Sendable, Hashable, Codable {
    /// `fig-acc`.
    public var label: String
    /// Figure or table.
    public var kind: LabelKind
    /// 1-based, per kind.
    public var number: Int
    /// The file line of the labelled block.
    public var line: Int

    /// `Figure 2` or `Table 1`: the text of a link to it and the start of its caption.
    public var name: String { "\(kind.name) \(number)" }
  }

  /// The targets in document order.
  public private(set) var targets: [Target] = []
  private var byLabel: [String: Int] = [:]

  /// Numbers `labels` (in document order), each with the file line of its block.
  ///
  /// - Throws: `NotebookError` for a label without a `fig-`/`tbl-` prefix or used twice, at its line in `file`.
  public init(labels: [(label: String, line: Int)], file: String? = nil) throws {
    var counts: [LabelKind: Int] = [:]
    for (label, line) in labels {
      guard let kind = LabelKind(label: label), label.count > kind.prefix.count else {
        throw NotebookError(
          "label '\(label)' must start with fig- (a figure) or tbl- (a table)", file: file,
          line: line)
      }
      if let previous = byLabel[label] {
        throw NotebookError(
          "label '\(label)' is already used at line \(targets[previous].line)", file: file,
          line: line)
      }
      counts[kind, default: 0] += 1
      byLabel[label] = targets.count
      targets.append(Target(label: label, kind: kind, number: counts[kind]!, line: line))
    }
  }

  /// The target labelled `label`.
  public func target(_ label: String) -> Target? { byLabel[label].map { targets[$0] } }

  /// Checks that every mention names a known label.
  ///
  /// - Throws: `NotebookError` at the first unknown mention: `unknown reference '@fig-x' (known: fig-acc, …)`.
  public func validate(_ mentions: [ReferenceMention], file: String? = nil) throws {
    for mention in mentions where target(mention.label) == nil {
      let known = targets.map(\.label)
      let list = known.isEmpty ? "no block has a label" : "known: " + known.joined(separator: ", ")
      throw NotebookError(
        "unknown reference '@\(mention.label)' (\(list))", file: file, line: mention.line)
    }
  }
}
