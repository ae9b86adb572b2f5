import Foundation
import VPEngine

/// `show data|zero-shot|mapping|prompt|curves|table …`: a view of the data, the model or finished runs.
struct ShowStatement: NotebookStatement {
  static let verb = "show"
  static let summary = "a view: data, zero-shot predictions, a mapping, a learned prompt, curves or a table"
  static let subjects = ["data", "zero-shot", "mapping", "prompt", "curves", "table"]
  static let word: WordSpec? = WordSpec(
    what: "what to show", noun: "show subject", known: subjects, selectsOptions: true)
  static let prominence = StatementProminence.show

  /// What a `show` statement displays.
  enum Request: Sendable, Equatable {
    case data(count: Int, classes: Int?)
    case zeroShot(top: Int, count: Int, classes: Int?)
    case mapping(run: String?, top: Int, count: Int, classes: Int?)
    case prompt(run: String?, count: Int)
    case curves(runs: [String]?, metric: CurveMetric?)
    case table(runs: [String]?, pivot: String?)
  }

  private static func count(_ fallback: Int, min: Int, what: String) -> OptionSpec {
    OptionSpec(name: "count", type: .int(min: min), defaultText: "\(fallback)", help: what)
  }
  private static let classes = OptionSpec(
    name: "classes", type: .int(min: 1), defaultText: "all", help: "Show only the first N classes.")
  private static func top(_ fallback: Int, what: String) -> OptionSpec {
    OptionSpec(name: "top", type: .int(min: 1), defaultText: "\(fallback)", help: what)
  }
  private static let run = OptionSpec(
    name: "run", type: .text, defaultText: "the last suitable run", help: "The run to show.")
  private static let runs = OptionSpec(
    name: "runs", type: .names, defaultText: "the last statement's runs",
    help: "Runs to show, comma-separated; * matches any text (*/ilm).")

  static func options(word: String?) -> [OptionSpec] {
    switch word {
    case "data": return [count(8, min: 1, what: "Images per class."), classes]
    case "zero-shot":
      return [
        top(5, what: "Source classes listed per target."), count(3, min: 0, what: "Example images per class."),
        classes,
      ]
    case "mapping":
      return [
        run, top(12, what: "Source classes in the frequency view."), count(3, min: 0, what: "Images per class."),
        classes,
      ]
    case "prompt": return [run, count(6, min: 0, what: "Prompted test images shown.")]
    case "curves":
      return [
        runs,
        OptionSpec(
          name: "metric", type: .choice(CurveMetric.allCases.map(\.rawValue)), defaultText: "val",
          help: "What the curves show."),
      ]
    default:
      return [
        runs,
        OptionSpec(
          name: "pivot", type: .choice(["data"]), defaultText: nil, help: "Methods down, data sets across."),
      ]
    }
  }

  var request: Request

  static func decode(word: String?, _ reader: OptionReader) throws -> ShowStatement {
    switch word! {
    case "data":
      return ShowStatement(request: .data(count: try reader.int("count") ?? 8, classes: try reader.int("classes")))
    case "zero-shot":
      return ShowStatement(
        request: .zeroShot(
          top: try reader.int("top") ?? 5, count: try reader.int("count") ?? 3, classes: try reader.int("classes")))
    case "mapping":
      return ShowStatement(
        request: .mapping(
          run: reader.string("run"), top: try reader.int("top") ?? 12, count: try reader.int("count") ?? 3,
          classes: try reader.int("classes")))
    case "prompt":
      return ShowStatement(request: .prompt(run: reader.string("run"), count: try reader.int("count") ?? 6))
    case "curves":
      return ShowStatement(
        request: .curves(runs: reader.list("runs"), metric: try reader.choice("metric", as: CurveMetric.self)))
    default:
      return ShowStatement(request: .table(runs: reader.list("runs"), pivot: try reader.value("pivot")))
    }
  }

  mutating func plan(_ context: inout PlanContext) throws {
    switch request {
    case .data:
      try context.needs(.data)
      if context.session.prompt != nil { try context.needs(.prompt) }
    case .zeroShot:
      try context.needs(.model)
      try context.needs(.data)
      try context.needs(.prompt)
    case .mapping(let run, let top, let count, let classes):
      let name = try Self.resolveRun(run, context: context)
      if case .prompt(let mapping)? = context.session.method(of: name), !mapping.policy.hasSourceMap {
        throw context.fail(
          "run '\(name)' uses \(mapping.label), a trained linear layer: it has no one-to-one mapping to show")
      }
      try context.needs(.run(name))
      request = .mapping(run: name, top: top, count: count, classes: classes)
    case .prompt(let run, let count):
      let name = try Self.resolveRun(run, context: context)
      try context.needs(.run(name))
      request = .prompt(run: name, count: count)
    case .curves(let runs, let metric):
      let names = try Self.resolveRuns(runs, context: context)
      for name in names { try context.needs(.run(name)) }
      request = .curves(runs: names, metric: metric)
    case .table(let runs, let pivot):
      let names = try Self.resolveRuns(runs, context: context)
      for name in names { try context.needs(.run(name)) }
      request = .table(runs: names, pivot: pivot)
    }
  }

  /// The run `show mapping`/`show prompt` refers to: the named one, or the last trained prompt of the most
  /// recent run statement.
  private static func resolveRun(_ name: String?, context: PlanContext) throws -> String {
    let session = context.session
    let suitable = { (method: RunMethod) in method.mapping != nil }
    if let name {
      guard let method = session.method(of: name) else {
        throw context.fail("\(context.what): " + noRun(name, session: session))
      }
      guard suitable(method) else {
        throw context.fail("\(context.what): run '\(name)' is a \(method.label) baseline, not a trained prompt")
      }
      return name
    }
    let candidates = session.lastGroup.filter { session.method(of: $0).map(suitable) ?? false }
    guard let last = candidates.last else {
      throw context.fail(
        "\(context.what) needs a trained prompt: run train or compare first, or name one with run=NAME")
    }
    return last
  }

  private static func noRun(_ name: String, session: Planner.SymbolicSession) -> String {
    let known = Array(Set(session.runs.map(\.name))).sorted()
    var message = "no run named '\(name)' before this statement"
    if let guess = BlockSyntax.suggestion(for: name, in: known) { message += " (did you mean '\(guess)'?)" }
    return message + (known.isEmpty ? " (no run so far)" : " (runs so far: \(known.joined(separator: ", ")))")
  }

  /// Run names and patterns (`*` matches any text), in registration order; the last statement's runs when
  /// none are given.
  private static func resolveRuns(_ names: [String]?, context: PlanContext) throws -> [String] {
    let session = context.session
    guard let names else {
      guard !session.lastGroup.isEmpty else {
        throw context.fail("\(context.what) needs runs: train, compare, baseline or sweep first")
      }
      return session.lastGroup
    }
    var known: [String] = []
    for run in session.runs where !known.contains(run.name) { known.append(run.name) }
    var expanded = names.flatMap { pattern -> [String] in
      guard pattern.contains("*") else { return [pattern] }
      return known.filter { Planner.matches($0, pattern: pattern) }
    }
    var seen = Set<String>()
    expanded = expanded.filter { seen.insert($0).inserted }
    guard !expanded.isEmpty else {
      throw context.fail("\(context.what): no run matches '\(names.joined(separator: ","))'")
    }
    for name in expanded where session.method(of: name) == nil {
      throw context.fail("\(context.what): " + noRun(name, session: session))
    }
    return expanded
  }

  func execute(_ context: ExecutionContext, into output: inout ExecutionOutput) throws {
    let (session, resources) = (context.session, context.resources)
    switch request {
    case .data(let count, let classes):
      guard let spec = session.data else { throw NotebookError("show data needs data") }
      let data = try resources.data(spec, side: session.prompt?.imageSide ?? 32)
      output.panels.append(ImageViews.dataGrid(data, count: count, classes: classes))
    case .zeroShot(let top, let count, let classes):
      guard let choice = session.model, let spec = session.data, let prompt = session.prompt else {
        throw NotebookError("show zero-shot needs the model, data and prompt")
      }
      let data = try resources.data(spec, side: prompt.imageSide)
      let experiment = try resources.experiment(choice, data: data)
      let model = experiment.model
      let result = try experiment.zeroShot(prompt: prompt)
      output.panels += MappingViews.zeroShot(
        result, data: data, sourceNames: experiment.sourceNames ?? resources.sourceNames(count: model.classCount),
        top: top, count: count, classes: classes)
    case .mapping(let run, let top, let count, let classes):
      let group = try session.group(run ?? "")
      let data = try resources.data(group.data, side: group.prompt.imageSide)
      let names = resources.sourceNames(
        model: group.model, classNames: data.train.classNames, count: group.first?.frequency?.sources ?? 1000)
      output.panels += MappingViews.mapping(
        group, data: data, sourceNames: names, top: top, count: count, classes: classes)
    case .prompt(let run, let count):
      let group = try session.group(run ?? "")
      guard let delta = session.deltas[group.name] else {
        throw NotebookError("run '\(group.name)' has no learned prompt to show")
      }
      let data = try resources.data(group.data, side: group.prompt.imageSide)
      output.panels += ImageViews.promptPanel(group, delta: delta, data: data, count: count)
    case .curves(let runs, let metric):
      let groups = try (runs ?? []).map(session.group)
      output.panels.append(
        ResultsView.curves(groups, metric: metric)
          ?? Panel(kind: .note, title: nil, html: "<p class=\"vp-note\">These runs have no per-epoch history.</p>\n"))
    case .table(let runs, let pivot):
      let groups = try (runs ?? []).map(session.group)
      output.panels += pivot == "data" ? ResultsView.dataPivot(groups) : [ResultsView.tablePanel(groups)]
    }
  }
}
