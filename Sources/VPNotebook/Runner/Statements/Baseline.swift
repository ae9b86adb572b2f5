import VPEngine

/// `baseline zero-shot [assignment=…]` or `baseline linear-probe [epochs=… lr=…]`.
struct BaselineStatement: RunningStatement {
  static let verb = "baseline"
  static let summary = "a baseline: the zero-shot mapping or a linear probe on the frozen features"
  static let word: WordSpec? = WordSpec(
    what: "zero-shot or linear-probe", noun: "baseline", known: ["zero-shot", "linear-probe"], selectsOptions: true)

  static func options(word: String?) -> [OptionSpec] {
    switch word {
    case "zero-shot":
      return [RunOptions.spec(.assignment), RunOptions.name]
    default:
      return [
        RunOptions.epochs, RunOptions.lr, RunOptions.batch, RunOptions.steps, RunOptions.seed, RunOptions.seeds,
        RunOptions.optimizer,
        RunOptions.schedule, RunOptions.weightDecay, RunOptions.curve, RunOptions.name,
      ]
    }
  }

  var runs: [RunSpec]
  var curve: CurveMetric?

  static func decode(word: String?, _ reader: OptionReader) throws -> BaselineStatement {
    if word == "zero-shot" {
      let assignment = try reader.choice("assignment", as: AssignmentMethod.self) ?? .greedy
      let run = RunSpec(
        name: reader.string("name") ?? "zero-shot", method: .zeroShot(assignment),
        training: TrainingConfig(epochs: 1), seeds: [0], testCurve: false, axes: [])
      return BaselineStatement(runs: [run], curve: nil)
    }
    var run = try RunOptions.runSpec(reader, mapping: "linear-probe")
    if let name = reader.string("name") { run.name = name }
    return BaselineStatement(runs: [run], curve: try reader.choice("curve", as: CurveMetric.self))
  }

  func panels(_ groups: [RunGroup]) -> [Panel] { Self.tableAndCurves(groups, curve: curve) }
}
