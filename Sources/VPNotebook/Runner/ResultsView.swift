import VPEngine

/// Summaries of a run group over its seeds.
extension RunGroup {
  var testAccuracy: Summary { Summary(results.map(\.testAccuracy)) }

  /// The best validation accuracy of each seed's run (nil when no run has a validation split).
  var bestValidation: Summary? {
    let values = results.compactMap { result in result.history.compactMap(\.validationAccuracy).max() }
    return values.isEmpty ? nil : Summary(values)
  }

  var mappingPrecision: Summary? {
    let values = results.compactMap(\.mappingPrecision)
    return values.isEmpty ? nil : Summary(values)
  }

  var wallSeconds: Summary { Summary(results.map(\.wallSeconds)) }

  /// Wall seconds per trained epoch (runs with a history only).
  var secondsPerEpoch: Summary? {
    let values = results.filter { !$0.history.isEmpty }.map { $0.wallSeconds / Double($0.history.count) }
    return values.isEmpty ? nil : Summary(values)
  }

  /// The learned input scale σ of the selected states (runs with a learnable scale only).
  var inputScale: Summary? {
    let values = results.compactMap(\.inputScale)
    return values.isEmpty ? nil : Summary(values)
  }

  /// The share of the wall time spent estimating frequency matrices (remapping).
  var remapShare: Summary? {
    guard results.contains(where: { $0.remapSeconds > 0 }) else { return nil }
    return Summary(results.map { $0.wallSeconds > 0 ? $0.remapSeconds / $0.wallSeconds : 0 })
  }

  /// `(axis, value)` pairs of a sweep point.
  var axisValues: [String: String] {
    Dictionary(axes.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, uniquingKeysWith: { a, _ in a })
  }
}

/// Tables and charts of run results.
enum ResultsView {
  /// A measurement in percent from a summary of fractions.
  static func percent(_ summary: Summary) -> ResultsTable.Cell {
    .measurement(
      ResultsTable.Measurement(
        mean: summary.mean * 100, std: summary.n > 1 ? summary.std * 100 : nil, n: summary.n))
  }

  static func plain(_ summary: Summary, scale: Double = 1) -> ResultsTable.Cell {
    .measurement(
      ResultsTable.Measurement(
        mean: summary.mean * scale, std: summary.n > 1 ? summary.std * scale : nil, n: summary.n))
  }

  /// The names to show for `groups`: without their common `prefix/` when every name has the same one
  /// (`fashion-mnist/ilm` → `ilm` in a table about Fashion-MNIST).
  static func displayNames(_ groups: [RunGroup]) -> [String] {
    let names = groups.map(\.name)
    guard names.count > 1, let first = names.first, let slash = first.firstIndex(of: "/") else { return names }
    let prefix = first[...slash]
    guard names.allSatisfy({ $0.hasPrefix(prefix) && $0.count > prefix.count }) else { return names }
    return names.map { String($0.dropFirst(prefix.count)) }
  }

  /// One row per group: test accuracy, best validation accuracy, mapping precision, wall time and the
  /// share of it spent remapping (mean ± std over seeds). Columns without any value are left out.
  static func table(_ groups: [RunGroup], firstColumn: String = "Method") -> ResultsTable {
    let showValidation = groups.contains { $0.bestValidation != nil }
    let showPrecision = groups.contains { $0.mappingPrecision != nil }
    let showRemap = groups.contains { $0.remapShare != nil }
    let showScale = groups.contains { $0.inputScale != nil }
    var columns = [
      ResultsTable.Column(firstColumn, better: .none),
      ResultsTable.Column("Test acc.", unit: "%", better: .higher, decimals: 1),
    ]
    if showValidation { columns.append(.init("Best val.", unit: "%", better: .higher, decimals: 1)) }
    if showPrecision { columns.append(.init("Precision", unit: "%", better: .none, decimals: 1)) }
    if showScale { columns.append(.init("Scale σ", better: .none, decimals: 2)) }
    columns.append(.init("Time", unit: "s", better: .none, decimals: 1))
    if showRemap { columns.append(.init("Remap", unit: "%", better: .none, decimals: 0)) }
    let rows = zip(groups, displayNames(groups)).map { group, name -> [ResultsTable.Cell] in
      var row: [ResultsTable.Cell] = [.text(name), percent(group.testAccuracy)]
      if showValidation { row.append(group.bestValidation.map(percent) ?? .empty) }
      if showPrecision { row.append(group.mappingPrecision.map(percent) ?? .empty) }
      if showScale { row.append(group.inputScale.map { plain($0) } ?? .empty) }
      row.append(plain(group.wallSeconds))
      if showRemap { row.append(group.remapShare.map(percent) ?? .empty) }
      return row
    }
    return ResultsTable(columns: columns, rows: rows)
  }

  /// A small legend under a results table for the columns that need one.
  static func tableNote(_ groups: [RunGroup]) -> String {
    var items: [String] = []
    if groups.contains(where: { $0.bestValidation != nil }) {
      items.append(
        "<em>Best val.</em>: the best validation accuracy over the epochs (it selects the epoch that is tested)")
    }
    if groups.contains(where: { $0.mappingPrecision != nil }) {
      items.append(
        "<em>Precision</em>: the share of training images whose most likely ImageNet class is the one their class is mapped to"
      )
    }
    if groups.contains(where: { $0.inputScale != nil }) {
      items.append(
        "<em>Scale σ</em>: the learned input scale (AutoVP), the factor the target image was zoomed by in the selected epoch"
      )
    }
    items.append("<em>Time</em>: wall time per run")
    if groups.contains(where: { $0.remapShare != nil }) {
      items.append("<em>Remap</em>: the share of it spent re-estimating the mapping")
    }
    var html = "<p class=\"vp-table-note\">" + items.joined(separator: "; ") + ".</p>\n"
    let atChance = groups.flatMap { group in
      group.results.filter { $0.warning != nil }.map { "\(group.name) (seed \($0.seed): \(format($0.testAccuracy)) %)" }
    }
    if !atChance.isEmpty {
      html +=
        "<p class=\"vp-table-note vp-warning\"><strong>Warning</strong>: at chance level — "
        + HTML.escape(atChance.joined(separator: ", "))
        + ": the test accuracy is within two standard errors of guessing (1/K); check the learning rate and the data.</p>\n"
    }
    return html
  }

  private static func format(_ accuracy: Double) -> String { String(format: "%.1f", accuracy * 100) }

  /// A sentence on what the numbers are over: data, split sizes, classes, epochs and seeds.
  static func context(_ groups: [RunGroup]) -> String {
    guard let first = groups.first?.first else { return "" }
    var parts: [String] = []
    let dataNames = Set(groups.map(\.data.name))
    if dataNames.count == 1 {
      parts.append(
        "\(first.dataset): \(first.trainCount) training, \(first.validationCount) validation and "
          + "\(first.testCount) test images in \(first.classNames.count) classes")
    }
    let epochs = Set(groups.compactMap { $0.first?.training?.epochs })
    if epochs.count == 1, let e = epochs.first { parts.append("\(e) epoch\(e == 1 ? "" : "s")") }
    let seeds = Set(groups.filter { if case .zeroShot = $0.method { return false } else { return true } }.map(\.seeds))
    if seeds.count == 1, let s = seeds.first, !s.isEmpty {
      parts.append(
        s.count == 1
          ? "seed \(s[0])" : "mean ± std over seeds \(s.map(String.init).joined(separator: ", "))")
    }
    return parts.joined(separator: "; ")
  }

  /// The metric actually shown: the requested one when the runs recorded it, else validation accuracy, else
  /// training accuracy.
  static func metric(_ requested: CurveMetric?, groups: [RunGroup]) -> CurveMetric {
    let histories = groups.flatMap { $0.results.flatMap(\.history) }
    let hasValidation = histories.contains { $0.validationAccuracy != nil }
    let hasTest = histories.contains { $0.testAccuracy != nil }
    switch requested {
    case .test? where hasTest: return .test
    case .train?: return .train
    case .loss?: return .loss
    default: return hasValidation ? .val : .train
    }
  }

  static func value(_ record: EpochRecord, _ metric: CurveMetric) -> Double? {
    switch metric {
    case .val: return record.validationAccuracy.map { $0 * 100 }
    case .test: return record.testAccuracy.map { $0 * 100 }
    case .train: return record.trainAccuracy * 100
    case .loss: return record.trainLoss
    }
  }

  static func metricName(_ metric: CurveMetric) -> String {
    switch metric {
    case .val: return "validation accuracy (%)"
    case .test: return "test accuracy (%)"
    case .train: return "training accuracy (%)"
    case .loss: return "training loss"
    }
  }

  /// Per-epoch curves, one line per group (mean over seeds, a ± std band with several seeds); nil when no
  /// group has a history (zero-shot baselines).
  static func curves(_ groups: [RunGroup], metric requested: CurveMetric?) -> Panel? {
    let metric = metric(requested, groups: groups)
    var series: [SVGChart.Line.Series] = []
    var seedCounts = Set<Int>()
    for (group, name) in zip(groups, displayNames(groups)) {
      let epochs = group.results.map(\.history.count).max() ?? 0
      guard epochs > 0 else { continue }
      var means: [Double] = []
      var stds: [Double] = []
      for epoch in 0..<epochs {
        let values = group.results.compactMap { result in
          epoch < result.history.count ? value(result.history[epoch], metric) : nil
        }
        let summary = Summary(values)
        means.append(values.isEmpty ? .nan : summary.mean)
        stds.append(values.count > 1 ? summary.std : .nan)
      }
      seedCounts.insert(group.results.count)
      let hasBand = stds.contains { $0.isFinite && $0 > 0 }
      series.append(.init(name: name, y: means, band: hasBand ? stds.map { $0.isFinite ? $0 : 0 } : nil))
    }
    guard !series.isEmpty else { return nil }
    let name = metricName(metric)
    let over: String
    if seedCounts == [1] {
      over = ""
    } else if seedCounts.count == 1, let n = seedCounts.first {
      over = " (mean ± std over \(n) seeds)"
    } else {
      over = " (mean ± std over seeds)"
    }
    let title = String(name.prefix(1)).uppercased() + name.dropFirst() + " per epoch" + over
    let chart = SVGChart.Line(series: series, xLabel: "epoch", yLabel: name, title: title)
    return Panel(kind: .figure, title: title, html: chart.svg())
  }

  /// Methods down, data sets across: test accuracy (mean ± std over seeds), the best per data set in bold,
  /// and the same as grouped bars.
  static func dataPivot(_ groups: [RunGroup]) -> [Panel] {
    var dataSets: [String] = []
    var methods: [String] = []
    for group in groups {
      if !dataSets.contains(group.data.name) { dataSets.append(group.data.name) }
      if !methods.contains(group.method.label) { methods.append(group.method.label) }
    }
    func find(_ method: String, _ data: String) -> RunGroup? {
      groups.last { $0.method.label == method && $0.data.name == data }
    }
    var columns = [ResultsTable.Column("Method", better: .none)]
    columns += dataSets.map { ResultsTable.Column($0, better: .higher, decimals: 1) }
    let rows = methods.map { method -> [ResultsTable.Cell] in
      [.text(method)]
        + dataSets.map { data in find(method, data).map { ResultsView.percent($0.testAccuracy) } ?? .empty }
    }
    let seeds = Set(groups.map(\.results.count))
    let over = seeds.count == 1 && seeds.first! > 1 ? ", mean ± std over \(seeds.first!) seeds" : ""
    let title = "Test accuracy (%) by method and data set" + over
    let series = methods.map { method -> SVGChart.Bar.Series in
      let found = dataSets.map { find(method, $0) }
      let errors = found.map { $0.map { $0.testAccuracy.n > 1 ? $0.testAccuracy.std * 100 : 0 } ?? 0 }
      return .init(
        name: method, values: found.map { $0.map { $0.testAccuracy.mean * 100 } ?? .nan },
        errors: errors.contains { $0 > 0 } ? errors : nil)
    }
    let chart = SVGChart.Bar(
      categories: dataSets, series: series, xLabel: "data set", yLabel: "test accuracy (%)",
      title: "Test accuracy by data set" + over)
    return [
      Panel(title: title, table: ResultsTable(columns: columns, rows: rows)),
      Panel(kind: .figure, title: "The same as bars" + (over.isEmpty ? "" : " (error bars: ± std)"), html: chart.svg()),
    ]
  }

  static func tablePanel(_ groups: [RunGroup]) -> Panel {
    Panel(title: tableTitle(groups), table: ResultsView.table(groups), after: ResultsView.tableNote(groups))
  }

  static func tableTitle(_ groups: [RunGroup]) -> String {
    let context = ResultsView.context(groups)
    return "Test accuracy (%) and cost" + (context.isEmpty ? "" : " — " + context)
  }
}
