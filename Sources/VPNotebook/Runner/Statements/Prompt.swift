import Foundation
import VPEngine

/// `prompt pad canvas=128 image=64 [scale=learn]`, `prompt watermark canvas=128 [frame=16]`,
/// `prompt lowrank canvas=128 [rank=4]` or `prompt smm canvas=128`.
struct PromptStatement: NotebookStatement {
  static let verb = "prompt"
  static let summary = "the prompt's kind and geometry"
  static let word: WordSpec? = WordSpec(
    what: "a prompt kind", noun: "prompt kind", known: PromptKind.allCases.map(\.rawValue), selectsOptions: true)
  static let prominence = StatementProminence.setup
  static let claims: Slot? = .prompt

  static let canvas = OptionSpec(
    name: "canvas", type: .int(min: 32), defaultText: "128", help: "Canvas (model input) side in pixels.", axis: true)
  static let image = OptionSpec(
    name: "image", type: .int(min: 1), defaultText: "64",
    help: "Image side inside the canvas (pad prompt; at most the canvas).", axis: true)
  static let scale = OptionSpec(
    name: "scale", type: .choice(["fixed", "learn"]), defaultText: "fixed",
    help:
      "AutoVP's input scale: learn zooms the image about the canvas centre by a trainable factor starting at 1, kept in [0.1, 5] (pad prompt).",
    axis: true)
  static let frame = OptionSpec(
    name: "frame", type: .int(min: 1), defaultText: nil,
    help: "Watermark prompt: the width of a trainable frame (default: the whole image).")

  static let rank = OptionSpec(
    name: "rank", type: .int(min: 1), defaultText: String(PromptConfig.defaultRank),
    help: "Low-rank prompt: the rank r of each channel's pattern B·A (LoR-VP: 4 at 224 px).", axis: true)
  /// The prompt kind as a sweep or search axis (`prompt=pad,smm`).
  static let kindAxis = OptionSpec(
    name: "prompt", type: .choice(PromptKind.allCases.map(\.rawValue)), defaultText: "the prompt statement's",
    help:
      "Prompt kind (an axis): pad, watermark, lowrank or smm, with the prompt statement's canvas; a full-image kind places the image at the canvas size.",
    axis: true)

  static func options(word: String?) -> [OptionSpec] {
    switch word.flatMap(PromptKind.init(rawValue:)) {
    case .pad?: return [canvas, image, scale]
    case .watermark?: return [canvas, frame]
    case .lowrank?: return [canvas, rank]
    case .smm?: return [canvas]
    case nil: return [canvas, image, scale, frame, rank]
    }
  }

  var config: PromptConfig

  static func decode(word: String?, _ reader: OptionReader) throws -> PromptStatement {
    let kind = PromptKind(rawValue: word!)!
    let canvas = try reader.int("canvas") ?? 128
    let pad = kind == .pad
    let image = pad ? (try reader.int("image") ?? min(64, canvas)) : canvas
    let frame = pad ? nil : try reader.int("frame")
    let learn = pad ? try reader.value("scale") == "learn" : false
    let rank = kind == .lowrank ? try reader.int("rank") : nil
    let config = PromptConfig(
      kind: kind, canvas: canvas, image: image, frame: frame, learnableScale: learn, rank: rank)
    do {
      try config.validate()
    } catch {
      throw reader.fail("\(error)")
    }
    return PromptStatement(config: config)
  }

  mutating func plan(_ context: inout PlanContext) throws {
    context.write(.prompt)
    context.session.prompt = config
  }

  func restore(into session: Session) { session.prompt = config }

  func execute(_ context: ExecutionContext, into output: inout ExecutionOutput) throws {
    restore(into: context.session)
    output.panels.append(.setup("Prompt: " + Self.describe(config)))
  }

  /// What a prompt of `config` is, in one HTML phrase with its trainable values.
  static func describe(_ config: PromptConfig) -> String {
    let s = config.canvas
    let trainable = config.makePrompt(normalization: .imageNet, seed: 0).parameterCount
    let count = " (\(trainable) trainable values)"
    switch config.kind {
    case .pad:
      return "a trainable <strong>padding</strong> of \(s) × \(s) px around the \(config.image) × "
        + "\(config.image) px target image" + count
    case .watermark:
      return "a trainable <strong>watermark</strong> added to the \(s) × \(s) px image"
        + (config.frame.map { " in a \($0) px frame" } ?? "") + count
    case .lowrank:
      return "a trainable <strong>low-rank</strong> pattern B·A of rank \(config.rank ?? PromptConfig.defaultRank) per "
        + "channel added to the \(s) × \(s) px image (LoR-VP)" + count
    case .smm:
      return "a trainable pattern added to the \(s) × \(s) px image through a <strong>sample-specific mask</strong> "
        + "that a small ConvNet computes from each image (SMM; one mask value per \(SampleMaskNetwork.patch) × "
        + "\(SampleMaskNetwork.patch) px patch and channel)" + count
    }
  }
}
