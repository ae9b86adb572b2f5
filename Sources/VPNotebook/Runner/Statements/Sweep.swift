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
    let axes = try RunOptions.axes(reader).map { (key: $0[0], values: Array($0.dropFirst())) }
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
