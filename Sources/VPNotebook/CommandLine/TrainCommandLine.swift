import Foundation
import VPEngine
import VPModels
import VPReport

/// `vpbook train`'s options, generated from the statements' tables: a command line is the notebook
///
/// ```
/// model NAME weights=…
/// data NAME per_class=… val=… test=… seed=…
/// prompt KIND canvas=… image=… scale=… frame=…
/// train mapping=… epochs=… …          (or: baseline zero-shot|linear-probe …)
/// ```
///
/// written as `--flags`, with the same names (`per_class` → `--per-class`), types, defaults, help and errors,
/// the protocol presets of FMNIST-VP-S where the command differs from a notebook, and the command's own
/// output options.
public enum TrainCommandLine {
  /// One `--flag`: which statement's option it is, and its preset on the command line.
  struct Flag {
    /// The statement it belongs to (`data`), or `vpbook` for the command's own.
    var verb: String
    /// The option in that statement; nil for the statement's word (`--model mobilenet_v2`).
    var spec: OptionSpec
    /// The flag's name without dashes (`per-class`).
    var name: String
    /// A value the command uses when the flag is not given (the statement's default otherwise).
    var preset: String?
    /// Whether it takes no value.
    var isSwitch = false
  }

  /// The command's own options and the word flags.
  static let ownOptions: [Flag] = [
    Flag(
      verb: "model",
      spec: OptionSpec(
        name: "model", type: .choice(ModelName.allCases.map(\.rawValue)),
        defaultText: nil, help: "Source model."), name: "model", preset: "mobilenet_v2"),
    Flag(
      verb: "data",
      spec: OptionSpec(
        name: "data", type: .text, defaultText: nil,
        help: "Data set: \(DataCatalog.builtIn.joined(separator: ", ")), imagefolder:PATH, cifar10:DIR, cifar100:DIR."),
      name: "data", preset: "fashion-mnist"),
    Flag(
      verb: "prompt",
      spec: OptionSpec(
        name: "prompt", type: .choice(PromptKind.allCases.map(\.rawValue)), defaultText: nil, help: "Prompt kind."),
      name: "prompt", preset: "pad"),
    Flag(
      verb: "vpbook",
      spec: OptionSpec(
        name: "baseline", type: .choice(["zero-shot", "linear-probe"]), defaultText: nil,
        help:
          "Run a baseline instead of training a prompt: zero-shot (the untrained prompt and a mapping computed once: --mapping flm by default; identity is CLIP's own rule with --sources classes or ensemble) or linear-probe (a linear layer on the frozen features)."
      ), name: "baseline"),
    Flag(
      verb: "vpbook",
      spec: OptionSpec(name: "json", type: .text, defaultText: nil, help: "Write every result as JSON to this file."),
      name: "json"),
    Flag(
      verb: "vpbook",
      spec: OptionSpec(
        name: "csv", type: .text, defaultText: nil,
        help: "Write one line per seed as CSV to this file (test accuracy, selected epoch, times)."),
      name: "csv"),
    Flag(
      verb: "vpbook",
      spec: OptionSpec(
        name: "save_prompt", type: .text, defaultText: nil, help: "Save the learned prompt (last seed) as .safetensors."
      ), name: "save-prompt"),
    Flag(
      verb: "vpbook", spec: OptionSpec(name: "quiet", type: .text, defaultText: nil, help: "No progress bar."),
      name: "quiet", isSwitch: true),
    Flag(
      verb: "vpbook",
      spec: OptionSpec(
        name: "portable", type: .text, defaultText: nil,
        help:
          "Portable mode: pin the kernels (OpenBLAS's Haswell set) so that the numbers are bit-identical on any x86-64 CPU with AVX2."
      ), name: "portable", isSwitch: true),
  ]

  /// Statement options the command leaves out, and why: a run's name and a per-run scale mean nothing
  /// outside a notebook (`--scale` is the prompt's), and `probe_lr` only tells compared mappings apart.
  static let notebookOnly: [(verb: String, option: String)] = [
    ("train", "name"), ("train", "scale"), ("train", "probe_lr"), ("baseline", "name"),
  ]

  /// Spellings of earlier versions, kept: `--learn-scale` is `--scale learn`, `--test-curve` is `--curve test`.
  static let aliases: [String: (flag: String, value: String?)] = [
    "val-per-class": ("val", nil), "top-k": ("topk", nil), "learn-scale": ("scale", "learn"),
    "test-curve": ("curve", "test"),
  ]

  /// Presets where `vpbook train` runs FMNIST-VP-S's protocol rather than a notebook statement's default.
  static let presets: [String: String] = ["per_class": "500", "val": "50"]

  /// Every flag: the command's own, then each statement's options in table order (a data draw's `seed` is
  /// `--data-seed`, since `--seed` is the training seed's).
  static var flags: [Flag] {
    flags(
      [
        ("model", ModelStatement.options(word: nil)), ("data", DataStatement.options(word: nil)),
        ("prompt", PromptStatement.options(word: nil)), ("train", TrainStatement.options(word: nil)), ("vpbook", []),
      ], own: ownOptions, leftOut: notebookOnly)
  }

  /// The flags of a command made of statements: for each `(verb, specs)` in order, the command's own flags
  /// of that verb, then the statement's options not `leftOut` (a name already taken keeps its first owner;
  /// the data draw's `seed` is `--data-seed`; presets from `presets`).
  static func flags(
    _ sections: [(verb: String, specs: [OptionSpec])], own: [Flag], leftOut: [(verb: String, option: String)]
  )
    -> [Flag]
  {
    var flags: [Flag] = []
    for (verb, specs) in sections {
      flags += own.filter { flag in flag.verb == verb && !flags.contains { $0.name == flag.name } }
      for spec in specs where !leftOut.contains(where: { $0 == (verb, spec.name) }) {
        let name = verb == "data" && spec.name == "seed" ? "data-seed" : String(spec.flag.dropFirst(2))
        guard !flags.contains(where: { $0.name == name }) else { continue }
        flags.append(Flag(verb: verb, spec: spec, name: name, preset: presets[spec.name]))
      }
    }
    return flags
  }

  /// The `--help` text: every flag with its value, default and help, grouped by statement.
  public static var help: String {
    var lines: [String] = []
    let groups = [
      ("model", "The model (the `model` statement)"), ("data", "The data (the `data` statement)"),
      ("prompt", "The prompt (the `prompt` statement)"),
      ("train", "Training (the `train` statement; with --baseline, the `baseline` statement's options)"),
      ("vpbook", "The command's own"),
    ]
    lines += helpLines(groups, flags: flags)
    let spellings = aliases.keys.sorted().map { name in
      let target = aliases[name]!
      return "--\(name) is --\(target.flag)" + (target.value.map { " \($0)" } ?? "")
    }
    lines += wrap(
      "Earlier spellings, still accepted: " + spellings.joined(separator: "; ") + ".", width: 100, indent: "")
    return lines.joined(separator: "\n")
  }

  /// Every flag of `groups` (`(verb, title)`) with its value, default and help.
  static func helpLines(_ groups: [(String, String)], flags: [Flag]) -> [String] {
    var lines: [String] = []
    for (verb, title) in groups {
      lines.append("\(title):")
      for flag in flags where flag.verb == verb {
        let value = flag.isSwitch ? "" : " <\(flag.spec.type.placeholder)>"
        var text = flag.spec.help
        if let preset = flag.preset ?? flag.spec.defaultText { text += " Default: \(preset)." }
        lines.append("  --\(flag.name)\(value)")
        lines += wrap(text, width: 100, indent: "      ")
      }
      lines.append("")
    }
    return lines
  }

  /// `text` in lines of at most `width` characters, each starting with `indent`.
  static func wrap(_ text: String, width: Int, indent: String) -> [String] {
    var lines: [String] = []
    var line = indent
    for word in text.split(separator: " ") {
      if line.count > indent.count, line.count + 1 + word.count > width {
        lines.append(line)
        line = indent
      }
      line += (line.count > indent.count ? " " : "") + word
    }
    if line.count > indent.count { lines.append(line) }
    return lines
  }

  /// What `vpbook train` was asked to do, decoded by the statements themselves.
  public struct Invocation: Sendable {
    public var model: ModelName
    public var weights: String?
    public var data: DataSpec
    public var prompt: PromptConfig
    public var method: RunMethod
    public var training: TrainingConfig
    public var seeds: [UInt64]
    public var testCurve: Bool
    public var json: String?
    public var csv: String?
    public var savePrompt: String?
    public var quiet: Bool
    /// `--portable`: run in portable mode (`BLASKernels.ensure(portable:)`).
    public var portable = false
    /// CLIP's source classes (`--sources`; nil: the ImageNet names).
    var sources: ModelSources? = nil
    /// `--text-encoder`: a CLIP checkpoint for `--mapping semantic --text clip`.
    var textEncoder: String? = nil

    /// The experiment of this run on `data`, built as a notebook's runs build theirs
    /// (`RunnerResources.experiment`): the model for the data's classes, CLIP's text tower when there is one.
    public func experiment(data: PreparedSplit) throws -> Experiment {
      let choice = ModelChoice(name: model, weights: weights, sources: sources, textEncoder: textEncoder)
      return try RunnerResources().experiment(choice, data: data)
    }
  }

  /// Parses `arguments` (after `train`): `--flag value`, `--flag=value`, switches and the aliases.
  ///
  /// - Throws: `NotebookError` with the statement's own message for a bad value, and "unknown option '--x'
  ///   (did you mean '--y'?)" for an unknown flag.
  public static func parse(_ arguments: [String]) throws -> Invocation {
    let flags = self.flags
    let given = try tokenize(arguments, flags: flags, command: "train")
    func value(_ name: String) -> String? { given.first { $0.flag.name == name }?.value }
    func statement(_ verb: String, word: String?, ownFlags: [String]) -> RawStatement {
      rawStatement(verb, word: word, flags: flags, given: given, ownFlags: ownFlags)
    }
    func check(_ name: String, _ text: String) throws -> String { try checkValue(name, text, flags: flags) }

    let modelWord = try check("model", value("model") ?? "mobilenet_v2")
    let model = try decode(ModelStatement.self, statement("model", word: modelWord, ownFlags: ["model"]))
    let data = try decode(
      DataStatement.self, statement("data", word: value("data") ?? "fashion-mnist", ownFlags: ["data"]))
    let promptWord = try check("prompt", value("prompt") ?? "pad")
    let prompt = try decode(PromptStatement.self, statement("prompt", word: promptWord, ownFlags: ["prompt"]))
    var trainRaw = statement("train", word: nil, ownFlags: [])
    let runs: [RunSpec]
    if let baseline = value("baseline") {
      trainRaw.verb = "baseline"
      trainRaw.words = [try check("baseline", baseline)]
      runs = try decode(BaselineStatement.self, trainRaw).runs
    } else {
      runs = try decode(TrainStatement.self, trainRaw).runs
    }
    let run = runs[0]
    return Invocation(
      model: model.choice.name, weights: model.choice.weights, data: data.spec, prompt: prompt.config,
      method: run.method, training: run.training, seeds: run.seeds, testCurve: run.testCurve, json: value("json"),
      csv: value("csv"), savePrompt: value("save-prompt"), quiet: value("quiet") != nil,
      portable: value("portable") != nil, sources: model.choice.sources, textEncoder: model.choice.textEncoder)
  }

  /// The results of `vpbook train` as CSV: one line per seed.
  public static func csv(_ results: [RunResult]) -> String {
    let header = [
      "method", "model", "data", "seed", "test_accuracy", "selected_epoch", "epochs", "best_validation_accuracy",
      "wall_seconds", "remap_seconds", "train_images_per_second", "trainable_parameters", "input_scale", "warning",
    ]
    var lines = [header.joined(separator: ",")]
    for r in results {
      let validation = r.history.compactMap(\.validationAccuracy).max()
      let fields = [
        r.name, r.model, r.dataset, String(r.seed), "\(r.testAccuracy)", String(r.selectedEpoch),
        String(r.history.count), validation.map { "\($0)" } ?? "", "\(r.wallSeconds)", "\(r.remapSeconds)",
        "\(r.trainImagesPerSecond)", String(r.trainableParameters), r.inputScale.map { "\($0)" } ?? "",
        r.warning ?? "",
      ]
      lines.append(fields.map(ResultsTable.csvField).joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Splits `arguments` into flags and values: `--flag value`, `--flag=value`, switches and the aliases; the
  /// last of a repeated flag wins (as with ArgumentParser; scripts append overrides).
  static func tokenize(_ arguments: [String], flags: [Flag], command: String) throws -> [(flag: Flag, value: String)] {
    var given: [(flag: Flag, value: String)] = []
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("--"), argument.count > 2 else {
        throw NotebookError("unexpected argument '\(argument)' (options are written --name value)")
      }
      var name = String(argument.dropFirst(2))
      var value: String? = nil
      if let equals = name.firstIndex(of: "=") {
        value = String(name[name.index(after: equals)...])
        name = String(name[..<equals])
      }
      if let alias = aliases[name], flags.contains(where: { $0.name == alias.flag }) {
        name = alias.flag
        if let fixed = alias.value {
          guard value == nil else { throw NotebookError("option '--\(argument.dropFirst(2))' takes no value") }
          value = fixed
        }
      }
      guard let flag = flags.first(where: { $0.name == name }) else {
        var message = "unknown option '--\(name)' for vpbook \(command)"
        if let guess = BlockSyntax.suggestion(for: name, in: flags.map(\.name) + aliases.keys.sorted()) {
          message += " (did you mean '--\(guess)'?)"
        }
        throw NotebookError(message + "; see vpbook \(command) --help")
      }
      if flag.isSwitch {
        guard value == nil else { throw NotebookError("option '--\(name)' takes no value") }
        value = "yes"
      } else if value == nil {
        guard index < arguments.count else { throw NotebookError("option '--\(name)' needs a value") }
        value = arguments[index]
        index += 1
      }
      given.removeAll { $0.flag.name == flag.name }
      given.append((flag, value!))
    }
    return given
  }

  /// The raw statement of `verb`: its word and the options given for it (presets filled in).
  static func rawStatement(
    _ verb: String, word: String?, flags: [Flag], given: [(flag: Flag, value: String)], ownFlags: [String]
  ) -> RawStatement {
    var options: [RawStatement.Option] = []
    for flag in flags where flag.verb == verb && !ownFlags.contains(flag.name) {
      guard let text = given.first(where: { $0.flag.name == flag.name })?.value ?? flag.preset else { continue }
      options.append(RawStatement.Option(key: flag.spec.name, value: text))
    }
    return RawStatement(
      verb: verb, words: word.map { [$0] } ?? [], options: options, line: 0,
      text: ([verb] + (word.map { [$0] } ?? [])).joined(separator: " "))
  }

  /// Decodes a raw statement as the command line's (errors name `--flags`).
  static func decode<S: NotebookStatement>(_ type: S.Type, _ raw: RawStatement) throws -> S {
    let word = try OptionReader(raw: raw, file: nil, specs: [], style: .commandLine).word(S.word)
    let reader = OptionReader(raw: raw, file: nil, specs: S.options(word: word), style: .commandLine)
    try reader.checkOptions(word: S.word)
    return try S.decode(word: word, reader)
  }

  /// Checks one flag's value against its spec.
  static func checkValue(_ name: String, _ text: String, flags: [Flag]) throws -> String {
    let flag = flags.first { $0.name == name }!
    let raw = RawStatement(verb: "vpbook", words: [], options: [.init(key: name, value: text)], line: 0, text: "")
    return try OptionReader(raw: raw, file: nil, specs: [flag.spec], style: .commandLine).value(name)!
  }
}
