/// A results table, rendered by the runner (plain cmark has no tables): text cells and measurements
/// (`71.3 ± 0.8`), the best value of each numeric column in bold, a numbered caption and an id anchor.
public struct ResultsTable: Sendable, Hashable {
  /// Which way a column improves.
  public enum Better: Sendable, Hashable {
    /// The largest value is the best (accuracy).
    case higher
    /// The smallest value is the best (loss, error).
    case lower
    /// No value is singled out.
    case none
  }

  /// A column: header text, optional unit, direction and precision.
  public struct Column: Sendable, Hashable {
    /// The header text.
    public var header: String
    /// The unit, shown after the header in parentheses (`%`, `s`).
    public var unit: String?
    /// Which way is better; decides which value is bold.
    public var better: Better
    /// Digits after the point for measurements.
    public var decimals: Int

    /// Creates a column.
    public init(_ header: String, unit: String? = nil, better: Better = .higher, decimals: Int = 1) {
      self.header = header
      self.unit = unit
      self.better = better
      self.decimals = decimals
    }
  }

  /// A mean with an optional standard deviation and number of runs.
  public struct Measurement: Sendable, Hashable, Codable {
    /// The mean (or the single value).
    public var mean: Double
    /// The standard deviation, shown as `± std`.
    public var std: Double?
    /// How many runs the mean is over, shown as a tooltip.
    public var n: Int?

    /// Creates a measurement.
    public init(mean: Double, std: Double? = nil, n: Int? = nil) {
      self.mean = mean
      self.std = std
      self.n = n
    }
  }

  /// A table cell.
  public enum Cell: Sendable, Hashable {
    /// Text, shown as is (escaped).
    case text(String)
    /// A number, compared within its column.
    case measurement(Measurement)
    /// Nothing.
    case empty

    /// A measurement cell holding one value.
    public static func value(_ value: Double) -> Cell { .measurement(Measurement(mean: value)) }
  }

  /// The columns, left to right.
  public var columns: [Column]
  /// The rows; a short row is padded with empty cells.
  public var rows: [[Cell]]
  /// The caption text, after "Table N:".
  public var caption: String?
  /// The table's number, from the cross-reference numbering.
  public var number: Int?
  /// The element id (the block's label, e.g. `tbl-main`).
  public var id: String?

  /// Creates a table.
  public init(
    columns: [Column], rows: [[Cell]], caption: String? = nil, number: Int? = nil, id: String? = nil
  ) {
    self.columns = columns
    self.rows = rows
    self.caption = caption
    self.number = number
    self.id = id
  }

  /// The row indices holding the best value of column `column` (ties all count; values are compared as
  /// displayed, rounded to the column's decimals). Empty for `.none` columns and for fewer than two values.
  public func bestRows(column: Int) -> Set<Int> {
    let spec = columns[column]
    guard spec.better != .none else { return [] }
    var candidates: [(row: Int, value: Double)] = []
    for (rowIndex, row) in rows.enumerated() where column < row.count {
      if case .measurement(let measurement) = row[column], measurement.mean.isFinite {
        let scale = pow10(spec.decimals)
        candidates.append((rowIndex, (measurement.mean * scale).rounded()))
      }
    }
    guard candidates.count >= 2 else { return [] }
    let values = candidates.map(\.value)
    let best = spec.better == .higher ? values.max()! : values.min()!
    return Set(candidates.filter { $0.value == best }.map(\.row))
  }

  /// The table as HTML: `<table class="vp-table" id=…><caption>Table 2: …</caption><thead>…<tbody>…`.
  public func html() -> String {
    let numeric = columns.indices.map { column in
      rows.contains { row in
        if column < row.count, case .measurement = row[column] { return true }
        return false
      }
    }
    let best = columns.indices.map(bestRows(column:))
    var html = "<table class=\"vp-table\"" + (id.map { " id=\"\(HTML.escape($0))\"" } ?? "") + ">\n"
    if caption != nil || number != nil {
      html += "<caption>"
      if let number {
        html += "<span class=\"vp-label\">Table \(number)\(caption == nil ? "" : ":")</span>"
        if caption != nil { html += " " }
      }
      html += HTML.escape(caption ?? "") + "</caption>\n"
    }
    html += "<thead><tr>"
    for (index, column) in columns.enumerated() {
      html +=
        "<th scope=\"col\"" + (numeric[index] ? " class=\"num\"" : "") + ">"
        + HTML.escape(column.header)
      if let unit = column.unit { html += " <span class=\"vp-unit\">(\(HTML.escape(unit)))</span>" }
      if numeric[index] {
        switch column.better {
        case .higher: html += " <span class=\"vp-better\" title=\"higher is better\">↑</span>"
        case .lower: html += " <span class=\"vp-better\" title=\"lower is better\">↓</span>"
        case .none: break
        }
      }
      html += "</th>"
    }
    html += "</tr></thead>\n<tbody>\n"
    for (rowIndex, row) in rows.enumerated() {
      html += "<tr>"
      for column in columns.indices {
        let cell = column < row.count ? row[column] : .empty
        html += self.cell(
          cell, column: columns[column], numeric: numeric[column],
          bold: best[column].contains(rowIndex))
      }
      html += "</tr>\n"
    }
    html += "</tbody>\n</table>\n"
    return html
  }

  private func cell(_ cell: Cell, column: Column, numeric: Bool, bold: Bool) -> String {
    let open = numeric ? "<td class=\"num\"" : "<td"
    switch cell {
    case .empty:
      return open + "></td>"
    case .text(let text):
      return open + ">" + HTML.escape(text) + "</td>"
    case .measurement(let measurement):
      var text =
        measurement.mean.isFinite
        ? NumberFormat.fixed(measurement.mean, decimals: column.decimals) : "–"
      if let std = measurement.std, std.isFinite, measurement.mean.isFinite {
        text += " ± " + NumberFormat.fixed(std, decimals: column.decimals)
      }
      if bold { text = "<strong>" + text + "</strong>" }
      let title = measurement.n.map { " title=\"n = \($0)\"" } ?? ""
      return open + title + ">" + text + "</td>"
    }
  }
}

/// 10^exponent for small exponents.
func pow10(_ exponent: Int) -> Double {
  var value = 1.0
  for _ in 0..<abs(exponent) { value *= 10 }
  return exponent < 0 ? 1 / value : value
}
