/// The parsed info string of a fenced block: ```` ```vp {#fig-acc caption="Validation accuracy" width=600} ````.
///
/// Syntax: a kind word, then optionally one `{…}` group of whitespace-separated items:
/// `#label`, `.class`, `key=value`, `key="double-quoted \"value\""`, `key='single-quoted value'` or a bare
/// `key` (value ""). Nothing may follow the closing `}`.
public struct BlockInfo: Sendable, Hashable {
  /// The first word (`vp`, `swift`, …), "" for an empty info string.
  public var kind: String
  /// The `#label` without `#`, if any.
  public var label: String?
  /// The `.class` items without `.`, in order.
  public var classes: [String]
  /// The `key=value` items.
  public var attributes: [String: String]

  /// Creates an info value from its parts.
  public init(
    kind: String, label: String? = nil, classes: [String] = [], attributes: [String: String] = [:]
  ) {
    self.kind = kind
    self.label = label
    self.classes = classes
    self.attributes = attributes
  }

  /// The `caption` attribute.
  public var caption: String? { attributes["caption"] }

  /// Figure or table, from the label's prefix; nil without a label or with another prefix.
  public var labelKind: LabelKind? { label.flatMap(LabelKind.init(label:)) }
}
