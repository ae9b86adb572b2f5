import Foundation
import VPEngine

/// A statement of the block language: one verb with its options table, decoding, planning, the input files
/// it loads, execution and its panels. One type per verb, one file each in `Statements/`; `StatementRegistry`
/// lists them.
protocol NotebookStatement: Sendable {
  /// The verb (`train`).
  static var verb: String { get }
  /// One line for help and the docs.
  static var summary: String { get }
  /// The word after the verb, if it takes one (`prompt pad`).
  static var word: WordSpec? { get }
  /// The options it takes after `word` (nil when it takes no word).
  static func options(word: String?) -> [OptionSpec]
  /// Decodes a statement whose options were checked against `options(word:)`.
  static func decode(word: String?, _ reader: OptionReader) throws -> Self
  /// Which summary the block's progress line shows first (runs, then shows, then setup).
  static var prominence: StatementProminence { get }

  /// The static part of running it: the slots it reads and writes, paths resolved, references checked.
  mutating func plan(_ context: inout PlanContext) throws
  /// The files whose digests go into the block's cache key (after `plan`).
  func inputFiles() throws -> [(path: String, listing: Bool)]
  /// Runs it on the engine and renders its panels.
  func execute(_ context: ExecutionContext, into output: inout ExecutionOutput) throws
  /// What it does to the session when its block comes from the cache (setup statements assign).
  func restore(into session: Session)
  /// The slot a setup statement claims even when it cannot be decoded (so readers are skipped, not errors).
  static var claims: Slot? { get }
}

/// How prominent a statement is in a block's one-line summary.
enum StatementProminence: Int, Sendable, Comparable {
  case setup, show, run
  static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

extension NotebookStatement {
  static var word: WordSpec? { nil }
  static var prominence: StatementProminence { .setup }
  static var claims: Slot? { nil }
  func inputFiles() throws -> [(path: String, listing: Bool)] { [] }
  func restore(into session: Session) {}
}

/// The verbs of the block language. Adding a statement: one file with its type, and its line here.
enum StatementRegistry {
  static let all: [any NotebookStatement.Type] = [
    ModelStatement.self,
    DataStatement.self,
    PromptStatement.self,
    TrainStatement.self,
    CompareStatement.self,
    BaselineStatement.self,
    SweepStatement.self,
    SearchStatement.self,
    ShowStatement.self,
  ]

  static var verbs: [String] { all.map { $0.verb } }

  static func type(of verb: String) -> (any NotebookStatement.Type)? { all.first { $0.verb == verb } }

  /// Decodes one raw statement: the verb, its word, its options against the table, then the statement.
  static func decode(_ raw: RawStatement, file: String) throws -> any NotebookStatement {
    guard let type = type(of: raw.verb) else {
      var message = "unknown statement '\(raw.verb)'"
      if let guess = BlockSyntax.suggestion(for: raw.verb, in: verbs) { message += " (did you mean '\(guess)'?)" }
      message += "; a vp block understands: " + verbs.joined(separator: ", ")
      throw NotebookError(message, file: file, line: raw.line)
    }
    return try decode(type, raw, file: file)
  }

  private static func decode<S: NotebookStatement>(_ type: S.Type, _ raw: RawStatement, file: String) throws -> S {
    let probe = OptionReader(raw: raw, file: file, specs: [])
    let word = try probe.word(S.word)
    let reader = OptionReader(raw: raw, file: file, specs: S.options(word: word))
    try reader.checkOptions(word: S.word)
    return try S.decode(word: word, reader)
  }
}

/// A statement with its place in the notebook.
struct LocatedStatement: Sendable {
  var statement: any NotebookStatement
  var raw: RawStatement
  var line: Int { raw.line }
  var prominence: StatementProminence { type(of: statement).prominence }
}

/// What planning a statement can see and change: the symbolic session and the block being planned.
struct PlanContext {
  var session: Planner.SymbolicSession
  var block: PlannedBlock
  let file: String
  let line: Int
  let baseDirectory: String
  /// How the statement is named in messages (`train`, `show mapping`).
  let what: String
  var written: Set<Slot>

  func fail(_ message: String) -> NotebookError { NotebookError(message, file: file, line: line) }

  /// Records that the statement reads `slot`, which an earlier statement must have written.
  mutating func needs(_ slot: Slot) throws {
    if written.contains(slot) { return }
    guard let producer = session.producers[slot] else {
      let hint: String
      switch slot {
      case .model: hint = " (add e.g. `model mobilenet_v2` in this or an earlier block)"
      case .data: hint = " (add e.g. `data fashion-mnist per_class=100` in this or an earlier block)"
      case .prompt: hint = " (add e.g. `prompt pad canvas=128 image=64` in this or an earlier block)"
      case .run:
        let known = session.runs.map(\.name)
        hint =
          known.isEmpty ? " (no run so far)" : " (runs so far: \(Array(Set(known)).sorted().joined(separator: ", ")))"
      }
      throw fail("\(what) needs \(slot.noun), which no earlier statement sets\(hint)")
    }
    block.dependencies[slot] = producer
  }

  /// Records that the statement writes `slot`.
  mutating func write(_ slot: Slot) {
    written.insert(slot)
    if !block.writes.contains(slot) { block.writes.append(slot) }
  }

  /// A data set named by a run option (a `sweep` or `search` axis), resolved as the `data` statement resolves
  /// its name, and checked to exist.
  func resolveData(_ written: String) throws -> String {
    let name = InputFiles.resolveDataName(written, baseDirectory: baseDirectory)
    try InputFiles.checkDataExists(name, written: written, file: file, line: line)
    return name
  }

  /// A path as the notebook's folder (or the caller's) resolves it.
  func resolve(_ path: String) -> String { InputFiles.resolve(path, baseDirectory: baseDirectory) }
}

/// What executing a statement can use.
struct ExecutionContext {
  let session: Session
  let resources: RunnerResources
  let emit: (@Sendable (RunnerEvent) -> Void)?
  /// Where a search keeps its ledger (a folder per search, named by its definition's digest): beside the
  /// cache, or a temporary folder with `--no-cache`.
  let ledgerDirectory: String
}

/// What executing a block produced.
struct ExecutionOutput {
  var panels: [Panel] = []
  var groups: [RunGroup] = []
  var deltas: [String: [Float]] = [:]
}
