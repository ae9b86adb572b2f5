import Foundation
import VPAssets
import VPCheckpoint
import VPText

/// The source models vpbook knows, by the names used on the command line and in notebooks.
public enum ModelName: String, CaseIterable, Sendable {
  case mobilenetV2 = "mobilenet_v2"
  case efficientnetLite0 = "efficientnet_lite0"
  case resnet18, resnet34, resnet50
  /// torchvision's ViT-B/16 and ViT-B/32; no weights ship (torchvision's `vit_b_16-c867db91.pth`,
  /// `vit_b_32-d86f8d99.pth`). Both read every size from the checkpoint's shapes (`VisionTransformer`).
  case vitB16 = "vit_b_16"
  case vitB32 = "vit_b_32"
  /// OpenAI's CLIP with a ViT image tower, as a zero-shot classifier over the 1000 ImageNet class names
  /// (`CLIPPrompts.photoTemplate`); no weights ship: an OpenAI state dict (`.pth`/`.safetensors`) or Hugging
  /// Face's `CLIPModel` `model.safetensors`. Every size is read from the shapes (`CLIP`).
  case clip

  /// The checkpoint installed by setup, if any (relative to the asset folder).
  public var defaultWeights: String? {
    switch self {
    case .mobilenetV2: return "models/mobilenet_v2-b0353104.pth"
    case .efficientnetLite0: return "models/efficientnet-lite0-57934424.pth"
    case .resnet18, .resnet34, .resnet50, .vitB16, .vitB32, .clip: return nil
    }
  }
}

/// Loads source models from checkpoints.
public enum ModelZoo {
  /// Loads `name` from `weights` (a `.pth` or `.safetensors` file), or from the installed default.
  public static func load(_ name: ModelName, weights: String? = nil) throws -> ImageClassifier {
    let path: String
    if let weights {
      path = weights
    } else if let relative = name.defaultWeights {
      path = try Assets.path(relative)
    } else if name == .clip {
      throw ModelError(
        file: name.rawValue,
        "no pretrained weights ship for clip; pass OpenAI's CLIP state dict (.pth or .safetensors) or Hugging "
          + "Face's model.safetensors (openai/clip-vit-base-patch32), see docs/NOTEBOOKS.md")
    } else {
      throw ModelError(
        file: name.rawValue,
        "no pretrained weights ship for \(name.rawValue); pass a torchvision checkpoint (.pth or .safetensors)")
    }
    let source = try CheckpointWeights(path: path)
    switch name {
    case .mobilenetV2: return try MobileNetV2.load(source)
    case .efficientnetLite0: return try EfficientNetLite0.load(source)
    case .resnet18: return try ResNet.load(source, depth: .r18)
    case .resnet34: return try ResNet.load(source, depth: .r34)
    case .resnet50: return try ResNet.load(source, depth: .r50)
    case .vitB16, .vitB32: return try VisionTransformer.load(source, name: name.rawValue)
    case .clip:
      return try CLIP.load(source).classifier(
        classNames: try ImageNetClasses.names(), templates: [CLIPPrompts.photoTemplate], tokenizer: try CLIPTokenizer(),
        name: name.rawValue)
    }
  }
}

extension ModelZoo {
  /// ILM-VP's CLIP classifier for a target task: CLIP's image tower with one class per candidate text prompt
  /// (`CLIPPrompts.candidates(classNames:)`, 81 per target class), each its own unit text embedding; the
  /// classifier's `classNames` are the prompts.
  public static func clipPrompts(weights: String, classNames: [String]) throws -> ImageClassifier {
    let clip = try CLIP.load(path: weights)
    let prompts = CLIPPrompts.candidates(classNames: classNames)
    let model = clip.classifier(textEmbeddings: try clip.textEmbeddings(prompts, tokenizer: try CLIPTokenizer()))
    model.classNames = prompts
    return model
  }

  /// CLIP's text tower from `weights`, as a function from texts to their unit embeddings `[n, E]` (row-major;
  /// tokenised with CLIP's tokenizer). Loaded once, when called.
  public static func clipTextTower(weights: String) throws -> @Sendable ([String]) throws -> [Float] {
    let clip = try CLIP.load(path: weights)
    let tokenizer = try CLIPTokenizer()
    return { texts in try clip.textEmbeddings(texts, tokenizer: tokenizer) }
  }

  /// CLIP over a task's own classes: one source per class name, with ILM-VP's one template ("This is a photo
  /// of a {}.") or the 81-template ensemble (unit embeddings averaged, renormalised); target k is source k.
  public static func clipClasses(weights: String, classNames: [String], ensemble: Bool) throws -> ImageClassifier {
    let model = try CLIP.load(path: weights).classifier(
      classNames: classNames, templates: ensemble ? CLIPPrompts.ensemble : [CLIPPrompts.photoTemplate],
      tokenizer: try CLIPTokenizer())
    model.classNames = classNames.map(CLIPPrompts.className)
    return model
  }
}

/// A checkpoint's float tensors as a `WeightSource`, with a common wrapper prefix (`module.`, `backbone.`,
/// `model.`) removed when every key has it.
public struct CheckpointWeights: WeightSource {
  public let stateDict: StateDict
  public let prefix: String
  public var origin: String { stateDict.path }
  public let names: [String]

  public init(path: String) throws {
    try self.init(try loadCheckpoint(path))
  }

  public init(_ stateDict: StateDict) throws {
    self.stateDict = stateDict
    let keys = stateDict.keys
    var prefix = ""
    for candidate in ["module.", "backbone.", "model."]
    where !keys.isEmpty && keys.allSatisfy({ $0.hasPrefix(candidate) }) {
      prefix = candidate
    }
    self.prefix = prefix
    self.names = keys.map { String($0.dropFirst(prefix.count)) }
  }

  public func shape(of name: String) -> [Int]? { stateDict[prefix + name]?.shape }

  public func values(of name: String) throws -> [Float] {
    do {
      return try stateDict.floats(prefix + name)
    } catch {
      throw ModelError(file: origin, "cannot read '\(name)': \(error)")
    }
  }
}
