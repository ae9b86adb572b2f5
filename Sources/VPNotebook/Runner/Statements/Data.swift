import Foundation
import VPEngine

/// How many images per class: a number, or all of them.
enum ImageCount: Codable, Sendable, Equatable {
  case all
  case count(Int)

  /// `DataSpec.perClass`: nil for all.
  var limit: Int? {
    switch self {
    case .all: return nil
    case .count(let n): return n
    }
  }
}

/// `data fashion-mnist per_class=100 val=50 test=2000 [seed=N]`: the task's images and their splits.
struct DataStatement: NotebookStatement {
  static let verb = "data"
  static let summary = "the target data set and its train / validation / test splits"
  static let word: WordSpec? = WordSpec(what: "a data set name", noun: "data set", known: [])
  static let prominence = StatementProminence.setup
  static let claims: Slot? = .data

  static func options(word: String?) -> [OptionSpec] {
    [
      OptionSpec(
        name: "per_class", type: .intOrAll(min: 1), defaultText: "all",
        help:
          "Training images per class (the first ones in file order), or all: every image of the training file but the validation images.",
        axis: true),
      OptionSpec(
        name: "val", type: .int(min: 0), defaultText: "0",
        help: "Validation images per class, taken after the training images (0 selects the last epoch)."),
      OptionSpec(
        name: "test", type: .int(min: 1), defaultText: "2000",
        help: "Test images: the first N of the official test file, or N per class held out."),
      OptionSpec(
        name: "seed", type: .seed, defaultText: nil,
        help: "Draw the images per class with this seed instead of taking them in file order."),
    ]
  }

  /// The data set names a statement accepts, for errors.
  static let knownNames = DataCatalog.builtIn + ["imagefolder:PATH", "cifar10:DIR", "cifar100:DIR"]

  /// Fails unless `name` is a built-in data set or a `prefix:path`.
  static func checkName(_ name: String, reader: OptionReader) throws {
    if DataCatalog.builtIn.contains(name) { return }
    for prefix in InputFiles.pathPrefixes where name.hasPrefix(prefix) {
      guard name.count > prefix.count else { throw reader.fail("data '\(prefix)' needs a path after the colon") }
      return
    }
    throw reader.unknownValue(name, what: "data set", known: knownNames)
  }

  var spec: DataSpec

  static func decode(word: String?, _ reader: OptionReader) throws -> DataStatement {
    let name = word!
    try checkName(name, reader: reader)
    var spec = DataSpec(name: name)
    spec.perClass = try reader.count("per_class")?.limit
    spec.validationPerClass = try reader.int("val") ?? 0
    spec.test = try reader.int("test") ?? spec.test
    spec.seed = try reader.seed("seed")
    return DataStatement(spec: spec)
  }

  mutating func plan(_ context: inout PlanContext) throws {
    context.write(.data)
    let written = spec.name
    spec.name = InputFiles.resolveDataName(written, baseDirectory: context.baseDirectory)
    context.session.data = spec
    try InputFiles.checkDataExists(spec.name, written: written, file: context.file, line: context.line)
  }

  func inputFiles() throws -> [(path: String, listing: Bool)] { try InputFiles.files(forData: spec.name) }

  func restore(into session: Session) { session.data = spec }

  func execute(_ context: ExecutionContext, into output: inout ExecutionOutput) throws {
    restore(into: context.session)
    var text = "Data: <strong>\(HTML.escape(spec.name))</strong>, "
    text += spec.perClass.map { "\($0) training" } ?? "all remaining training"
    text += " and \(spec.validationPerClass) validation images per class; "
    text +=
      ["fashion-mnist", "cifar10", "cifar100"].contains { spec.name.hasPrefix($0) }
      ? "the first \(spec.test) images of the official test set" : "\(spec.test) test images per class held out"
    if let seed = spec.seed { text += "; drawn with seed \(seed)" }
    output.panels.append(.setup(text))
  }
}
