import Foundation
import VPEngine

/// The table and chart of a `sweep`.
enum SweepView {
  /// How an axis is named in headers and on chart axes.
  static func axisName(_ axis: String) -> String {
    switch axis {
    case "image": return "image side (px)"
    case "canvas": return "canvas (px)"
    case "mapping": return "mapping"
    case "interval": return "remapping interval (epochs)"
    case "lr": return "learning rate"
    case "m": return "sources per target (m)"
    case "epochs": return "epochs"
    case "batch": return "batch size"
    case "data": return "data set"
    case "per_class": return "training images per class"
    case "assignment": return "assignment"
    case "optimizer": return "optimizer"
    case "schedule": return "schedule"
    case "topk": return "top-k"
    case "scale": return "input scale"
    case "prompt": return "prompt"
    case "rank": return "rank"
    case "augment": return "augmentation"
    default: return axis
    }
  }

  static let numericAxes: Set<String> = [
    "image", "canvas", "interval", "lr", "m", "epochs", "batch", "per_class", "topk", "rank",
  ]

  /// The sweep's panels: a table (a pivot table for two axes) and a chart (lines over the first numeric
  /// axis, or grouped bars when every axis is categorical).
  static func panels(_ groups: [RunGroup], axes: [String]) -> [Panel] {
    var panels: [Panel] = []
    let context = ResultsView.context(groups)
    let title =
      "Test accuracy (%) by " + axes.map(axisName).joined(separator: " × ")
      + (context.isEmpty ? "" : " — " + context)
    panels.append(Panel(title: title, table: table(groups, axes: axes)))
    if axes.count == 2, groups.contains(where: { $0.inputScale != nil }) {
      // The pivot has room for one number per cell: the learned scales get a pivot of their own.
      let scales = pivot(groups, axes: axes, better: .none, decimals: 2) { $0.inputScale.map { ResultsView.plain($0) } }
      panels.append(
        Panel(title: "Learned input scale σ by " + axes.map(axisName).joined(separator: " × "), table: scales))
    }
    if let chart = chart(groups, axes: axes) { panels.append(chart) }
    return panels
  }

  /// Values of `axis` in the order they first appear.
  static func values(_ axis: String, in groups: [RunGroup]) -> [String] {
    var seen: [String] = []
    for group in groups {
      if let value = group.axisValues[axis], !seen.contains(value) { seen.append(value) }
    }
    return seen
  }

  static func table(_ groups: [RunGroup], axes: [String]) -> ResultsTable {
    if axes.count == 2 {
      return pivot(groups, axes: axes, better: .higher, decimals: 1) { ResultsView.percent($0.testAccuracy) }
    }
    var columns = axes.map { ResultsTable.Column(axisName($0), better: .none) }
    columns.append(.init("Test acc.", unit: "%", better: .higher, decimals: 1))
    let showValidation = groups.contains { $0.bestValidation != nil }
    if showValidation { columns.append(.init("Best val. acc.", unit: "%", better: .higher, decimals: 1)) }
    let showScale = groups.contains { $0.inputScale != nil }
    if showScale { columns.append(.init("Scale σ", better: .none, decimals: 2)) }
    // Points that train different numbers of values (prompt kinds, ranks) show the count and the time per
    // epoch: what each costs.
    let counts = Set(groups.compactMap { $0.first?.trainableParameters })
    let showCost = counts.count > 1
    if showCost {
      columns.append(.init("Trainable", better: .none, decimals: 0))
      columns.append(.init("Time / epoch", unit: "s", better: .none, decimals: 2))
    }
    columns.append(.init("Wall time", unit: "s", better: .none, decimals: 1))
    let rows = groups.map { group -> [ResultsTable.Cell] in
      var row: [ResultsTable.Cell] = axes.map { .text(group.axisValues[$0] ?? "") }
      row.append(ResultsView.percent(group.testAccuracy))
      if showValidation { row.append(group.bestValidation.map(ResultsView.percent) ?? .empty) }
      if showScale { row.append(group.inputScale.map { ResultsView.plain($0) } ?? .empty) }
      if showCost {
        row.append(group.first.map { .value(Double($0.trainableParameters)) } ?? .empty)
        row.append(group.secondsPerEpoch.map { ResultsView.plain($0) } ?? .empty)
      }
      row.append(ResultsView.plain(group.wallSeconds))
      return row
    }
    return ResultsTable(columns: columns, rows: rows)
  }

  /// A two-axis pivot of `cell`: the mapping (or the second axis) down, the other across (with
  /// `better: .higher` the best row per column is bold).
  static func pivot(
    _ groups: [RunGroup], axes: [String], better: ResultsTable.Better, decimals: Int,
    cell: (RunGroup) -> ResultsTable.Cell?
  ) -> ResultsTable {
    let rowAxis = axes.contains("mapping") ? "mapping" : axes[1]
    let columnAxis = axes.first { $0 != rowAxis }!
    let columnValues = values(columnAxis, in: groups)
    var columns = [ResultsTable.Column(axisName(rowAxis), better: .none)]
    for value in columnValues {
      columns.append(
        .init(columnAxis == "data" ? value : "\(columnAxis) = \(value)", better: better, decimals: decimals))
    }
    let rows = values(rowAxis, in: groups).map { rowValue -> [ResultsTable.Cell] in
      [.text(rowValue)]
        + columnValues.map { columnValue in
          groups.first { $0.axisValues[rowAxis] == rowValue && $0.axisValues[columnAxis] == columnValue }
            .flatMap(cell) ?? .empty
        }
    }
    return ResultsTable(columns: columns, rows: rows)
  }

  static func chart(_ groups: [RunGroup], axes: [String]) -> Panel? {
    let seedCount = groups.map(\.results.count).max() ?? 1
    let over = seedCount > 1 ? " (mean ± std over \(seedCount) seeds)" : ""
    if let xAxis = axes.first(where: { numericAxes.contains($0) }) {
      let others = axes.filter { $0 != xAxis }
      var seriesNames: [String] = []
      var points: [String: [(x: Double, y: Double, std: Double)]] = [:]
      for group in groups {
        guard let text = group.axisValues[xAxis], var x = Double(text) else { continue }
        if xAxis == "lr" { x = log10(x) }
        let name =
          others.count == 1
          ? group.axisValues[others[0]] ?? ""
          : others.map { "\($0)=\(group.axisValues[$0] ?? "")" }.joined(separator: ", ")
        if !seriesNames.contains(name) { seriesNames.append(name) }
        let summary = group.testAccuracy
        points[name, default: []].append((x, summary.mean * 100, summary.n > 1 ? summary.std * 100 : 0))
      }
      let series = seriesNames.map { name -> SVGChart.Line.Series in
        let sorted = points[name, default: []].sorted { $0.x < $1.x }
        let band = sorted.contains { $0.std > 0 } ? sorted.map(\.std) : nil
        return .init(name: others.isEmpty ? "" : name, x: sorted.map(\.x), y: sorted.map(\.y), band: band)
      }
      let xLabel = xAxis == "lr" ? "learning rate (log₁₀)" : axisName(xAxis)
      let title = "Test accuracy by \(axisName(xAxis))" + over
      let chart = SVGChart.Line(series: series, xLabel: xLabel, yLabel: "test accuracy (%)", title: title)
      return Panel(kind: .figure, title: title, html: chart.svg())
    }
    let categoryAxis = axes.contains("data") ? "data" : axes[0]
    let others = axes.filter { $0 != categoryAxis }
    let categories = values(categoryAxis, in: groups)
    var seriesNames: [String] = []
    for group in groups {
      let name = others.map { group.axisValues[$0] ?? "" }.joined(separator: ", ")
      if !seriesNames.contains(name) { seriesNames.append(name) }
    }
    let series = seriesNames.map { name -> SVGChart.Bar.Series in
      var values: [Double] = []
      var errors: [Double] = []
      for category in categories {
        let group = groups.first { candidate in
          candidate.axisValues[categoryAxis] == category
            && others.map { candidate.axisValues[$0] ?? "" }.joined(separator: ", ") == name
        }
        values.append(group.map { $0.testAccuracy.mean * 100 } ?? .nan)
        errors.append(group.map { $0.testAccuracy.n > 1 ? $0.testAccuracy.std * 100 : 0 } ?? 0)
      }
      return .init(name: name, values: values, errors: errors.contains { $0 > 0 } ? errors : nil)
    }
    let title = "Test accuracy by \(axisName(categoryAxis))" + over
    let chart = SVGChart.Bar(
      categories: categories, series: series, xLabel: axisName(categoryAxis), yLabel: "test accuracy (%)", title: title)
    return Panel(kind: .figure, title: title, html: chart.svg())
  }
}
