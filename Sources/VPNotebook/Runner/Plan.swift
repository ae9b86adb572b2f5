import Foundation
import VPEngine
import VPModels

/// A piece of session state a block reads or writes.
enum Slot: Hashable, Sendable, Comparable, CustomStringConvertible {
  case model
  case data
  case prompt
  case run(String)

  var description: String {
    switch self {
    case .model: return "model"
    case .data: return "data"
    case .prompt: return "prompt"
    case .run(let name): return "run \(name)"
    }
  }

  /// The words used in "needs …" messages.
  var noun: String {
    switch self {
    case .model: return "the model"
    case .data: return "the data"
    case .prompt: return "the prompt"
    case .run(let name): return "run '\(name)'"
    }
  }
}

/// One step of the notebook after parsing and checking, before it runs.
struct PlannedBlock: Sendable {
  /// The step as `NotebookSource` found it.
  var step: NotebookSource.Step
  /// The code after parameter substitution.
  var code: String
  /// The parameters the code reads (sorted).
  var parametersRead: [String]
  /// The statements, decoded (empty when `error` is set before decoding finished).
  var statements: [LocatedStatement]
  /// The static error of this block, if any.
  var error: NotebookError?
  /// For each slot read from an earlier block: that block's ordinal.
  var dependencies: [Slot: Int]
  /// The slots this block writes.
  var writes: [Slot]

  /// The file line of the first statement (the first code line for an empty block).
  var firstLine: Int { statements.first?.line ?? step.firstCodeLine }

  /// The statement `summary` names: the first run, else the first show, else the first statement.
  private var mainStatement: LocatedStatement? {
    statements.first { $0.prominence == .run } ?? statements.first { $0.prominence == .show } ?? statements.first
  }

  /// The file line of the statement `summary` names (runs and shows only).
  var summaryLine: Int {
    guard let main = mainStatement, main.prominence > .setup else { return firstLine }
    return main.line
  }

  /// A one-line summary for progress output: the first statement, "+N more".
  var summary: String {
    let first = mainStatement?.raw.text ?? code.split(separator: "\n").first.map(String.init) ?? ""
    let clipped = first.count > 72 ? String(first.prefix(71)) + "…" : first
    return statements.count > 1 ? "\(clipped) (+\(statements.count - 1) more)" : clipped
  }
}

/// The model a session uses: a name and the checkpoint (resolved path, or nil for the installed default).
struct ModelChoice: Sendable, Hashable, Codable {
  var name: ModelName
  var weights: String?
  /// CLIP's source classes: nil or `.imagenet` for the 1000 ImageNet names, `.prompts` for ILM-VP's 81 text
  /// prompts per target class (then the model depends on the data's class names).
  var sources: ModelSources? = nil
  /// A CLIP checkpoint whose text tower compares class names (`mapping=semantic text=clip`); nil: CLIP's own
  /// weights when the model is CLIP, else none.
  var textEncoder: String? = nil

  /// The CLIP checkpoint whose text tower this model's runs use, if any.
  var textWeights: String? { textEncoder ?? (name == .clip ? weights : nil) }
}

/// What a CLIP model's source classes are.
enum ModelSources: String, Codable, Sendable, CaseIterable {
  /// "This is a photo of a {}." with each of the 1000 ImageNet names: a zero-shot ImageNet classifier.
  case imagenet
  /// Every one of the 81 templates with every target class name (ILM-VP's text-prompt mapping's candidates).
  case prompts
  /// One source per target class, "This is a photo of a {}." (ILM-VP's one-template baseline with
  /// `mapping=identity`).
  case classes
  /// One source per target class, the 81 templates' unit embeddings averaged and renormalised (CLIP's prompt
  /// ensemble; zero-shot CLIP with `mapping=identity`).
  case ensemble

  /// Whether the model depends on the data's class names.
  var dependsOnTask: Bool { self != .imagenet }

  /// CLIP from `weights` with these sources for a task with target classes `classNames` (the notebook's runs
  /// and `vpbook train` both build it here).
  func classifier(weights: String, classNames: [String]) throws -> ImageClassifier {
    switch self {
    case .prompts: return try ModelZoo.clipPrompts(weights: weights, classNames: classNames)
    case .classes: return try ModelZoo.clipClasses(weights: weights, classNames: classNames, ensemble: false)
    case .ensemble: return try ModelZoo.clipClasses(weights: weights, classNames: classNames, ensemble: true)
    case .imagenet: return try ModelZoo.load(.clip, weights: weights)
    }
  }
}

extension ModelName: Codable {}

/// Reads every step: substitutes parameters, parses statements, and checks that every read has an earlier
/// write (the static part of the run: nothing is loaded or computed here).
enum Planner {
  /// What is known about the session while walking the blocks in order.
  struct SymbolicSession {
    var producers: [Slot: Int] = [:]
    var model: ModelChoice?
    var data: DataSpec?
    var prompt: PromptConfig?
    /// Every run registered so far, with its method, in registration order.
    var runs: [(name: String, method: RunMethod)] = []
    /// The runs of the most recent run statement.
    var lastGroup: [String] = []

    func method(of name: String) -> RunMethod? { runs.last { $0.name == name }?.method }
  }

  /// Plans every step of `source` with `parameters`; `baseDirectory` resolves relative file paths.
  static func plan(
    _ source: NotebookSource, parameters: ResolvedParameters, baseDirectory: String
  ) -> [PlannedBlock] {
    var session = SymbolicSession()
    var blocks: [PlannedBlock] = []
    for step in source.steps {
      var block = PlannedBlock(
        step: step, code: step.code, parametersRead: [], statements: [], error: nil, dependencies: [:], writes: [])
      do {
        try planBlock(
          &block, session: &session, parameters: parameters, file: source.file, baseDirectory: baseDirectory)
      } catch let error as NotebookError {
        block.error = error
      } catch {
        block.error = NotebookError("\(error)", file: source.file, line: step.firstCodeLine)
      }
      // Whatever the block managed to declare belongs to it, so that later readers depend on it (and are
      // skipped when it fails) instead of reporting a second, confusing error.
      for slot in block.writes { session.producers[slot] = step.ordinal }
      blocks.append(block)
    }
    return blocks
  }

  private static func planBlock(
    _ block: inout PlannedBlock, session: inout SymbolicSession, parameters: ResolvedParameters, file: String,
    baseDirectory: String
  ) throws {
    let step = block.step
    // Substitute line by line so that an unknown parameter is reported at its own line.
    var lines: [String] = []
    var read = Set<String>()
    for (offset, line) in step.code.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let substitution = try parameters.substitute(in: String(line), firstLine: step.firstCodeLine + offset, file: file)
      lines.append(substitution.text)
      read.formUnion(substitution.parametersRead)
    }
    block.code = lines.joined(separator: "\n")
    block.parametersRead = read.sorted()
    let raws = try BlockSyntax.parse(block.code, firstLine: step.firstCodeLine, file: file)
    guard !raws.isEmpty else {
      throw NotebookError("this vp block has no statements", file: file, line: step.fenceLine)
    }
    var written = Set<Slot>()
    for raw in raws {
      var statement: any NotebookStatement
      do {
        statement = try StatementRegistry.decode(raw, file: file)
      } catch {
        // A setup statement that cannot be read still claims its slot, so that the blocks reading it are
        // skipped rather than reported as a second error.
        if let slot = StatementRegistry.type(of: raw.verb)?.claims, !block.writes.contains(slot) {
          block.writes.append(slot)
        }
        throw error
      }
      var context = PlanContext(
        session: session, block: block, file: file, line: raw.line, baseDirectory: baseDirectory,
        what: raw.verb == "show" ? "show \(raw.words.first ?? "")" : raw.verb, written: written)
      defer {
        session = context.session
        block = context.block
        written = context.written
      }
      try statement.plan(&context)
      context.block.statements.append(LocatedStatement(statement: statement, raw: raw))
    }
  }

  /// Whether `name` matches `pattern`, where `*` stands for any text.
  static func matches(_ name: String, pattern: String) -> Bool {
    let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
    guard parts.count > 1 else { return name == pattern }
    guard name.hasPrefix(parts[0]) else { return false }
    var rest = Substring(name.dropFirst(parts[0].count))
    for (index, part) in parts.enumerated().dropFirst() {
      if index == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
      guard !part.isEmpty else { continue }
      guard let range = rest.range(of: part) else { return false }
      rest = rest[range.upperBound...]
    }
    return true
  }
}
