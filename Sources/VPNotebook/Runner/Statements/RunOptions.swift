import Foundation
import VPEngine

/// The options of the statements that train (`train`, `compare`, `baseline`, `sweep`), declared once, and
/// the `RunSpec` they decode to.
enum RunOptions {
  /// Mapping names a run accepts: every `MappingKind` and the linear probe.
  static let mappingNames = MappingKind.allCases.map(\.rawValue) + ["linear-probe"]

  static let mapping = OptionSpec(
    name: "mapping", type: .choice(mappingNames), defaultText: "ilm",
    help: "Label mapping: "
      + MappingKind.allCases.map { "\($0.rawValue) (\($0.policy.summary))" }.joined(separator: "; ")
      + "; or linear-probe.", axis: true)

  /// The option of each mapping setting (exhaustive: a new `MappingOption` needs its spec here).
  static func spec(_ option: MappingOption) -> OptionSpec {
    let readers = MappingKind.allCases.filter { $0.policy.options.contains(option) }.map(\.rawValue)
    let by = " (" + readers.joined(separator: ", ") + ")"
    switch option {
    case .assignment:
      return OptionSpec(
        name: "assignment", type: .choice(AssignmentMethod.allCases.map(\.rawValue)), defaultText: "greedy",
        help: "One-to-one assignment: greedy (ILM-VP) or hungarian (optimal)" + by + ".", axis: true)
    case .interval:
      return OptionSpec(
        name: "interval", type: .int(min: 1), defaultText: "1", help: "Epochs between remappings" + by + ".",
        axis: true)
    case .m:
      return OptionSpec(
        name: "m", type: .int(min: 1), defaultText: "1", help: "Source classes per target" + by + ".", axis: true)
    case .topk:
      return OptionSpec(
        name: "topk", type: .int(min: 1), defaultText: "max(1, int(0.15 K))",
        help: "Top-k source probabilities per image in the frequency matrix" + by + ".", axis: true)
    case .lambda:
      return OptionSpec(
        name: "lambda", type: .number(positive: false), defaultText: "1",
        help: "Laplace smoothing λ of ω" + by + ".", axis: true)
    case .mappingLR:
      return OptionSpec(
        name: "mapping_lr", type: .number(positive: true), defaultText: "lr",
        help: "Learning rate of the mapping's layer" + by + ".", axis: true)
    case .text:
      return OptionSpec(
        name: "text", type: .choice(SemanticText.allCases.map(\.rawValue)), defaultText: "wordnet",
        help: "How class names are compared: wordnet (Wu–Palmer; ImageNet-1k models) or clip (CLIP's text tower: "
          + "model clip, or text_encoder= on the model)" + by + ".", axis: true)
    }
  }

  static let epochs = OptionSpec(name: "epochs", type: .int(min: 1), defaultText: "10", help: "Epochs.", axis: true)
  static let lr = OptionSpec(
    name: "lr", type: .number(positive: true), defaultText: "0.01",
    help: "Learning rate (the linear probe's default: 0.1).", axis: true)
  static let batch = OptionSpec(name: "batch", type: .int(min: 1), defaultText: "64", help: "Batch size.", axis: true)
  static let steps = OptionSpec(
    name: "steps", type: .int(min: 1), defaultText: "all",
    help: "At most this many batches per epoch (smoke tests and measurements; the schedule follows them).")
  static let seed = OptionSpec(
    name: "seed", type: .seeds, defaultText: "7", help: "The training seed (or seeds, like seeds).")
  static let seeds = OptionSpec(
    name: "seeds", type: .seeds, defaultText: "7", help: "Training seeds, comma-separated (mean ± std is reported).")
  static let optimizer = OptionSpec(
    name: "optimizer", type: .choice(OptimizerKind.allCases.map(\.rawValue)), defaultText: "adam",
    help: "Optimizer: adam or sgd (momentum 0.9).", axis: true)
  static let schedule = OptionSpec(
    name: "schedule", type: .choice(ScheduleKind.allCases.map(\.rawValue)), defaultText: "multistep",
    help: "Learning-rate schedule: multistep (×0.1 at 50 % and 72 %), cosine or constant.", axis: true)
  static let weightDecay = OptionSpec(
    name: "weight_decay", type: .number(positive: false), defaultText: "0",
    help: "Weight decay of the prompt (and of the linear probe's weights).", axis: true)
  static let augment = OptionSpec(
    name: "augment", type: .choice(Augmentation.allCases.map(\.rawValue)), defaultText: "none",
    help:
      "Training-time augmentation of the training images: none, or trivial (one random operation per image and epoch in TrivialAugment's spirit: flip, shift, rotation, brightness, contrast, saturation or cut-out); never the validation or test images.",
    axis: true)
  static let probeLR = OptionSpec(
    name: "probe_lr", type: .number(positive: true), defaultText: "0.1",
    help: "Learning rate of linear-probe runs among several mappings.")
  static let curve = OptionSpec(
    name: "curve", type: .choice(CurveMetric.allCases.map(\.rawValue)), defaultText: "val",
    help: "What the chart of training curves shows (test: also evaluate the test split after every epoch).")
  static let name = OptionSpec(
    name: "name", type: .text, defaultText: nil, help: "The name the run is registered under (a prefix for several).")
  static let data = OptionSpec(
    name: "data", type: .text, defaultText: nil, help: "Data set (a sweep axis).", axis: true)

  /// What `train` and `compare` take besides `mapping`.
  static let training: [OptionSpec] =
    [epochs, lr, batch, steps, seed, seeds] + MappingOption.allCases.map(spec)
    + [optimizer, schedule, weightDecay, augment, probeLR, curve, name, PromptStatement.scale]
  /// What `sweep` takes: every axis and the rest of the training options.
  static let sweep: [OptionSpec] =
    [PromptStatement.image, PromptStatement.canvas, PromptStatement.kindAxis, PromptStatement.rank, mapping]
    + training.filter { $0.name != "name" }
    + [data, DataStatement.options(word: nil)[0], name]

  /// The options written with several values (`sweep`'s and `search`'s axes), `[name, value, value…]` in the
  /// order written; every written axis value is checked against its option's type first.
  static func axes(_ reader: OptionReader) throws -> [[String]] {
    let axisNames = reader.specs.filter(\.axis).map(\.name)
    var axes: [[String]] = []
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
      if values.count > 1 { axes.append([option.key] + values) }
    }
    guard !axes.isEmpty else {
      throw reader.fail(
        "\(reader.raw.verb) needs at least one option with several values, e.g. image=32,64,96 (axes: \(axisNames.joined(separator: ", ")))"
      )
    }
    return axes
  }

  /// The mapping `kind` with the mapping options written in `reader` (`MappingOption`; defaults for the rest).
  static func mappingConfig(_ reader: OptionReader, kind: MappingKind) throws -> MappingConfig {
    MappingConfig(
      kind, assignment: try reader.choice("assignment", as: AssignmentMethod.self) ?? .greedy,
      interval: try reader.int("interval") ?? 1, sourcesPerTarget: try reader.int("m") ?? 1,
      topK: try reader.int("topk"), lambda: try reader.double("lambda") ?? 1,
      text: try reader.choice("text", as: SemanticText.self))
  }

  /// The `RunSpec` of one method (`mapping` a mapping name or `linear-probe`), with `reader`'s overrides
  /// (a sweep point) in effect.
  static func runSpec(_ reader: OptionReader, mapping: String) throws -> RunSpec {
    let isProbe = mapping == "linear-probe"
    var training = TrainingConfig()
    training.epochs = try reader.int("epochs") ?? training.epochs
    training.batchSize = try reader.int("batch") ?? training.batchSize
    training.stepsPerEpoch = try reader.int("steps")
    if isProbe {
      let probe = try reader.double("probe_lr")
      let shared = reader.raw.verb == "compare" || reader.raw.verb == "sweep" ? nil : try reader.double("lr")
      training.learningRate = probe ?? shared ?? 0.1
    } else {
      training.learningRate = try reader.double("lr") ?? training.learningRate
    }
    training.optimizer = try reader.choice("optimizer", as: OptimizerKind.self) ?? training.optimizer
    training.schedule = try reader.choice("schedule", as: ScheduleKind.self) ?? training.schedule
    training.weightDecay = try reader.double("weight_decay") ?? 0
    training.mappingLearningRate = try reader.double("mapping_lr")
    let augmentation = try reader.choice("augment", as: Augmentation.self)
    training.augment = augmentation == Augmentation.none ? nil : augmentation
    let method: RunMethod
    if isProbe {
      method = .linearProbe
    } else {
      method = .prompt(try mappingConfig(reader, kind: MappingKind(rawValue: mapping)!))
    }
    return RunSpec(
      name: method.label, method: method, training: training, seeds: try reader.seeds(),
      testCurve: try reader.choice("curve", as: CurveMetric.self) == .test,
      image: try reader.int("image"), canvas: try reader.int("canvas"), dataName: reader.string("data"),
      perClass: try reader.count("per_class"),
      learnScale: try reader.value("scale").map { $0 == "learn" },
      promptKind: try reader.choice("prompt", as: PromptKind.self), rank: try reader.int("rank"),
      axes: reader.overrides.map { [$0.0, $0.1] })
  }
}
