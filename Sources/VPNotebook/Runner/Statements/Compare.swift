import VPEngine

/// `compare mapping=rlm,flm,ilm …`: several methods with the same settings, side by side.
struct CompareStatement: RunningStatement {
  static let verb = "compare"
  static let summary = "train several label mappings with the same settings, side by side"

  static func options(word: String?) -> [OptionSpec] { [RunOptions.mapping] + RunOptions.training }

  var runs: [RunSpec]
  var curve: CurveMetric?

  static func decode(word: String?, _ reader: OptionReader) throws -> CompareStatement {
    guard let mappings = try reader.values("mapping") else {
      throw reader.fail("compare needs mapping=a,b,… (e.g. mapping=rlm,flm,ilm)")
    }
    var runs: [RunSpec] = []
    for mapping in mappings {
      var run = try RunOptions.runSpec(reader, mapping: mapping)
      if let prefix = reader.string("name") { run.name = prefix + "/" + run.name }
      guard !runs.contains(where: { $0.name == run.name }) else {
        throw reader.fail("mapping '\(mapping)' is listed twice")
      }
      runs.append(run)
    }
    return CompareStatement(runs: runs, curve: try reader.choice("curve", as: CurveMetric.self))
  }

  func panels(_ groups: [RunGroup]) -> [Panel] { Self.tableAndCurves(groups, curve: curve) }
}
