import Foundation
import VPEngine
import VPModels

/// Runs the statements of one block on the engine and renders their outputs.
struct Executor {
  let session: Session
  let resources: RunnerResources
  let file: String
  let emit: (@Sendable (RunnerEvent) -> Void)?

  /// What executing a block produced.
  struct Output {
    var panels: [Panel] = []
    var groups: [RunGroup] = []
    var deltas: [String: [Float]] = [:]
  }

  func execute(_ block: PlannedBlock) throws -> Output {
    var output = Output()
    for located in block.statements {
      do {
        try execute(located, into: &output)
      } catch let error as NotebookError {
        throw error.file == nil ? NotebookError(error.message, file: file, line: located.line) : error
      } catch {
        throw NotebookError("\(located.raw.verb): \(error)", file: file, line: located.line)
      }
    }
    return output
  }

  private func execute(_ located: LocatedStatement, into output: inout Output) throws {
    switch located.statement {
    case .model, .data, .prompt:
      session.assign(located.statement)
      output.panels.append(Panel(kind: .note, title: nil, html: Executor.describe(located.statement)))
    case .run(let statement):
      var groups: [RunGroup] = []
      for spec in statement.runs {
        let (group, delta) = try run(spec)
        session.register(group, delta: delta)
        groups.append(group)
        output.groups.append(group)
        if let delta { output.deltas[group.name] = delta }
      }
      output.panels += Executor.panels(for: statement, groups: groups)
    case .show(let request):
      output.panels += try show(request)
    }
  }

  /// Trains (or evaluates) one run spec over its seeds.
  private func run(_ spec: RunSpec) throws -> (RunGroup, [Float]?) {
    guard let modelChoice = session.model, let baseData = session.data, let basePrompt = session.prompt else {
      throw NotebookError("the model, data and prompt must be set first")
    }
    let prompt = spec.prompt(from: basePrompt)
    let dataSpec = spec.data(from: baseData)
    let model = try resources.model(modelChoice)
    let data = try resources.data(dataSpec, side: prompt.imageSide)
    let experiment = try Experiment(
      model: model, train: data.train, validation: data.validation, test: data.test,
      sourceNames: resources.sourceNames(count: model.classCount))
    experiment.testEveryEpoch = spec.testCurve
    var results: [RunResult] = []
    var delta: [Float]?
    for seed in spec.seeds {
      let label = spec.seeds.count > 1 ? "\(spec.name) seed \(seed)" : spec.name
      let emit = self.emit
      experiment.progress = { progress in emit?(.training(label: label, progress: progress)) }
      let result: RunResult
      switch spec.method {
      case .prompt(let mapping):
        result = try experiment.run(prompt: prompt, mapping: mapping, training: spec.training, seed: seed)
        if delta == nil { delta = experiment.lastPrompt?.delta }
      case .linearProbe:
        result = try experiment.linearProbe(prompt: prompt, training: spec.training, seed: seed)
      case .zeroShot(let assignment):
        result = try experiment.zeroShot(prompt: prompt, assignment: assignment)
      }
      emit?(.trainingFinished(label: label, testAccuracy: result.testAccuracy, seconds: result.wallSeconds))
      results.append(result)
    }
    let group = RunGroup(
      name: spec.name, method: spec.method, model: modelChoice.name.rawValue, data: dataSpec, prompt: prompt,
      axes: spec.axes, results: results)
    return (group, delta)
  }

  private func show(_ request: ShowRequest) throws -> [Panel] {
    switch request {
    case .data(let count, let classes):
      guard let spec = session.data else { throw NotebookError("show data needs data") }
      let data = try resources.data(spec, side: session.prompt?.imageSide ?? 32)
      return [ImageViews.dataGrid(data, count: count, classes: classes)]
    case .zeroShot(let top, let count, let classes):
      guard let choice = session.model, let spec = session.data, let prompt = session.prompt else {
        throw NotebookError("show zero-shot needs the model, data and prompt")
      }
      let model = try resources.model(choice)
      let data = try resources.data(spec, side: prompt.imageSide)
      let names = resources.sourceNames(count: model.classCount)
      let experiment = try Experiment(
        model: model, train: data.train, validation: data.validation, test: data.test, sourceNames: names)
      let result = try experiment.zeroShot(prompt: prompt)
      return MappingViews.zeroShot(result, data: data, sourceNames: names, top: top, count: count, classes: classes)
    case .mapping(let run, let top, let count, let classes):
      let group = try session.group(run ?? "")
      let data = try resources.data(group.data, side: group.prompt.imageSide)
      let sources = group.first?.frequency?.sources ?? 1000
      let names = resources.sourceNames(count: sources)
      return MappingViews.mapping(group, data: data, sourceNames: names, top: top, count: count, classes: classes)
    case .prompt(let run, let count):
      let group = try session.group(run ?? "")
      guard let delta = session.deltas[group.name] else {
        throw NotebookError("run '\(group.name)' has no learned prompt to show")
      }
      let data = try resources.data(group.data, side: group.prompt.imageSide)
      return [ImageViews.promptPanel(group, delta: delta, data: data, count: count)]
    case .curves(let runs, let metric):
      let groups = try (runs ?? []).map(session.group)
      guard let panel = ResultsView.curves(groups, metric: metric) else {
        return [
          Panel(kind: .note, title: nil, html: "<p class=\"vp-note\">These runs have no per-epoch history.</p>\n")
        ]
      }
      return [panel]
    case .table(let runs, let pivot):
      let groups = try (runs ?? []).map(session.group)
      if pivot == "data" { return Executor.dataPivot(groups) }
      return [Executor.tablePanel(groups)]
    }
  }

  /// Methods down, data sets across: test accuracy (mean ± std over seeds), the best per data set in bold,
  /// and the same as grouped bars.
  static func dataPivot(_ groups: [RunGroup]) -> [Panel] {
    var dataSets: [String] = []
    var methods: [String] = []
    for group in groups {
      if !dataSets.contains(group.data.name) { dataSets.append(group.data.name) }
      if !methods.contains(group.method.label) { methods.append(group.method.label) }
    }
    func find(_ method: String, _ data: String) -> RunGroup? {
      groups.last { $0.method.label == method && $0.data.name == data }
    }
    var columns = [ResultsTable.Column("Method", better: .none)]
    columns += dataSets.map { ResultsTable.Column($0, better: .higher, decimals: 1) }
    let rows = methods.map { method -> [ResultsTable.Cell] in
      [.text(method)]
        + dataSets.map { data in find(method, data).map { ResultsView.percent($0.testAccuracy) } ?? .empty }
    }
    let seeds = Set(groups.map(\.results.count))
    let over = seeds.count == 1 && seeds.first! > 1 ? ", mean ± std over \(seeds.first!) seeds" : ""
    let title = "Test accuracy (%) by method and data set" + over
    let series = methods.map { method -> SVGChart.Bar.Series in
      let found = dataSets.map { find(method, $0) }
      let errors = found.map { $0.map { $0.testAccuracy.n > 1 ? $0.testAccuracy.std * 100 : 0 } ?? 0 }
      return .init(
        name: method, values: found.map { $0.map { $0.testAccuracy.mean * 100 } ?? .nan },
        errors: errors.contains { $0 > 0 } ? errors : nil)
    }
    let chart = SVGChart.Bar(
      categories: dataSets, series: series, xLabel: "data set", yLabel: "test accuracy (%)",
      title: "Test accuracy by data set" + over)
    return [
      Panel(kind: .table, title: title, html: ResultsTable(columns: columns, rows: rows).html()),
      Panel(kind: .figure, title: "The same as bars" + (over.isEmpty ? "" : " (error bars: ± std)"), html: chart.svg()),
    ]
  }

  static func tablePanel(_ groups: [RunGroup]) -> Panel {
    Panel(
      kind: .table, title: tableTitle(groups), html: ResultsView.table(groups).html() + ResultsView.tableNote(groups))
  }

  static func tableTitle(_ groups: [RunGroup]) -> String {
    let context = ResultsView.context(groups)
    return "Test accuracy (%) and cost" + (context.isEmpty ? "" : " — " + context)
  }

  /// The panels of a train/compare/baseline/sweep statement.
  static func panels(for statement: RunStatement, groups: [RunGroup]) -> [Panel] {
    switch statement.kind {
    case .sweep:
      return SweepView.panels(groups, axes: statement.axes)
    case .train, .compare, .baseline:
      var panels = [tablePanel(groups)]
      if let curves = ResultsView.curves(groups, metric: statement.curve) { panels.append(curves) }
      return panels
    }
  }

  /// A one-line description of a setup statement (nothing is loaded for it).
  static func describe(_ statement: Statement) -> String {
    var text: String
    switch statement {
    case .model(let name, let weights):
      let pretty: [ModelName: String] = [
        .mobilenetV2: "MobileNetV2", .efficientnetLite0: "EfficientNet-Lite0", .resnet18: "ResNet-18",
        .resnet34: "ResNet-34", .resnet50: "ResNet-50",
      ]
      text = "Source model: <strong>\(pretty[name] ?? name.rawValue)</strong>, frozen"
      text +=
        weights.map { ", weights from <code>\(HTML.escape(URL(fileURLWithPath: $0).lastPathComponent))</code>" }
        ?? " (ImageNet-1k weights installed by setup)"
    case .data(let spec):
      text = "Data: <strong>\(HTML.escape(spec.name))</strong>, "
      text += spec.perClass.map { "\($0) training" } ?? "all remaining training"
      text += " and \(spec.validationPerClass) validation images per class; "
      text +=
        ["fashion-mnist", "cifar10", "cifar100"].contains { spec.name.hasPrefix($0) }
        ? "the first \(spec.test) images of the official test set" : "\(spec.test) test images per class held out"
      if let seed = spec.seed { text += "; drawn with seed \(seed)" }
    case .prompt(let config):
      let s = config.canvas
      let trainable = VisualPrompt(config, normalization: .imageNet).parameterCount
      if config.kind == .pad {
        text =
          "Prompt: a trainable <strong>padding</strong> of \(s) × \(s) px around the \(config.image) × "
          + "\(config.image) px target image (\(trainable) trainable values)"
      } else {
        text =
          "Prompt: a trainable <strong>watermark</strong> added to the \(s) × \(s) px image"
          + (config.frame.map { " in a \($0) px frame" } ?? "") + " (\(trainable) trainable values)"
      }
    case .run, .show:
      text = ""
    }
    return "<p class=\"vp-setup\">\(text)</p>\n"
  }
}
