import VPEngine

/// `baseline zero-shot [mapping=flm|freqmap|identity|semantic|rlm] [assignment=… m=…]` or
/// `baseline linear-probe [epochs=… lr=…]`.
struct BaselineStatement: RunningStatement {
  static let verb = "baseline"
  static let summary = "a baseline: the zero-shot mapping or a linear probe on the frozen features"
  static let word: WordSpec? = WordSpec(
    what: "zero-shot or linear-probe", noun: "baseline", known: ["zero-shot", "linear-probe"], selectsOptions: true)

  static func options(word: String?) -> [OptionSpec] {
    switch word {
    case "zero-shot":
      return [
        zeroShotMapping, RunOptions.spec(.assignment), RunOptions.spec(.m), RunOptions.spec(.text), RunOptions.name,
      ]
    default:
      return [
        RunOptions.epochs, RunOptions.lr, RunOptions.batch, RunOptions.steps, RunOptions.seed, RunOptions.seeds,
        RunOptions.optimizer,
        RunOptions.schedule, RunOptions.weightDecay, RunOptions.curve, RunOptions.name,
      ]
    }
  }

  /// The mappings a zero-shot run can use: computed at most once, not trained.
  static let zeroShotMappings = MappingKind.allCases.filter {
    (try? Experiment.checkZeroShot(MappingConfig($0))) != nil
  }

  static let zeroShotMapping = OptionSpec(
    name: "mapping", type: .choice(zeroShotMappings.map(\.rawValue)), defaultText: "flm",
    help: "How the untrained model's source classes become the task's: flm (by frequency over the training "
      + "images), freqmap (m per target), identity (target k is source k: CLIP's own zero-shot rule with "
      + "model clip sources=classes or sources=ensemble), semantic (by name) or rlm (random).")

  var runs: [RunSpec]
  var curve: CurveMetric?

  static func decode(word: String?, _ reader: OptionReader) throws -> BaselineStatement {
    if word == "zero-shot" {
      let kind = try reader.choice("mapping", as: MappingKind.self) ?? .flm
      let method = RunMethod.zeroShot(try RunOptions.mappingConfig(reader, kind: kind))
      let run = RunSpec(
        name: reader.string("name") ?? method.label, method: method,
        training: TrainingConfig(epochs: 1), seeds: [0], testCurve: false, axes: [])
      return BaselineStatement(runs: [run], curve: nil)
    }
    var run = try RunOptions.runSpec(reader, mapping: "linear-probe")
    if let name = reader.string("name") { run.name = name }
    return BaselineStatement(runs: [run], curve: try reader.choice("curve", as: CurveMetric.self))
  }

  func panels(_ groups: [RunGroup]) -> [Panel] { Self.tableAndCurves(groups, curve: curve) }
}
