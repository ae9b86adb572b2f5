import VPEngine

/// `train mapping=ilm epochs=10 seeds=7,8,9 …`: one method, trained over its seeds.
struct TrainStatement: RunningStatement {
  static let verb = "train"
  static let summary = "train a prompt with one label mapping (or the linear probe) over its seeds"

  static func options(word: String?) -> [OptionSpec] { [RunOptions.mapping] + RunOptions.training }

  var runs: [RunSpec]
  var curve: CurveMetric?

  static func decode(word: String?, _ reader: OptionReader) throws -> TrainStatement {
    let mappings = try reader.values("mapping") ?? ["ilm"]
    guard mappings.count == 1 else {
      throw reader.fail("train takes one mapping, got \(mappings.count) (use compare for several)")
    }
    var run = try RunOptions.runSpec(reader, mapping: mappings[0])
    if let name = reader.string("name") { run.name = name }
    return TrainStatement(runs: [run], curve: try reader.choice("curve", as: CurveMetric.self))
  }

  func panels(_ groups: [RunGroup]) -> [Panel] { Self.tableAndCurves(groups, curve: curve) }
}
