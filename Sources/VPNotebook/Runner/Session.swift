import Foundation
import VPEngine
import VPModels

/// Loaded models and prepared data, kept between runs of the same process (`vpbook watch`, tests), and
/// loaded only when an executing block needs them.
public final class RunnerResources: @unchecked Sendable {
  private let lock = NSLock()
  private var models: [ModelChoice: ImageClassifier] = [:]
  private var promptModels: [String: ImageClassifier] = [:]
  private var imageNetNames: [String]?
  private var textTowers: [String: TextEmbedder] = [:]
  private var prepared: [(key: String, data: PreparedSplit)] = []
  /// How many prepared data sets are kept (least recently used first out).
  private let preparedLimit = 6

  public init() {}

  /// The model, loaded once.
  func model(_ choice: ModelChoice) throws -> ImageClassifier {
    lock.lock()
    defer { lock.unlock() }
    if let model = models[choice] { return model }
    let model = try ModelZoo.load(choice.name, weights: choice.weights)
    models[choice] = model
    return model
  }

  /// The model for a task with target classes `classNames`: the model itself, or CLIP with sources made from
  /// those names (`ModelSources.classifier`; loaded once per set of names).
  func model(_ choice: ModelChoice, classNames: [String]) throws -> ImageClassifier {
    guard let sources = choice.sources, sources.dependsOnTask, let weights = choice.weights else {
      return try model(choice)
    }
    let key = sources.rawValue + "\u{0}" + weights + "\u{0}" + classNames.joined(separator: "\u{0}")
    return try cached(\.promptModels, key) { try sources.classifier(weights: weights, classNames: classNames) }
  }

  /// `store[key]`, made by `make` (outside the lock, so loading one file does not hold up the others) when absent.
  private func cached<Value>(
    _ store: ReferenceWritableKeyPath<RunnerResources, [String: Value]>, _ key: String, make: () throws -> Value
  ) rethrows -> Value {
    lock.lock()
    if let value = self[keyPath: store][key] {
      lock.unlock()
      return value
    }
    lock.unlock()
    let value = try make()
    lock.lock()
    self[keyPath: store][key] = value
    lock.unlock()
    return value
  }

  /// The experiment of a run of `choice` on `data`: the model for the data's classes, and CLIP's text tower
  /// for mappings that compare names (`ModelChoice.textWeights`, loaded when first used). Notebook runs,
  /// views, search trials and `vpbook train` all build their experiment here.
  func experiment(_ choice: ModelChoice, data: PreparedSplit) throws -> Experiment {
    let experiment = try Experiment(model: try model(choice, classNames: data.train.classNames), data: data)
    if let path = choice.textWeights {
      experiment.embedTexts = { [self] texts in try textTower(path)(texts) }
    }
    return experiment
  }

  /// CLIP's text tower from `path`, loaded once.
  private func textTower(_ path: String) throws -> TextEmbedder {
    try cached(\.textTowers, path) { try ModelZoo.clipTextTower(weights: path) }
  }

  /// The source class names of a run of `model` on target classes `classNames` with `count` sources: CLIP's
  /// (`sources=prompts`: the 81 prompts of every class; `classes`/`ensemble`: the classes themselves), else
  /// `sourceNames(count:)`. The count tells CLIP's source sets apart (81·K, K or 1000).
  func sourceNames(model: String, classNames: [String], count: Int) -> [String] {
    if model == ModelName.clip.rawValue {
      let prompts = CLIPPrompts.candidates(classNames: classNames)
      if prompts.count == count { return prompts }
      if classNames.count == count { return classNames.map(CLIPPrompts.className) }
    }
    return sourceNames(count: count)
  }

  /// The 1000 ImageNet class names, or `class N` names for another number of source classes.
  func sourceNames(count: Int) -> [String] {
    lock.lock()
    defer { lock.unlock() }
    if count == 1000 {
      if imageNetNames == nil { imageNetNames = try? ImageNetClasses.names() }
      if let imageNetNames { return imageNetNames }
    }
    return (0..<count).map { "class \($0)" }
  }

  /// The splits of `spec` at `side`, prepared once.
  func data(_ spec: DataSpec, side: Int) throws -> PreparedSplit {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let key = (String(data: (try? encoder.encode(spec)) ?? Data(), encoding: .utf8) ?? spec.name) + "@\(side)"
    lock.lock()
    if let index = prepared.firstIndex(where: { $0.key == key }) {
      let entry = prepared.remove(at: index)
      prepared.append(entry)
      lock.unlock()
      return entry.data
    }
    lock.unlock()
    let data = try DataCatalog.prepare(spec, side: side)
    lock.lock()
    prepared.append((key, data))
    if prepared.count > preparedLimit { prepared.removeFirst() }
    lock.unlock()
    return data
  }
}

/// The state blocks share while a notebook runs: the model, data and prompt in effect, and every named run
/// with its learned prompt.
final class Session {
  var model: ModelChoice?
  var data: DataSpec?
  var prompt: PromptConfig?
  private(set) var groups: [String: RunGroup] = [:]
  /// Names in registration order (a re-registered name moves to the end).
  private(set) var order: [String] = []
  private(set) var deltas: [String: [Float]] = [:]

  func register(_ group: RunGroup, delta: [Float]?) {
    groups[group.name] = group
    order.removeAll { $0 == group.name }
    order.append(group.name)
    deltas[group.name] = delta
  }

  func group(_ name: String) throws -> RunGroup {
    guard let group = groups[name] else { throw NotebookError("run '\(name)' is not available") }
    return group
  }
}
