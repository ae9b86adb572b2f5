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

  /// A run's learned prompt rebuilt from its values (left untrained when they do not fit the geometry) and σ,
  /// with no normalisation: the views draw what the model sees before it normalises its input.
  static func learnedPrompt(_ config: PromptConfig, delta: [Float], scale: Float = 1) -> any InputPrompt {
    let prompt = config.makePrompt(normalization: InputNormalization(mean: [0, 0, 0], std: [1, 1, 1]), seed: 0)
    if delta.count == prompt.values.count { prompt.values = delta }
    prompt.scale = scale
    return prompt
  }

  /// Where the prompt acts on the canvas (`[S, S]`): the pad prompt's border or the watermark's frame; every
  /// pixel for the full-image families.
  static func area(_ prompt: any InputPrompt) -> [Bool] {
    if let fixed = prompt as? VisualPrompt { return fixed.mask.map { $0 != 0 } }
    return [Bool](repeating: true, count: prompt.config.canvas * prompt.config.canvas)
  }

  /// The prompt as the model sees it: the learned border (or additive pattern) around a grey placeholder.
  static func promptImage(_ prompt: any InputPrompt) -> Image {
    let s = prompt.config.canvas
    var pixels = prompt.visualization()
    if prompt.config.kind == .pad {
      // The image area comes back white; a light grey shows where the target image goes.
      for (p, acts) in area(prompt).enumerated() where !acts {
        for c in 0..<3 { pixels[p * 3 + c] = 0.93 }
      }
    }
    return Image(width: s, height: s, channels: 3, pixels: pixels)
  }

  /// The prompt with its deviation from mid-grey stretched to fill [0, 1] (nil when it is already
  /// high-contrast or flat): small learned changes become visible.
  static func stretchedPrompt(_ prompt: any InputPrompt) -> (Image, Double)? {
    stretched(prompt.visualization(), side: prompt.config.canvas, area: area(prompt))
  }

  /// `pixels` (`[S, S, 3]` around mid-grey) with their deviation from 0.5 stretched to fill [0, 1] inside
  /// `area` (light grey outside); nil when already high-contrast or flat.
  static func stretched(_ pixels: [Float], side s: Int, area: [Bool]) -> (Image, Double)? {
    var pixels = pixels
    var largest: Float = 0
    for p in 0..<(s * s) where area[p] {
      for c in 0..<3 { largest = max(largest, abs(pixels[p * 3 + c] - 0.5)) }
    }
    guard largest > 1e-4, largest < 0.3 else { return nil }
    let factor = 0.5 / largest
    for p in 0..<(s * s) {
      for c in 0..<3 {
        pixels[p * 3 + c] = area[p] ? 0.5 + (pixels[p * 3 + c] - 0.5) * factor : 0.93
      }
    }
    return (Image(width: s, height: s, channels: 3, pixels: pixels), Double(factor))
  }

  /// One target image with the prompt applied (zoomed by the learned scale, if any), clamped to [0, 1].
  static func promptedImage(_ prompt: any InputPrompt, image: [Float]) -> Image {
    let s = prompt.config.canvas
    var out = [Float](repeating: 0, count: s * s * 3)
    image.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { prompt.apply(src.baseAddress!, count: 1, into: $0.baseAddress!) }
    }
    return Image(width: s, height: s, channels: 3, pixels: out.map { min(1, max(0, $0)) })
  }

  /// `show prompt`: the learned prompt and a few prompted inputs, one per class.
  static func promptPanel(_ group: RunGroup, delta: [Float], data: PreparedSplit, count: Int) -> [Panel] {
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
    let kind = [
      "pad": "padding prompt", "watermark": "watermark prompt", "lowrank": "low-rank prompt B·A",
      "smm": "shared SMM pattern δ",
    ][config.kind.rawValue]!
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
    var panels = [Panel(kind: .figure, title: title, html: html)]
    if let lowRank = prompt as? LowRankPrompt { panels.append(rankFactors(lowRank, group: group)) }
    if let masked = prompt as? MaskedPrompt {
      panels.append(sampleMasks(masked, group: group, data: data, count: count))
    }
    return panels
  }

  /// SMM: test images (one per class) with their own masks and their prompted inputs; the masks share one
  /// colour scale (mid-grey is 0, each channel drawn in its colour), so differences between images show.
  static func sampleMasks(_ prompt: MaskedPrompt, group: RunGroup, data: PreparedSplit, count: Int) -> Panel {
    let s = prompt.config.canvas
    let set = data.test
    let firsts = examples(set, count: 1)
    let classes = Array(0..<set.classCount).filter { !firsts[$0].isEmpty }.prefix(max(1, count))
    let images = classes.flatMap { pixels(set, firsts[$0][0]) }
    let side = s / SampleMaskNetwork.patch
    let masks = images.withUnsafeBufferPointer { prompt.masks($0.baseAddress!, count: classes.count) }
    let largest = max(masks.map(abs).max() ?? 0, 1e-12)
    // How much the masks differ between images, against their size: 0 would be one shared mask.
    var spread = 0.0
    var size = 0.0
    let per = side * side * 3
    for i in 0..<per {
      let column = (0..<classes.count).map { Double(masks[$0 * per + i]) }
      let mean = column.reduce(0, +) / Double(column.count)
      spread += column.reduce(0) { $0 + abs($1 - mean) }
      size += column.reduce(0) { $0 + abs($1) }
    }
    let tileScale = s >= 128 ? 1.0 : (s >= 64 ? 2.0 : 3.0)
    var html = "<div class=\"vp-smm-grid\">\n"
    for (row, c) in classes.enumerated() {
      let name = set.classNames[c]
      let image = Array(images[(row * s * s * 3)..<((row + 1) * s * s * 3)])
      var enlarged = [Float](repeating: 0, count: s * s * 3)
      for y in 0..<s {
        for x in 0..<s {
          for ch in 0..<3 {
            let m = masks[row * per + ((y / SampleMaskNetwork.patch) * side + x / SampleMaskNetwork.patch) * 3 + ch]
            enlarged[(y * s + x) * 3 + ch] = 0.5 + 0.5 * m / largest
          }
        }
      }
      html += "<div class=\"vp-smm-row\">"
      html += img(
        Image(width: s, height: s, channels: 3, pixels: image), alt: "test image of class \(name)", scale: tileScale)
      html += img(
        Image(width: s, height: s, channels: 3, pixels: enlarged), alt: "its mask", scale: tileScale)
      html += img(promptedImage(prompt, image: image), alt: "its prompted input", scale: tileScale)
      html += "<p class=\"vp-tile-caption\">\(HTML.escape(name))</p></div>\n"
    }
    html += "</div>\n"
    let differ = size > 0 ? NumberFormat.fixed(100 * spread / size, decimals: 0) : "0"
    return Panel(
      kind: .figure,
      title:
        "SMM's sample-specific masks of run \(group.name): test images, each one's own mask (\(SampleMaskNetwork.patch) × "
        + "\(SampleMaskNetwork.patch) px patches; mid-grey is 0, ±\(NumberFormat.fixed(Double(largest), decimals: 2)) at "
        + "the ends) and its prompted input. Across these images the masks differ from their mean by \(differ) % of "
        + "their magnitude",
      html: html)
  }

  /// A low-rank prompt's rank-one components `B[:, k] · A[k, :]` (all three channels), each contrast-stretched
  /// on its own, with its share of the pattern's squared norm: the few patterns the prompt is made of.
  static func rankFactors(_ prompt: LowRankPrompt, group: RunGroup) -> Panel {
    let s = prompt.config.canvas
    let r = prompt.rank
    let components = (0..<r).map { k -> [Float] in
      var pixels = [Float](repeating: 0, count: s * s * 3)
      for c in 0..<3 {
        for y in 0..<s {
          let bv = prompt.b[(c * s + y) * r + k]
          for x in 0..<s { pixels[(y * s + x) * 3 + c] = bv * prompt.a[(c * r + k) * s + x] }
        }
      }
      return pixels
    }
    let energies = components.map { $0.reduce(0.0) { $0 + Double($1 * $1) } }
    let total = max(energies.reduce(0, +), 1e-30)
    let scale = s >= 128 ? 1.0 : (s >= 64 ? 2.0 : 3.0)
    var html = "<div class=\"vp-prompt-grid\">\n"
    for (k, pixels) in components.enumerated() {
      let largest = max(pixels.map(abs).max() ?? 0, 1e-12)
      let shown = Image(width: s, height: s, channels: 3, pixels: pixels.map { 0.5 + 0.5 * $0 / largest })
      let share = NumberFormat.fixed(100 * energies[k] / total, decimals: 0)
      html +=
        "<div class=\"vp-tile\">" + img(shown, alt: "rank-one component \(k + 1) of run \(group.name)", scale: scale)
        + "<p class=\"vp-tile-caption\">component \(k + 1): \(share) % of the norm²</p></div>\n"
    }
    html += "</div>\n"
    return Panel(
      kind: .figure,
      title:
        "The \(r) rank-one components B[:, k]·A[k, :] of run \(group.name)'s low-rank prompt, each stretched to its "
        + "own range (mid-grey is 0)",
      html: html)
  }
}
