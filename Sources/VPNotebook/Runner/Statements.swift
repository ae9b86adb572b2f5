import VPEngine
import VPModels

/// How a run learns (or does not): visual prompting with a label mapping, or a baseline.
enum RunMethod: Codable, Sendable, Equatable {
  /// A trained prompt with this label mapping.
  case prompt(MappingConfig)
  /// A linear layer on the frozen penultimate features.
  case linearProbe
  /// No training: the untrained prompt and a one-off frequency mapping.
  case zeroShot(AssignmentMethod)

  /// `ilm`, `itermap(m=5)`, `linear-probe`, `zero-shot`.
  var label: String {
    switch self {
    case .prompt(let mapping): return mapping.label
    case .linearProbe: return "linear-probe"
    case .zeroShot: return "zero-shot"
    }
  }

  /// The mapping, for prompt runs.
  var mapping: MappingConfig? {
    if case .prompt(let mapping) = self { return mapping }
    return nil
  }
}

/// What a chart of training curves shows.
enum CurveMetric: String, Codable, Sendable, CaseIterable {
  /// Validation accuracy per epoch (the training accuracy when there is no validation split).
  case val
  /// Test accuracy per epoch (runs evaluate the test split after every epoch; never used for selection).
  case test
  /// Accuracy on the training batches as they were seen.
  case train
  /// Mean training loss.
  case loss
}

/// One training request: a method, its settings, the seeds, and what it changes of the session's setup.
struct RunSpec: Codable, Sendable, Equatable {
  /// The name it is registered under (`ilm`, `image=32/mapping=flm`).
  var name: String
  var method: RunMethod
  var training: TrainingConfig
  var seeds: [UInt64]
  /// Evaluate the test split after every epoch (for `curve=test`).
  var testCurve: Bool
  /// Sweep axes that change the prompt geometry or the data.
  var image: Int?
  var canvas: Int?
  var dataName: String?
  var perClass: Int?
  /// `scale=learn` or `scale=fixed`: AutoVP's learnable input scale on or off (nil: the session's prompt).
  var learnScale: Bool? = nil
  /// The sweep point, `[(axis, value)]`, empty outside sweeps.
  var axes: [[String]]

  /// The prompt this run uses, given the session's.
  func prompt(from base: PromptConfig) -> PromptConfig {
    var config = base
    if let canvas { config.canvas = canvas }
    if let image { config.image = image }
    if let learnScale { config.learnableScale = learnScale }
    if config.kind == .watermark { config.image = config.canvas }
    return config
  }

  /// The data this run uses, given the session's.
  func data(from base: DataSpec) -> DataSpec {
    var spec = base
    if let dataName { spec.name = dataName }
    if let perClass { spec.perClass = perClass }
    return spec
  }
}

/// A statement that trains or evaluates: `train`, `compare`, `baseline` or `sweep`.
struct RunStatement: Sendable, Equatable {
  enum Kind: String, Sendable { case train, compare, baseline, sweep }
  var kind: Kind
  var runs: [RunSpec]
  /// The sweep's axes, in the order written.
  var axes: [String]
  var curve: CurveMetric?
}

/// What a `show` statement displays.
enum ShowRequest: Sendable, Equatable {
  case data(count: Int, classes: Int?)
  case zeroShot(top: Int, count: Int, classes: Int?)
  case mapping(run: String?, top: Int, count: Int, classes: Int?)
  case prompt(run: String?, count: Int)
  case curves(runs: [String]?, metric: CurveMetric?)
  case table(runs: [String]?, pivot: String?)
}

/// A typed statement of the block language.
enum Statement: Sendable, Equatable {
  case model(name: ModelName, weights: String?)
  case data(DataSpec)
  case prompt(PromptConfig)
  case run(RunStatement)
  case show(ShowRequest)
}

/// A statement with its place in the notebook.
struct LocatedStatement: Sendable, Equatable {
  var statement: Statement
  var raw: RawStatement
  var line: Int { raw.line }
}

/// The verbs and options of the block language, and their decoding into `Statement`s.
enum StatementDecoder {
  static let verbs = ["model", "data", "prompt", "train", "compare", "baseline", "sweep", "show"]
  static let showSubjects = ["data", "zero-shot", "mapping", "prompt", "curves", "table"]
  static let mappingNames = MappingKind.allCases.map(\.rawValue) + ["linear-probe"]
  /// Options shared by `train`, `compare` and `sweep`.
  static let trainingOptions = [
    "epochs", "lr", "batch", "seed", "seeds", "interval", "assignment", "m", "topk", "optimizer", "schedule",
    "mapping_lr", "weight_decay", "probe_lr", "curve", "name", "scale",
  ]
  /// The values of the `scale` option: AutoVP's input scale kept fixed or learned.
  static let scaleValues = ["fixed", "learn"]
  /// The options of `sweep` that may take several values (the grid's axes).
  static let sweepAxes = [
    "image", "canvas", "mapping", "interval", "lr", "m", "epochs", "batch", "data", "per_class", "assignment",
    "optimizer", "schedule", "topk", "scale",
  ]

  /// Decodes one raw statement.
  static func decode(_ raw: RawStatement, file: String) throws -> Statement {
    let reader = OptionReader(raw: raw, file: file)
    switch raw.verb {
    case "model":
      let word = try reader.singleWord(what: "a model name", known: ModelName.allCases.map(\.rawValue))
      try reader.allow(["weights"])
      guard let name = ModelName(rawValue: word) else {
        throw reader.unknownValue(word, what: "model", known: ModelName.allCases.map(\.rawValue))
      }
      return .model(name: name, weights: reader.string("weights"))
    case "data":
      let name = try reader.singleWord(what: "a data set name", known: DataCatalog.builtIn)
      try reader.allow(["per_class", "val", "test", "seed"])
      try checkDataName(name, reader: reader)
      var spec = DataSpec(name: name)
      spec.perClass = try reader.int("per_class", min: 1)
      spec.validationPerClass = try reader.int("val", min: 0) ?? 0
      spec.test = try reader.int("test", min: 1) ?? spec.test
      spec.seed = try reader.seed("seed")
      return .data(spec)
    case "prompt":
      let word = try reader.singleWord(what: "a prompt kind", known: PromptKind.allCases.map(\.rawValue))
      guard let kind = PromptKind(rawValue: word) else {
        throw reader.unknownValue(word, what: "prompt kind", known: PromptKind.allCases.map(\.rawValue))
      }
      try reader.allow(kind == .pad ? ["canvas", "image", "scale"] : ["canvas", "frame"])
      let canvas = try reader.int("canvas", min: 32) ?? 128
      let image = kind == .pad ? (try reader.int("image", min: 1) ?? min(64, canvas)) : canvas
      let scale = try reader.enumValue("scale", known: scaleValues)
      let config = PromptConfig(
        kind: kind, canvas: canvas, image: image, frame: try reader.int("frame", min: 1),
        learnableScale: scale == "learn")
      do {
        try config.validate()
      } catch {
        throw reader.fail("\(error)")
      }
      return .prompt(config)
    case "train":
      try reader.noWords()
      try reader.allow(["mapping"] + trainingOptions)
      let mappings = try reader.enumList("mapping", known: mappingNames) ?? ["ilm"]
      guard mappings.count == 1 else {
        throw reader.fail("train takes one mapping, got \(mappings.count) (use compare for several)")
      }
      var run = try reader.runSpec(mapping: mappings[0], axes: [])
      if let name = reader.string("name") { run.name = name }
      return .run(RunStatement(kind: .train, runs: [run], axes: [], curve: try reader.curve()))
    case "compare":
      try reader.noWords()
      try reader.allow(["mapping"] + trainingOptions)
      guard let mappings = try reader.enumList("mapping", known: mappingNames) else {
        throw reader.fail("compare needs mapping=a,b,… (e.g. mapping=rlm,flm,ilm)")
      }
      var runs: [RunSpec] = []
      for mapping in mappings {
        var run = try reader.runSpec(mapping: mapping, axes: [])
        if let prefix = reader.string("name") { run.name = prefix + "/" + run.name }
        guard !runs.contains(where: { $0.name == run.name }) else {
          throw reader.fail("mapping '\(mapping)' is listed twice")
        }
        runs.append(run)
      }
      return .run(RunStatement(kind: .compare, runs: runs, axes: [], curve: try reader.curve()))
    case "baseline":
      let word = try reader.singleWord(what: "zero-shot or linear-probe", known: ["zero-shot", "linear-probe"])
      switch word {
      case "zero-shot":
        try reader.allow(["assignment", "name"])
        let assignment =
          try reader.enumValue("assignment", known: AssignmentMethod.allCases.map(\.rawValue))
          .flatMap(AssignmentMethod.init(rawValue:)) ?? .greedy
        let run = RunSpec(
          name: reader.string("name") ?? "zero-shot", method: .zeroShot(assignment),
          training: TrainingConfig(epochs: 1),
          seeds: [0], testCurve: false, axes: [])
        return .run(RunStatement(kind: .baseline, runs: [run], axes: [], curve: nil))
      case "linear-probe":
        try reader.allow([
          "epochs", "lr", "batch", "seed", "seeds", "optimizer", "schedule", "weight_decay", "curve", "name",
        ])
        var run = try reader.runSpec(mapping: "linear-probe", axes: [])
        if let name = reader.string("name") { run.name = name }
        return .run(RunStatement(kind: .baseline, runs: [run], axes: [], curve: try reader.curve()))
      default:
        throw reader.unknownValue(word, what: "baseline", known: ["zero-shot", "linear-probe"])
      }
    case "sweep":
      try reader.noWords()
      try reader.allow(sweepAxes + trainingOptions.filter { $0 != "epochs" && $0 != "lr" && $0 != "batch" })
      return .run(try reader.sweep())
    case "show":
      let subject = try reader.singleWord(what: "what to show", known: showSubjects)
      switch subject {
      case "data":
        try reader.allow(["count", "classes"])
        return .show(.data(count: try reader.int("count", min: 1) ?? 8, classes: try reader.int("classes", min: 1)))
      case "zero-shot":
        try reader.allow(["top", "count", "classes"])
        return .show(
          .zeroShot(
            top: try reader.int("top", min: 1) ?? 5, count: try reader.int("count", min: 0) ?? 3,
            classes: try reader.int("classes", min: 1)))
      case "mapping":
        try reader.allow(["run", "top", "count", "classes"])
        return .show(
          .mapping(
            run: reader.string("run"), top: try reader.int("top", min: 1) ?? 12,
            count: try reader.int("count", min: 0) ?? 3, classes: try reader.int("classes", min: 1)))
      case "prompt":
        try reader.allow(["run", "count"])
        return .show(.prompt(run: reader.string("run"), count: try reader.int("count", min: 0) ?? 6))
      case "curves":
        try reader.allow(["runs", "metric"])
        let metric = try reader.enumValue("metric", known: CurveMetric.allCases.map(\.rawValue))
          .flatMap(CurveMetric.init(rawValue:))
        return .show(.curves(runs: reader.list("runs"), metric: metric))
      case "table":
        try reader.allow(["runs", "pivot"])
        return .show(.table(runs: reader.list("runs"), pivot: try reader.enumValue("pivot", known: ["data"])))
      default:
        throw reader.unknownValue(subject, what: "show subject", known: showSubjects)
      }
    default:
      var message = "unknown statement '\(raw.verb)'"
      if let guess = BlockSyntax.suggestion(for: raw.verb, in: verbs) { message += " (did you mean '\(guess)'?)" }
      message += "; a vp block understands: " + verbs.joined(separator: ", ")
      throw NotebookError(message, file: file, line: raw.line)
    }
  }

  static func checkDataName(_ name: String, reader: OptionReader) throws {
    if DataCatalog.builtIn.contains(name) { return }
    for prefix in ["imagefolder:", "cifar10:", "cifar100:"] where name.hasPrefix(prefix) {
      guard name.count > prefix.count else { throw reader.fail("data '\(prefix)' needs a path after the colon") }
      return
    }
    throw reader.unknownValue(
      name, what: "data set", known: DataCatalog.builtIn + ["imagefolder:PATH", "cifar10:DIR", "cifar100:DIR"])
  }
}

/// Reads the options of one statement, with errors at its line.
struct OptionReader {
  let raw: RawStatement
  let file: String

  func fail(_ message: String) -> NotebookError { NotebookError(message, file: file, line: raw.line) }

  func unknownValue(_ value: String, what: String, known: [String]) -> NotebookError {
    var message = "unknown \(what) '\(value)'"
    if let guess = BlockSyntax.suggestion(for: value, in: known) { message += " (did you mean '\(guess)'?)" }
    return fail(message + "; known: " + known.joined(separator: ", "))
  }

  /// Exactly one positional word after the verb.
  func singleWord(what: String, known: [String]) throws -> String {
    guard let word = raw.words.first else {
      throw fail("\(raw.verb) needs \(what) (one of: \(known.joined(separator: ", ")))")
    }
    guard raw.words.count == 1 else {
      throw fail(
        "\(raw.verb) takes one word before its options, got '\(raw.words.joined(separator: " "))' (options are key=value)"
      )
    }
    return word
  }

  func noWords() throws {
    guard raw.words.isEmpty else {
      throw fail("unexpected '\(raw.words[0])' in \(raw.verb) (options are written key=value)")
    }
  }

  /// Fails on the first option not in `allowed`.
  func allow(_ allowed: [String]) throws {
    for option in raw.options where !allowed.contains(option.key) {
      var message = "unknown option '\(option.key)' for \(raw.verb)"
      if let verb = raw.words.first, ["show", "baseline", "prompt"].contains(raw.verb) { message += " \(verb)" }
      if let guess = BlockSyntax.suggestion(for: option.key, in: allowed) { message += " (did you mean '\(guess)'?)" }
      message += allowed.isEmpty ? "; it takes no options" : "; known: " + allowed.joined(separator: ", ")
      throw fail(message)
    }
  }

  func string(_ key: String) -> String? { raw.options.first { $0.key == key }?.value }

  func list(_ key: String) -> [String]? {
    string(key).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmedSpaces() } }
  }

  func int(_ key: String, min: Int) throws -> Int? {
    guard let text = string(key) else { return nil }
    guard let value = Int(text), value >= min else {
      throw fail("option '\(key)' expects a whole number ≥ \(min), got '\(text)'")
    }
    return value
  }

  func ints(_ key: String, min: Int) throws -> [Int]? {
    guard let items = list(key) else { return nil }
    return try items.map { text in
      guard let value = Int(text), value >= min else {
        throw fail("option '\(key)' expects whole numbers ≥ \(min) (a,b,…), got '\(text)'")
      }
      return value
    }
  }

  func doubles(_ key: String, positive: Bool) throws -> [Double]? {
    guard let items = list(key) else { return nil }
    return try items.map { text in
      guard let value = Double(text), value.isFinite, positive ? value > 0 : value >= 0 else {
        throw fail("option '\(key)' expects \(positive ? "positive" : "non-negative") numbers, got '\(text)'")
      }
      return value
    }
  }

  func double(_ key: String, positive: Bool) throws -> Double? {
    guard let values = try doubles(key, positive: positive) else { return nil }
    guard values.count == 1 else { throw fail("option '\(key)' takes one number, got '\(string(key)!)'") }
    return values[0]
  }

  func seed(_ key: String) throws -> UInt64? {
    guard let text = string(key) else { return nil }
    guard let value = UInt64(text) else {
      throw fail("option '\(key)' expects a non-negative whole number, got '\(text)'")
    }
    return value
  }

  func seeds() throws -> [UInt64] {
    if string("seed") != nil, string("seeds") != nil { throw fail("give seed= or seeds=, not both") }
    guard let items = list("seeds") ?? list("seed") else { return [7] }
    let key = string("seeds") != nil ? "seeds" : "seed"
    let values = try items.map { text -> UInt64 in
      guard let value = UInt64(text) else {
        throw fail("option '\(key)' expects non-negative whole numbers (7,8,9), got '\(text)'")
      }
      return value
    }
    guard Set(values).count == values.count else { throw fail("option '\(key)' repeats a seed") }
    return values
  }

  func enumList(_ key: String, known: [String]) throws -> [String]? {
    guard let items = list(key) else { return nil }
    for item in items where !known.contains(item) {
      var message = "option '\(key)' got unknown value '\(item)'"
      if let guess = BlockSyntax.suggestion(for: item, in: known) { message += " (did you mean '\(guess)'?)" }
      throw fail(message + "; known: " + known.joined(separator: ", "))
    }
    return items
  }

  func enumValue(_ key: String, known: [String]) throws -> String? {
    guard let items = try enumList(key, known: known) else { return nil }
    guard items.count == 1 else { throw fail("option '\(key)' takes one value, got '\(string(key)!)'") }
    return items[0]
  }

  func curve() throws -> CurveMetric? {
    try enumValue("curve", known: CurveMetric.allCases.map(\.rawValue)).flatMap(CurveMetric.init(rawValue:))
  }

  /// The training settings shared by every run of the statement, for one method.
  ///
  /// - Parameter values: sweep values that replace the options of the same name (one value each).
  func runSpec(mapping: String, axes: [(String, String)]) throws -> RunSpec {
    func value(_ key: String) -> String? { axes.first { $0.0 == key }?.1 ?? string(key) }
    func int(_ key: String, min: Int) throws -> Int? {
      guard let text = value(key) else { return nil }
      guard let v = Int(text), v >= min else {
        throw fail("option '\(key)' expects a whole number ≥ \(min), got '\(text)'")
      }
      return v
    }
    func positive(_ key: String) throws -> Double? {
      guard let text = value(key) else { return nil }
      guard let v = Double(text), v.isFinite, v > 0 else {
        throw fail("option '\(key)' expects a positive number, got '\(text)'")
      }
      return v
    }
    let mappingName = axes.first { $0.0 == "mapping" }?.1 ?? mapping
    let isProbe = mappingName == "linear-probe"
    var training = TrainingConfig()
    training.epochs = try int("epochs", min: 1) ?? training.epochs
    training.batchSize = try int("batch", min: 1) ?? training.batchSize
    if isProbe {
      let probe = try positive("probe_lr")
      let shared = raw.verb == "compare" || raw.verb == "sweep" ? nil : try positive("lr")
      training.learningRate = probe ?? shared ?? 0.1
    } else {
      training.learningRate = try positive("lr") ?? training.learningRate
    }
    if let text = value("optimizer") {
      guard let kind = OptimizerKind(rawValue: text) else {
        throw unknownValue(text, what: "optimizer", known: OptimizerKind.allCases.map(\.rawValue))
      }
      training.optimizer = kind
    }
    if let text = value("schedule") {
      guard let kind = ScheduleKind(rawValue: text) else {
        throw unknownValue(text, what: "schedule", known: ScheduleKind.allCases.map(\.rawValue))
      }
      training.schedule = kind
    }
    training.mappingLearningRate = try positive("mapping_lr")
    if let text = string("weight_decay") {
      guard let v = Double(text), v.isFinite, v >= 0 else {
        throw fail("option 'weight_decay' expects a number ≥ 0, got '\(text)'")
      }
      training.weightDecay = v
    }
    var learnScale: Bool? = nil
    if let text = value("scale") {
      guard StatementDecoder.scaleValues.contains(text) else {
        throw unknownValue(text, what: "scale", known: StatementDecoder.scaleValues)
      }
      learnScale = text == "learn"
    }
    let method: RunMethod
    if isProbe {
      method = .linearProbe
    } else {
      guard let kind = MappingKind(rawValue: mappingName) else {
        throw unknownValue(mappingName, what: "mapping", known: StatementDecoder.mappingNames)
      }
      var config = MappingConfig(kind)
      if let text = value("assignment") {
        guard let method = AssignmentMethod(rawValue: text) else {
          throw unknownValue(text, what: "assignment", known: AssignmentMethod.allCases.map(\.rawValue))
        }
        config.assignment = method
      }
      config.interval = try int("interval", min: 1) ?? 1
      config.sourcesPerTarget = try int("m", min: 1) ?? 1
      config.topK = try int("topk", min: 1)
      method = .prompt(config)
    }
    return RunSpec(
      name: method.label, method: method, training: training, seeds: try seeds(), testCurve: try curve() == .test,
      image: try int("image", min: 1), canvas: try int("canvas", min: 32), dataName: value("data"),
      perClass: try int("per_class", min: 1), learnScale: learnScale, axes: axes.map { [$0.0, $0.1] })
  }

  /// A sweep: the grid product of the options written with several values.
  func sweep() throws -> RunStatement {
    var axes: [(key: String, values: [String])] = []
    for option in raw.options where StatementDecoder.sweepAxes.contains(option.key) {
      let values = list(option.key) ?? []
      guard !values.contains(where: \.isEmpty) else {
        throw fail("option '\(option.key)' has an empty value in its list")
      }
      guard Set(values).count == values.count else { throw fail("option '\(option.key)' repeats a value") }
      if option.key == "mapping" { _ = try enumList("mapping", known: StatementDecoder.mappingNames) }
      if option.key == "data" {
        for name in values { try StatementDecoder.checkDataName(name, reader: self) }
      }
      if values.count > 1 { axes.append((option.key, values)) }
    }
    guard !axes.isEmpty else {
      throw fail(
        "sweep needs at least one option with several values, e.g. image=32,64,96 (axes: \(StatementDecoder.sweepAxes.joined(separator: ", ")))"
      )
    }
    var points: [[(String, String)]] = [[]]
    for axis in axes {
      points = points.flatMap { point in axis.values.map { point + [(axis.key, $0)] } }
    }
    let fixedMapping = string("mapping") ?? "ilm"
    var runs: [RunSpec] = []
    for point in points {
      var run = try runSpec(mapping: fixedMapping, axes: point)
      run.name = point.map { "\($0.0)=\($0.1)" }.joined(separator: "/")
      if let prefix = string("name") { run.name = prefix + "/" + run.name }
      runs.append(run)
    }
    return RunStatement(kind: .sweep, runs: runs, axes: axes.map(\.key), curve: try curve())
  }
}
