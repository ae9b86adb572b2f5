import Foundation
import VPEngine
import VPImage
import VPModels

/// Inline PNG images of data, prompts and prompted inputs.
enum ImageViews {
  /// The pixels of image `index` of `set` (`[side, side, 3]` in [0, 1]).
  static func pixels(_ set: ImageSet, _ index: Int) -> [Float] {
    set.pixels([index])
  }

  /// The first `count` image indices of each class (fewer when a class has fewer).
  static func examples(_ set: ImageSet, count: Int) -> [[Int]] {
    var result = [[Int]](repeating: [], count: set.classCount)
    guard count > 0 else { return result }
    for (index, label) in set.labels.enumerated() where result[label].count < count {
      result[label].append(index)
    }
    return result
  }

  /// Square RGB images side by side with a white gap.
  static func strip(_ images: [[Float]], side: Int, gap: Int = 2) -> Image {
    let n = max(1, images.count)
    let width = n * side + (n - 1) * gap
    var pixels = [Float](repeating: 1, count: width * side * 3)
    for (i, image) in images.enumerated() {
      let x0 = i * (side + gap)
      for y in 0..<side {
        for x in 0..<side {
          for c in 0..<3 { pixels[(y * width + x0 + x) * 3 + c] = image[(y * side + x) * 3 + c] }
        }
      }
    }
    return Image(width: width, height: side, channels: 3, pixels: pixels)
  }

  /// An `<img>` with the PNG inline, drawn `scale` times its size with crisp pixels.
  static func img(_ image: Image, alt: String, scale: Double, className: String = "vp-pixels") -> String {
    let width = Int((Double(image.width) * scale).rounded())
    let height = Int((Double(image.height) * scale).rounded())
    return "<img class=\"\(className)\" src=\"\(DataURI.png(image.pngData()))\" alt=\"\(HTML.escape(alt))\" "
      + "width=\"\(width)\" height=\"\(height)\">"
  }

  /// The display scale for images of `side` pixels: small images are enlarged.
  static func scale(for side: Int, target: Int = 56) -> Double {
    side >= target ? 1 : Double(max(1, target / side))
  }

  /// A strip of the example images of one class.
  static func classStrip(_ set: ImageSet, indices: [Int], className: String, target: Int = 48) -> String {
    guard !indices.isEmpty else { return "" }
    let image = strip(indices.map { pixels(set, $0) }, side: set.side)
    return img(
      image, alt: "\(indices.count) training images of class \(className)", scale: scale(for: set.side, target: target))
  }

  /// `show data`: a card per class with its name, its number of training images and a few of them.
  static func dataGrid(_ data: PreparedSplit, count: Int, classes: Int?) -> Panel {
    let set = data.train
    let examples = examples(set, count: count)
    let counts = set.classCounts
    let shown = min(set.classCount, classes ?? set.classCount)
    var html = "<div class=\"vp-class-grid\">\n"
    for c in 0..<shown {
      let name = set.classNames[c]
      html +=
        "<div class=\"vp-class-card\"><p class=\"vp-class-name\">\(HTML.escape(name)) "
        + "<span class=\"vp-muted\">(\(counts[c]))</span></p>"
        + classStrip(set, indices: examples[c], className: name) + "</div>\n"
    }
    html += "</div>\n"
    var title =
      "Training images, \(count) per class (\(set.count) training, \(data.validation?.count ?? 0) validation, "
      + "\(data.test.count) test images in \(set.classCount) classes at \(set.side) px)"
    if shown < set.classCount { title += "; the first \(shown) classes" }
    return Panel(kind: .figure, title: title, html: html)
  }

  /// A run's learned prompt rebuilt from its δ (left untrained when δ does not fit the geometry) and σ, with
  /// no normalisation: the views draw what the model sees before it normalises its input.
  static func learnedPrompt(_ config: PromptConfig, delta: [Float], scale: Float = 1) -> VisualPrompt {
    let prompt = VisualPrompt(config, normalization: InputNormalization(mean: [0, 0, 0], std: [1, 1, 1]))
    if delta.count == prompt.delta.count { prompt.delta = delta }
    prompt.scale = scale
    return prompt
  }

  /// The prompt as the model sees it: the learned border (or additive pattern) around a grey placeholder.
  static func promptImage(_ prompt: VisualPrompt) -> Image {
    let s = prompt.config.canvas
    var pixels = prompt.visualization()
    if prompt.config.kind == .pad {
      // The image area comes back white; a light grey shows where the target image goes.
      for p in 0..<(s * s) where prompt.mask[p] == 0 {
        for c in 0..<3 { pixels[p * 3 + c] = 0.93 }
      }
    }
    return Image(width: s, height: s, channels: 3, pixels: pixels)
  }

  /// The prompt with its deviation from mid-grey stretched to fill [0, 1] (nil when it is already
  /// high-contrast or flat): small learned changes become visible.
  static func stretchedPrompt(_ prompt: VisualPrompt) -> (Image, Double)? {
    var pixels = prompt.visualization()
    let s = prompt.config.canvas
    var largest: Float = 0
    for p in 0..<(s * s) where prompt.mask[p] != 0 {
      for c in 0..<3 { largest = max(largest, abs(pixels[p * 3 + c] - 0.5)) }
    }
    guard largest > 1e-4, largest < 0.3 else { return nil }
    let factor = 0.5 / largest
    for p in 0..<(s * s) {
      for c in 0..<3 {
        pixels[p * 3 + c] = prompt.mask[p] != 0 ? 0.5 + (pixels[p * 3 + c] - 0.5) * factor : 0.93
      }
    }
    return (Image(width: s, height: s, channels: 3, pixels: pixels), Double(factor))
  }

  /// One target image with the prompt applied (zoomed by the learned scale, if any), clamped to [0, 1].
  static func promptedImage(_ prompt: VisualPrompt, image: [Float]) -> Image {
    let s = prompt.config.canvas
    var out = [Float](repeating: 0, count: s * s * 3)
    image.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { prompt.apply(src.baseAddress!, count: 1, into: $0.baseAddress!) }
    }
    return Image(width: s, height: s, channels: 3, pixels: out.map { min(1, max(0, $0)) })
  }

  /// `show prompt`: the learned prompt and a few prompted inputs, one per class.
  static func promptPanel(_ group: RunGroup, delta: [Float], data: PreparedSplit, count: Int) -> Panel {
    let config = group.prompt
    let seed = group.first?.seed ?? 0
    // `delta` is the first seed's prompt: so is the scale.
    let learned = group.first?.inputScale
    let prompt = learnedPrompt(config, delta: delta, scale: Float(learned ?? 1))
    let promptScale = config.canvas >= 192 ? 1.0 : (config.canvas >= 96 ? 2.0 : 3.0)
    var html = "<div class=\"vp-prompt-view\">\n<div class=\"vp-prompt-main\">"
    html += img(
      promptImage(prompt), alt: "the learned prompt of run \(group.name)",
      scale: promptScale)
    let kind = config.kind == .pad ? "padding prompt" : "watermark prompt"
    var caption = "learned \(kind), \(config.canvas) px canvas"
    if let learned { caption += ", learned input scale σ = \(NumberFormat.fixed(learned, decimals: 2))" }
    html += "<p class=\"vp-tile-caption\">\(caption)</p></div>\n"
    if let (stretched, factor) = stretchedPrompt(prompt) {
      html += "<div class=\"vp-prompt-main\">"
      html += img(stretched, alt: "the learned prompt of run \(group.name), contrast stretched", scale: promptScale)
      html +=
        "<p class=\"vp-tile-caption\">the same, contrast stretched ×\(NumberFormat.fixed(factor, decimals: factor < 10 ? 1 : 0))</p></div>\n"
    }
    let set = data.train
    let firsts = examples(set, count: 1)
    let classes = Array(0..<set.classCount).filter { !firsts[$0].isEmpty }.prefix(count)
    if !classes.isEmpty {
      html += "<div class=\"vp-prompt-grid\">\n"
      let tileScale = config.canvas >= 128 ? 1.0 : (config.canvas >= 64 ? 2.0 : 3.0)
      for c in classes {
        let name = set.classNames[c]
        let image = promptedImage(prompt, image: pixels(set, firsts[c][0]))
        html +=
          "<div class=\"vp-tile\">" + img(image, alt: "a prompted image of class \(name)", scale: tileScale)
          + "<p class=\"vp-tile-caption\">\(HTML.escape(name))</p></div>\n"
      }
      html += "</div>\n"
    }
    html += "</div>\n"
    let title =
      "The learned prompt of run \(group.name) (seed \(seed)) and what the frozen model sees: "
      + "\(config.imageSide) px target images "
      + (learned.map { "zoomed ×\(NumberFormat.fixed($0, decimals: 2)) " } ?? "")
      + (config.kind == .pad ? "inside a \(config.canvas) px canvas" : "with the prompt added")
    return Panel(kind: .figure, title: title, html: html)
  }
}
