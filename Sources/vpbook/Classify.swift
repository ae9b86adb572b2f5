import ArgumentParser
import Foundation
import VPImage
import VPModels
import VPTensor
import VPText

/// The source models a command can name.
extension ModelName: ExpressibleByArgument {}

struct Classify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the top ImageNet classes of images, as a sanity check of a source model.",
    discussion: """
      MobileNetV2, ResNets and ViTs use torchvision's preprocessing (resize the short side to 256, centre-crop
      224, ImageNet mean/std); EfficientNet-Lite0 uses its own ((x − 127) / 128 on the same crop). A ViT
      checkpoint made for another image size S gets the same transform scaled to it (short side S·256/224,
      crop S).
      CLIP (--model clip --weights W) classifies zero-shot over --labels (default: the 1000 ImageNet names) with
      CLIP's preprocessing (bicubic resize of the short side to its image size S, centre crop S, CLIP's mean/std);
      --templates ensemble averages the 81 prompt templates per label (CLIP's prompt ensemble), single uses
      "This is a photo of a {}.".
      Example: vpbook classify --model mobilenet_v2 .cache/assets/images/chelsea.png
      Example: vpbook classify --model clip --weights ViT-B-32.safetensors --labels cat,dog photo.jpg
      """)

  /// How CLIP's text prompts are made from the labels.
  enum Templates: String, ExpressibleByArgument, CaseIterable {
    /// The 81 templates, averaged (CLIP's prompt ensemble).
    case ensemble
    /// `CLIPPrompts.photoTemplate` only.
    case single
  }

  @Option(help: "Source model: \(ModelName.allCases.map(\.rawValue).joined(separator: ", ")).")
  var model: ModelName = .mobilenetV2

  @Option(help: "Checkpoint (.pth or .safetensors); default: the one installed by setup.")
  var weights: String?

  @Option(help: "How many classes to print per image.")
  var top: Int = 5

  @Option(help: "CLIP only: comma-separated class names (default: the 1000 ImageNet names).")
  var labels: String?

  @Option(
    help:
      "CLIP only: prompts per label, ensemble (81 templates) or single (default: ensemble with --labels, single over the ImageNet names)."
  )
  var templates: Templates?

  @Argument(help: "PNG or JPEG files.")
  var images: [String]

  func validate() throws {
    guard !images.isEmpty else { throw ValidationError("give at least one image") }
    guard (1...1000).contains(top) else { throw ValidationError("--top must be between 1 and 1000") }
    if model != .clip && (labels != nil || templates != nil) {
      throw ValidationError("--labels and --templates are for --model clip")
    }
    if let labels, labelList(labels).isEmpty { throw ValidationError("--labels names no class") }
  }

  func labelList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  func run() throws {
    let classifier: ImageClassifier
    let names: [String]
    if model == .clip {
      guard let weights else {
        _ = try ModelZoo.load(.clip)  // the error that says which files to pass
        return
      }
      names = try labels.map(labelList) ?? ImageNetClasses.names()
      let chosen = templates ?? (labels == nil ? .single : .ensemble)
      classifier = try CLIP.load(path: weights).classifier(
        classNames: names, templates: chosen == .ensemble ? CLIPPrompts.ensemble : [CLIPPrompts.photoTemplate],
        tokenizer: try CLIPTokenizer())
    } else {
      classifier = try ModelZoo.load(model, weights: weights)
      names =
        classifier.classCount == 1000 ? try ImageNetClasses.names() : (0..<classifier.classCount).map { "class \($0)" }
    }
    let side = classifier.inputSide ?? imageNetCropSide
    var batch: [Float] = []
    for path in images {
      let image = try Image(contentsOfFile: path)
      if model == .clip {
        batch += clipPreprocess(image, side: side)
      } else if side != imageNetCropSide {
        batch += scaledTorchvisionPreprocess(image, side: side)
      } else {
        batch += model == .efficientnetLite0 ? efficientNetPreprocess(image) : torchvisionPreprocess(image)
      }
    }
    let logits = classifier.logits(Tensor(shape: [images.count, side, side, 3], data: batch))
    let k = classifier.classCount
    for (i, path) in images.enumerated() {
      let p = Loss.softmax(Array(logits.data[(i * k)..<((i + 1) * k)]), classes: k)
      let order = p.indices.sorted { p[$0] > p[$1] }.prefix(min(top, k))
      print(path)
      for c in order {
        let name = names[c].padding(toLength: max(32, names[c].count), withPad: " ", startingAt: 0)
        print(String(format: "  %4d  ", c) + name + String(format: " %.4f", p[c]))
      }
    }
  }
}

/// torchvision's evaluation transform for a model whose input side is `side` rather than 224: resize the short
/// side to `side · 256 / 224` (rounded), centre-crop `side`, ImageNet mean/std.
func scaledTorchvisionPreprocess(_ image: Image, side: Int) -> [Float] {
  let resize = Int((Double(side) * Double(imageNetResizeSide) / Double(imageNetCropSide)).rounded())
  let cropped = image.toRGB().resizeShortSide(resize, method: .pilBilinear).centerCrop(side)
  return cropped.pixels.enumerated().map { i, v in (v - imageNetMean[i % 3]) / imageNetStd[i % 3] }
}
