import VPEngine

/// `sweep image=32,64,96 mapping=flm,ilm …`: the grid product of the options written with several values.
struct SweepStatement: RunningStatement {
  static let verb = "sweep"
  static let summary = "train the grid product of the options given several values"

  static func options(word: String?) -> [OptionSpec] { RunOptions.sweep }

  var runs: [RunSpec]
  /// The axes, in the order written.
  var axes: [String]
  var curve: CurveMetric?

  static func decode(word: String?, _ reader: OptionReader) throws -> SweepStatement {
    let axisNames = reader.specs.filter(\.axis).map(\.name)
    var axes: [(key: String, values: [String])] = []
    for option in reader.raw.options where axisNames.contains(option.key) {
      let values = reader.list(option.key) ?? []
      guard !values.contains(where: \.isEmpty) else {
        throw reader.fail("option '\(option.key)' has an empty value in its list")
      }
      guard Set(values).count == values.count else { throw reader.fail("option '\(option.key)' repeats a value") }
      if option.key == "data" {
        for name in values { try DataStatement.checkName(name, reader: reader) }
      } else {
        _ = try reader.values(option.key)
      }
      if values.count > 1 { axes.append((option.key, values)) }
    }
    guard !axes.isEmpty else {
      throw reader.fail(
        "sweep needs at least one option with several values, e.g. image=32,64,96 (axes: \(axisNames.joined(separator: ", ")))"
      )
    }
    var points: [[(String, String)]] = [[]]
    for axis in axes {
      points = points.flatMap { point in axis.values.map { point + [(axis.key, $0)] } }
    }
    var runs: [RunSpec] = []
    for point in points {
      var pointReader = reader
      pointReader.overrides = point
      var run = try RunOptions.runSpec(pointReader, mapping: pointReader.string("mapping") ?? "ilm")
      run.name = point.map { "\($0.0)=\($0.1)" }.joined(separator: "/")
      if let prefix = reader.string("name") { run.name = prefix + "/" + run.name }
      runs.append(run)
    }
    return SweepStatement(
      runs: runs, axes: axes.map(\.key), curve: try reader.choice("curve", as: CurveMetric.self))
  }

  func panels(_ groups: [RunGroup]) -> [Panel] { SweepView.panels(groups, axes: axes) }
}
