import Foundation

extension ResultsTable {
  /// The table as CSV (RFC 4180): a header row (`Header (unit)`), then one line per row. A measurement is its
  /// mean at full precision; a column with any standard deviation gets a second column `Header (unit) std`
  /// and, with run counts, a third, `… n`. Text is quoted when it holds a comma, a quote or a line break.
  public func csv() -> String {
    func measurements(_ column: Int) -> [Measurement] {
      rows.compactMap { row in
        if column < row.count, case .measurement(let m) = row[column] { return m }
        return nil
      }
    }
    var header: [String] = []
    var layout: [(column: Int, std: Bool, n: Bool)] = []
    for (index, column) in columns.enumerated() {
      let name = column.header + (column.unit.map { " (\($0))" } ?? "")
      let values = measurements(index)
      let std = values.contains { $0.std != nil }
      let n = std && values.contains { $0.n != nil }
      header.append(name)
      if std { header.append(name + " std") }
      if n { header.append(name + " n") }
      layout.append((index, std, n))
    }
    var lines = [header.map(Self.csvField).joined(separator: ",")]
    for row in rows {
      var fields: [String] = []
      for (column, std, n) in layout {
        let cell = column < row.count ? row[column] : .empty
        switch cell {
        case .text(let text):
          fields.append(text)
          if std { fields.append("") }
          if n { fields.append("") }
        case .measurement(let m):
          fields.append(m.mean.isFinite ? Self.csvNumber(m.mean) : "")
          if std { fields.append(m.std.map(Self.csvNumber) ?? "") }
          if n { fields.append(m.n.map(String.init) ?? "") }
        case .empty:
          fields += [""] + (std ? [""] : []) + (n ? [""] : [])
        }
      }
      lines.append(fields.map(Self.csvField).joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// A number with up to 10 significant digits (`57`, not `56.99999999999999` from a percentage).
  public static func csvNumber(_ value: Double) -> String { String(format: "%.10g", value) }

  /// One RFC 4180 field.
  public static func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
