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

  /// The file line of the statement `summary` names.
  var summaryLine: Int {
    let main =
      statements.first { if case .run = $0.statement { return true } else { return false } }
      ?? statements.first { if case .show = $0.statement { return true } else { return false } }
    return main?.line ?? firstLine
  }

  /// A one-line summary for progress output: the first statement, "+N more".
  var summary: String {
    let main =
      statements.first { if case .run = $0.statement { return true } else { return false } }
      ?? statements.first { if case .show = $0.statement { return true } else { return false } }
      ?? statements.first
    let first = main?.raw.text ?? code.split(separator: "\n").first.map(String.init) ?? ""
    let clipped = first.count > 72 ? String(first.prefix(71)) + "…" : first
    return statements.count > 1 ? "\(clipped) (+\(statements.count - 1) more)" : clipped
  }
}

/// The model a session uses: a name and the checkpoint (resolved path, or nil for the installed default).
struct ModelChoice: Sendable, Hashable, Codable {
  var name: ModelName
  var weights: String?
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
    func needs(_ slot: Slot, line: Int, for what: String) throws {
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
        throw NotebookError(
          "\(what) needs \(slot.noun), which no earlier statement sets\(hint)", file: file, line: line)
      }
      block.dependencies[slot] = producer
    }
    func write(_ slot: Slot) {
      written.insert(slot)
      if !block.writes.contains(slot) { block.writes.append(slot) }
    }

    for raw in raws {
      let statement: Statement
      do {
        statement = try StatementDecoder.decode(raw, file: file)
      } catch {
        // A setup statement that cannot be read still claims its slot, so that the blocks reading it are
        // skipped rather than reported as a second error.
        switch raw.verb {
        case "model": write(.model)
        case "data": write(.data)
        case "prompt": write(.prompt)
        default: break
        }
        throw error
      }
      let located = LocatedStatement(statement: statement, raw: raw)
      let what = raw.verb == "show" ? "show \(raw.words.first ?? "")" : raw.verb
      switch statement {
      case .model(let name, let weights):
        write(.model)
        let resolved = weights.map { InputFiles.resolve($0, baseDirectory: baseDirectory) }
        session.model = ModelChoice(name: name, weights: resolved)
        if weights == nil, name.defaultWeights == nil {
          throw NotebookError(
            "no pretrained weights ship for \(name.rawValue); give weights=PATH (.pth or .safetensors)", file: file,
            line: raw.line)
        }
        if let weights, let resolved, !FileManager.default.fileExists(atPath: resolved) {
          throw NotebookError(
            "weights file '\(weights)' not found (looked for \(resolved))", file: file, line: raw.line)
        }
        block.statements.append(LocatedStatement(statement: .model(name: name, weights: resolved), raw: raw))
        continue
      case .data(let spec):
        write(.data)
        var resolved = spec
        resolved.name = InputFiles.resolveDataName(spec.name, baseDirectory: baseDirectory)
        try InputFiles.checkDataExists(resolved.name, written: spec.name, file: file, line: raw.line)
        session.data = resolved
        block.statements.append(LocatedStatement(statement: .data(resolved), raw: raw))
        continue
      case .prompt(let config):
        write(.prompt)
        session.prompt = config
      case .run(var run):
        try needs(.model, line: raw.line, for: what)
        try needs(.data, line: raw.line, for: what)
        try needs(.prompt, line: raw.line, for: what)
        if let prompt = session.prompt {
          for spec in run.runs {
            do {
              try spec.prompt(from: prompt).validate()
            } catch {
              throw NotebookError("\(error)", file: file, line: raw.line)
            }
            if spec.image != nil, prompt.kind == .watermark {
              throw NotebookError(
                "the image axis needs a pad prompt (the watermark prompt covers the whole canvas)", file: file,
                line: raw.line)
            }
          }
        }
        for index in run.runs.indices {
          if let name = run.runs[index].dataName {
            run.runs[index].dataName = InputFiles.resolveDataName(name, baseDirectory: baseDirectory)
            try InputFiles.checkDataExists(run.runs[index].dataName!, written: name, file: file, line: raw.line)
          }
        }
        for spec in run.runs {
          write(.run(spec.name))
          session.runs.append((spec.name, spec.method))
        }
        session.lastGroup = run.runs.map(\.name)
        block.statements.append(LocatedStatement(statement: .run(run), raw: raw))
        continue
      case .show(let request):
        switch request {
        case .data:
          try needs(.data, line: raw.line, for: what)
          if session.prompt != nil { try needs(.prompt, line: raw.line, for: what) }
        case .zeroShot:
          try needs(.model, line: raw.line, for: what)
          try needs(.data, line: raw.line, for: what)
          try needs(.prompt, line: raw.line, for: what)
        case .mapping(let run, let top, let count, let classes):
          let name = try resolveRun(run, session: session, line: raw.line, file: file, what: what) { method in
            method.mapping != nil
          }
          if case .prompt(let mapping)? = session.method(of: name), mapping.kind == .fullyMap {
            throw NotebookError(
              "run '\(name)' uses FullyMap, a linear layer: it has no one-to-one mapping to show", file: file,
              line: raw.line)
          }
          try needs(.run(name), line: raw.line, for: what)
          block.statements.append(
            LocatedStatement(statement: .show(.mapping(run: name, top: top, count: count, classes: classes)), raw: raw))
          continue
        case .prompt(let run, let count):
          let name = try resolveRun(run, session: session, line: raw.line, file: file, what: what) { method in
            method.mapping != nil
          }
          try needs(.run(name), line: raw.line, for: what)
          block.statements.append(LocatedStatement(statement: .show(.prompt(run: name, count: count)), raw: raw))
          continue
        case .curves(let runs, let metric):
          let names = try resolveRuns(runs, session: session, line: raw.line, file: file, what: what)
          for name in names { try needs(.run(name), line: raw.line, for: what) }
          block.statements.append(LocatedStatement(statement: .show(.curves(runs: names, metric: metric)), raw: raw))
          continue
        case .table(let runs, let pivot):
          let names = try resolveRuns(runs, session: session, line: raw.line, file: file, what: what)
          for name in names { try needs(.run(name), line: raw.line, for: what) }
          block.statements.append(LocatedStatement(statement: .show(.table(runs: names, pivot: pivot)), raw: raw))
          continue
        }
      }
      block.statements.append(located)
    }
  }

  /// The run `show mapping`/`show prompt` refers to: the named one, or the last suitable run of the most
  /// recent run statement.
  private static func resolveRun(
    _ name: String?, session: SymbolicSession, line: Int, file: String, what: String,
    suitable: (RunMethod) -> Bool
  ) throws -> String {
    if let name {
      guard let method = session.method(of: name) else {
        let known = Array(Set(session.runs.map(\.name))).sorted()
        var message = "\(what): no run named '\(name)' before this statement"
        if let guess = BlockSyntax.suggestion(for: name, in: known) { message += " (did you mean '\(guess)'?)" }
        message += known.isEmpty ? " (no run so far)" : " (runs so far: \(known.joined(separator: ", ")))"
        throw NotebookError(message, file: file, line: line)
      }
      guard suitable(method) else {
        throw NotebookError(
          "\(what): run '\(name)' is a \(method.label) baseline, not a trained prompt", file: file, line: line)
      }
      return name
    }
    let candidates = session.lastGroup.filter { session.method(of: $0).map(suitable) ?? false }
    guard let last = candidates.last else {
      throw NotebookError(
        "\(what) needs a trained prompt: run train or compare first, or name one with run=NAME", file: file, line: line)
    }
    return last
  }

  private static func resolveRuns(
    _ names: [String]?, session: SymbolicSession, line: Int, file: String, what: String
  ) throws -> [String] {
    guard let names else {
      guard !session.lastGroup.isEmpty else {
        throw NotebookError("\(what) needs runs: train, compare, baseline or sweep first", file: file, line: line)
      }
      return session.lastGroup
    }
    // `*` matches any run name (`*/ilm`, `fashion-mnist/*`, `*`), in registration order.
    var known: [String] = []
    for run in session.runs where !known.contains(run.name) { known.append(run.name) }
    var expanded = names.flatMap { pattern -> [String] in
      guard pattern.contains("*") else { return [pattern] }
      return known.filter { matches($0, pattern: pattern) }
    }
    var seen = Set<String>()
    expanded = expanded.filter { seen.insert($0).inserted }
    guard !expanded.isEmpty else {
      throw NotebookError("\(what): no run matches '\(names.joined(separator: ","))'", file: file, line: line)
    }
    for name in expanded where session.method(of: name) == nil {
      let known = Array(Set(session.runs.map(\.name))).sorted()
      var message = "\(what): no run named '\(name)' before this statement"
      if let guess = BlockSyntax.suggestion(for: name, in: known) { message += " (did you mean '\(guess)'?)" }
      message += known.isEmpty ? " (no run so far)" : " (runs so far: \(known.joined(separator: ", ")))"
      throw NotebookError(message, file: file, line: line)
    }
    return expanded
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
