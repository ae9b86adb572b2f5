/// A rendered output of a block: a chart, a table or a note, with an optional title.
struct Panel: Codable, Sendable, Equatable {
  enum Kind: String, Codable, Sendable {
    case figure, table, note
  }
  var kind: Kind
  /// Plain text (escaped when rendered).
  var title: String?
  /// Trusted HTML.
  var html: String
}
