import VPReport

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
  /// A results table's data as CSV (written beside the report, `NAME.tables/`).
  var csv: String? = nil

  init(kind: Kind, title: String?, html: String, csv: String? = nil) {
    self.kind = kind
    self.title = title
    self.html = html
    self.csv = csv
  }

  /// A results table: its HTML and its CSV.
  init(title: String?, table: ResultsTable, after: String = "") {
    self.init(kind: .table, title: title, html: table.html() + after, csv: table.csv())
  }
}
