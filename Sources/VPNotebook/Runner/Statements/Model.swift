import Foundation
import VPCheckpoint
import VPEngine
import VPModels

/// `model mobilenet_v2 [weights=PATH]`: the frozen source model.
struct ModelStatement: NotebookStatement {
  static let verb = "model"
  static let summary = "the frozen source model (and its checkpoint)"
  static let word: WordSpec? = WordSpec(
    what: "a model name", noun: "model", known: ModelName.allCases.map(\.rawValue))
  static let prominence = StatementProminence.setup
  static let claims: Slot? = .model

  static let sources = OptionSpec(
    name: "sources", type: .choice(ModelSources.allCases.map(\.rawValue)), defaultText: "imagenet",
    help:
      "CLIP only: its source classes — imagenet (\"This is a photo of a {}.\" with the 1000 ImageNet names), prompts (ILM-VP's text-prompt candidates: each of the 81 templates with each target class name; the mappings choose a prompt per class), classes (one prompt per target class, \"This is a photo of a {}.\") or ensemble (one per target class, the 81 templates averaged); with classes or ensemble use mapping=identity."
  )

  static let textEncoder = OptionSpec(
    name: "text_encoder", type: .text, defaultText: nil,
    help:
      "A CLIP checkpoint (as for model clip weights=) whose text tower compares class names for mapping=semantic text=clip (AutoVP's SemanticMap); default: the model's own weights for clip, none otherwise."
  )

  static func options(word: String?) -> [OptionSpec] {
    [
      OptionSpec(
        name: "weights", type: .text, defaultText: nil,
        help: "Checkpoint for the model (.pth or .safetensors); default: the one installed by setup.")
    ] + (word == nil || word == ModelName.clip.rawValue ? [sources] : []) + [textEncoder]
  }

  var choice: ModelChoice

  static func decode(word: String?, _ reader: OptionReader) throws -> ModelStatement {
    let sources = try reader.choice("sources", as: ModelSources.self)
    return ModelStatement(
      choice: ModelChoice(
        name: ModelName(rawValue: word!)!, weights: reader.string("weights"),
        sources: sources == .imagenet ? nil : sources, textEncoder: reader.string("text_encoder")))
  }

  mutating func plan(_ context: inout PlanContext) throws {
    context.write(.model)
    let written = choice.weights
    choice.weights = written.map(context.resolve)
    let writtenText = choice.textEncoder
    choice.textEncoder = writtenText.map(context.resolve)
    context.session.model = choice
    if written == nil, choice.name.defaultWeights == nil {
      throw context.fail(
        "no pretrained weights ship for \(choice.name.rawValue); give weights=PATH (.pth or .safetensors)")
    }
    if let written, let resolved = choice.weights, !FileManager.default.fileExists(atPath: resolved) {
      let places = InputFiles.candidates(written, baseDirectory: context.baseDirectory)
      throw context.fail("weights file '\(written)' not found (looked for \(places.joined(separator: " and ")))")
    }
    if let writtenText, let resolved = choice.textEncoder, !FileManager.default.fileExists(atPath: resolved) {
      let places = InputFiles.candidates(writtenText, baseDirectory: context.baseDirectory)
      throw context.fail(
        "text_encoder file '\(writtenText)' not found (looked for \(places.joined(separator: " and ")))")
    }
  }

  func inputFiles() throws -> [(path: String, listing: Bool)] { try InputFiles.files(for: choice) }

  func restore(into session: Session) { session.model = choice }

  /// The `vpbook.note` a `.safetensors` checkpoint carries in its metadata, if any.
  static func note(_ path: String) -> String? {
    guard path.hasSuffix(".safetensors") else { return nil }
    return (try? Safetensors.metadata(path))?["vpbook.note"]
  }

  func execute(_ context: ExecutionContext, into output: inout ExecutionOutput) throws {
    restore(into: context.session)
    let pretty: [ModelName: String] = [
      .mobilenetV2: "MobileNetV2", .efficientnetLite0: "EfficientNet-Lite0", .resnet18: "ResNet-18",
      .resnet34: "ResNet-34", .resnet50: "ResNet-50", .vitB16: "ViT-B/16", .vitB32: "ViT-B/32",
      .clip: "CLIP (zero-shot over the ImageNet names)",
    ]
    let described: [ModelSources: String] = [
      .prompts: "CLIP (its source classes: the \(CLIPPrompts.ensemble.count) text prompts of every target class)",
      .classes: "CLIP (its source classes: \"This is a photo of a {}.\" with each target class)",
      .ensemble: "CLIP (its source classes: each target class's \(CLIPPrompts.ensemble.count)-template ensemble)",
    ]
    let name = choice.sources.flatMap { described[$0] } ?? pretty[choice.name] ?? choice.name.rawValue
    var text = "Source model: <strong>\(name)</strong>, frozen"
    text +=
      choice.weights.map { ", weights from <code>\(HTML.escape(URL(fileURLWithPath: $0).lastPathComponent))</code>" }
      ?? " (ImageNet-1k weights installed by setup)"
    if let tower = choice.textEncoder {
      text += "; CLIP's text tower from <code>\(HTML.escape(URL(fileURLWithPath: tower).lastPathComponent))</code>"
    }
    // A checkpoint that describes itself (vpbook's small random CLIP says it is not pretrained).
    let notes = Set([choice.weights, choice.textEncoder].compactMap { $0 }.compactMap(Self.note))
    for note in notes.sorted() { text += ". <strong>Note: \(HTML.escape(note)).</strong>" }
    output.panels.append(.setup(text))
  }
}

extension Panel {
  /// The one-line note of a setup statement.
  static func setup(_ html: String) -> Panel {
    Panel(kind: .note, title: nil, html: "<p class=\"vp-setup\">\(html)</p>\n")
  }
}
