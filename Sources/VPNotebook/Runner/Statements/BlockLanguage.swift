/// The block language as data, for help, the docs and tests: its verbs, their words and options, and a
/// checker for one statement. Everything here is read from `StatementRegistry` and the statements' tables.
public enum BlockLanguage {
  /// One option of one statement.
  public struct Option: Sendable, Equatable {
    /// The notebook name (`per_class`).
    public var name: String
    /// The command-line flag (`--per-class`).
    public var flag: String
    public var help: String
    /// The default as help shows it.
    public var defaultText: String?
    /// What a value looks like (`N`, `adam|sgd`).
    public var placeholder: String
    /// Whether a sweep can vary it.
    public var axis: Bool
    /// Whether any value is accepted (names, paths): no value is wrong for its type.
    public var acceptsAnyText: Bool
  }

  /// The verbs, in registry order.
  public static var verbs: [String] { StatementRegistry.verbs }

  /// The words a verb takes after it (`prompt pad`), nil when it takes none, empty when any word is checked by
  /// the statement (data set names).
  public static func words(of verb: String) -> [String]? {
    StatementRegistry.type(of: verb).flatMap { $0.word.map(\.known) }
  }

  /// The options of `verb` (with `word` for verbs whose options depend on it).
  public static func options(of verb: String, word: String? = nil) -> [Option] {
    guard let type = StatementRegistry.type(of: verb) else { return [] }
    return type.options(word: word).map(Option.init)
  }

  /// Decodes one statement line as a notebook would, without planning or running it.
  ///
  /// - Throws: `NotebookError` at `file:1` with the message a notebook gets.
  public static func check(_ line: String, file: String = "check.md") throws {
    guard let raw = try BlockSyntax.parseLine(line, line: 1, file: file) else { return }
    _ = try StatementRegistry.decode(raw, file: file)
  }
}

extension BlockLanguage.Option {
  init(_ spec: OptionSpec) {
    let anyText: Bool
    switch spec.type {
    case .text, .names: anyText = true
    case .int, .intOrAll, .number, .choice, .seeds, .seed: anyText = false
    }
    self.init(
      name: spec.name, flag: spec.flag, help: spec.help, defaultText: spec.defaultText,
      placeholder: spec.type.placeholder, axis: spec.axis, acceptsAnyText: anyText)
  }
}

extension TrainCommandLine {
  /// One flag of `vpbook train`: the statement it belongs to (`vpbook` for the command's own) and its option.
  public struct FlagInfo: Sendable {
    public var verb: String
    /// The flag without dashes.
    public var name: String
    public var option: BlockLanguage.Option
    /// The command's preset, where it differs from the statement's default.
    public var preset: String?
  }

  /// Every flag of `vpbook train`.
  public static var flagInfo: [FlagInfo] {
    flags.map { FlagInfo(verb: $0.verb, name: $0.name, option: .init($0.spec), preset: $0.preset) }
  }

  /// The statement options `vpbook train` leaves out, `verb.option`.
  public static var leftOut: [String] { notebookOnly.map { "\($0.verb).\($0.option)" } }
}
