import VPData
import VPEngine
import VPModels
import XCTest

/// Prompt geometry (REFERENCE.md §2), the forward `apply` and its gradient.
final class PromptTests: XCTestCase {
  let imageNet = InputNormalization.imageNet

  private func apply(_ prompt: VisualPrompt, _ images: [Float], count: Int) -> [Float] {
    let s = prompt.config.canvas
    var x = [Float](repeating: .nan, count: count * s * s * 3)
    images.withUnsafeBufferPointer { src in
      x.withUnsafeMutableBufferPointer { prompt.apply(src.baseAddress!, count: count, into: $0.baseAddress!) }
    }
    return x
  }

  // MARK: - Geometry

  func testPadOffsetIsLeftTopPadAndMaskIsZeroExactlyOverTheImage() {
    // (S, s, left/top pad (S − s + 1) / 2).
    for (canvas, image, expected) in [
      (128, 64, 32), (224, 127, 49), (224, 128, 48), (224, 32, 96), (33, 16, 9), (32, 32, 0), (35, 1, 17),
    ] {
      let prompt = VisualPrompt(PromptConfig(kind: .pad, canvas: canvas, image: image), normalization: imageNet)
      XCTAssertEqual(prompt.offset, expected, "S=\(canvas), s=\(image)")
      XCTAssertEqual(prompt.mask.count, canvas * canvas)
      var zeros = 0
      for y in 0..<canvas {
        for x in 0..<canvas {
          let inside = (expected..<(expected + image)).contains(y) && (expected..<(expected + image)).contains(x)
          let m = prompt.mask[y * canvas + x]
          if m == 0 { zeros += 1 }
          if inside != (m == 0) || (m != 0 && m != 1) {
            XCTFail("S=\(canvas), s=\(image): mask[\(y), \(x)] = \(m)")
            return
          }
        }
      }
      XCTAssertEqual(zeros, image * image)
      // Right/bottom pad (S − s) / 2.
      XCTAssertEqual(canvas - expected - image, (canvas - image) / 2, "S=\(canvas), s=\(image)")
      XCTAssertEqual(prompt.parameterCount, (canvas * canvas - image * image) * 3)
      XCTAssertEqual(prompt.delta.count, canvas * canvas * 3)
      XCTAssertTrue(prompt.delta.allSatisfy { $0 == 0 })
    }
  }

  func testAutoVPInputScalingBorders() {
    // r ∈ {0.5, 1, 1.5} → image 64 / 128 / 192 in 224 → border 80 / 48 / 16.
    for (r, image, border) in [(0.5, 64, 80), (1.0, 128, 48), (1.5, 192, 16)] {
      let config = PromptConfig.autoVPScale(r)
      XCTAssertEqual(config.canvas, 224)
      XCTAssertEqual(config.image, image)
      XCTAssertEqual(VisualPrompt(config, normalization: imageNet).offset, border)
    }
  }

  func testWatermarkFrameMaskWidth() {
    let s = 10
    for frame in [1, 2, 3] {
      let prompt = VisualPrompt(
        PromptConfig(kind: .watermark, canvas: s, image: s, frame: frame), normalization: imageNet)
      XCTAssertEqual(prompt.offset, 0)
      for y in 0..<s {
        for x in 0..<s {
          let distance = min(y, x, s - 1 - y, s - 1 - x)  // to the nearest edge
          XCTAssertEqual(prompt.mask[y * s + x], distance < frame ? 1 : 0, "frame \(frame): [\(y), \(x)]")
        }
      }
      XCTAssertEqual(prompt.parameterCount, (s * s - (s - 2 * frame) * (s - 2 * frame)) * 3)
    }
    // No frame: the whole image.
    let full = VisualPrompt(PromptConfig(kind: .watermark, canvas: s, image: 4), normalization: imageNet)
    XCTAssertTrue(full.mask.allSatisfy { $0 == 1 })
    XCTAssertEqual(full.config.imageSide, s)
  }

  func testValidateRejectsBadGeometry() {
    XCTAssertThrowsError(try PromptConfig(kind: .pad, canvas: 16, image: 8).validate())
    XCTAssertThrowsError(try PromptConfig(kind: .pad, canvas: 32, image: 33).validate())
    XCTAssertThrowsError(try PromptConfig(kind: .pad, canvas: 32, image: 0).validate())
    XCTAssertThrowsError(try PromptConfig(kind: .watermark, canvas: 32, image: 32, frame: 17).validate())
    XCTAssertThrowsError(try PromptConfig(kind: .watermark, canvas: 32, image: 32, frame: 0).validate())
    XCTAssertNoThrow(try PromptConfig(kind: .pad, canvas: 32, image: 16).validate())
    XCTAssertNoThrow(try PromptConfig(kind: .watermark, canvas: 32, image: 32, frame: 16).validate())
  }

  // MARK: - Forward

  /// At δ = 0 the border is sigmoid(0) = 0.5 grey before normalisation; the image passes through.
  func testPadApplyAtInitIsGreyBorderAndImagePassesThrough() {
    let (canvas, image, count) = (9, 4, 2)
    let prompt = VisualPrompt(PromptConfig(kind: .pad, canvas: canvas, image: image), normalization: imageNet)
    XCTAssertEqual(prompt.offset, 3)
    var rng = SplitMix64(seed: 1)
    let images = uniform(count * image * image * 3, &rng, 0, 1)
    let x = apply(prompt, images, count: count)
    let mean: [Float] = [0.485, 0.456, 0.406]
    let std: [Float] = [0.229, 0.224, 0.225]
    // The grey border in normalised units, (0.5 − mean) / std, at the top-left corner of the first image.
    XCTAssertEqual(x[0], 0.06550218, accuracy: 1e-6)
    XCTAssertEqual(x[1], 0.19642857, accuracy: 1e-6)
    XCTAssertEqual(x[2], 0.41777778, accuracy: 1e-6)
    for n in 0..<count {
      for y in 0..<canvas {
        for xx in 0..<canvas {
          for c in 0..<3 {
            let v = x[((n * canvas + y) * canvas + xx) * 3 + c]
            let iy = y - 3
            let ix = xx - 3
            let expected: Float
            if (0..<image).contains(iy) && (0..<image).contains(ix) {
              expected = (images[((n * image + iy) * image + ix) * 3 + c] - mean[c]) / std[c]
            } else {
              expected = (0.5 - mean[c]) / std[c]
            }
            if abs(v - expected) > 1e-5 {
              XCTFail("image \(n) [\(y), \(xx), \(c)]: \(v) vs \(expected)")
              return
            }
          }
        }
      }
    }
  }

  /// `x = (pad(img) + sigmoid(δ) ⊙ M − mean) / std` with a non-zero δ (δ under the image is ignored).
  func testPadApplyWithDeltaUsesSigmoidOnTheBorderOnly() {
    let (canvas, image) = (8, 4)
    let norm = InputNormalization(mean: [0.1, 0.2, 0.3], std: [0.5, 2, 4])
    let prompt = VisualPrompt(PromptConfig(kind: .pad, canvas: canvas, image: image), normalization: norm)
    var rng = SplitMix64(seed: 2)
    prompt.delta = uniform(prompt.delta.count, &rng, -4, 4)
    let images = uniform(image * image * 3, &rng, 0, 1)
    let x = apply(prompt, images, count: 1)
    let off = prompt.offset
    XCTAssertEqual(off, 2)
    for y in 0..<canvas {
      for xx in 0..<canvas {
        for c in 0..<3 {
          let i = (y * canvas + xx) * 3 + c
          let inside = (off..<(off + image)).contains(y) && (off..<(off + image)).contains(xx)
          let raw: Float =
            inside
            ? images[((y - off) * image + (xx - off)) * 3 + c]
            : 1 / (1 + Foundation.exp(-prompt.delta[i]))
          XCTAssertEqual(x[i], (raw - norm.mean[c]) / norm.std[c], accuracy: 1e-5, "[\(y), \(xx), \(c)]")
        }
      }
    }
  }

  /// Watermark: `x = (img + δ ⊙ M − mean) / std`, no sigmoid, unclamped.
  func testWatermarkApplyAddsDeltaOnTheFrameUnclamped() {
    let s = 8
    let norm = InputNormalization(mean: [0.1, 0.2, 0.3], std: [0.5, 2, 4])
    let prompt = VisualPrompt(PromptConfig(kind: .watermark, canvas: s, image: s, frame: 2), normalization: norm)
    var rng = SplitMix64(seed: 3)
    prompt.delta = uniform(prompt.delta.count, &rng, -3, 3)
    let images = uniform(2 * s * s * 3, &rng, 0, 1)
    let x = apply(prompt, images, count: 2)
    for n in 0..<2 {
      for p in 0..<(s * s) {
        for c in 0..<3 {
          let raw = images[(n * s * s + p) * 3 + c] + (prompt.mask[p] == 1 ? prompt.delta[p * 3 + c] : 0)
          XCTAssertEqual(x[(n * s * s + p) * 3 + c], (raw - norm.mean[c]) / norm.std[c], accuracy: 1e-5)
        }
      }
    }
  }

  func testVisualizationShowsTheGreyBorderAtInit() {
    let prompt = VisualPrompt(PromptConfig(kind: .pad, canvas: 8, image: 4), normalization: imageNet)
    let v = prompt.visualization()
    XCTAssertEqual(v.count, 8 * 8 * 3)
    for p in 0..<64 where prompt.mask[p] == 1 { XCTAssertEqual(v[p * 3], 0.5, accuracy: 1e-7) }
    let wm = VisualPrompt(PromptConfig(kind: .watermark, canvas: 8, image: 8), normalization: imageNet)
    wm.delta = (0..<wm.delta.count).map { Float($0 % 3) - 1 }  // −1, 0, 1 → 0 (clamped), 0.5, 1 (clamped)
    let w = wm.visualization()
    XCTAssertEqual(Array(w[0..<3]), [0, 0.5, 1])
  }

  // MARK: - Gradient

  /// `VisualPrompt.gradient` against central differences of `L(δ) = Σ G ⊙ apply(δ)` for a random `G`.
  private func checkGradient(
    _ config: PromptConfig, normalization: InputNormalization, seed: UInt64, line: UInt = #line
  ) {
    let prompt = VisualPrompt(config, normalization: normalization)
    var rng = SplitMix64(seed: seed)
    prompt.delta = uniform(prompt.delta.count, &rng, -2, 2)
    let side = config.imageSide
    let count = 3
    let images = uniform(count * side * side * 3, &rng, 0, 1)
    let s = config.canvas
    let g = uniform(count * s * s * 3, &rng)
    let analytic = g.withUnsafeBufferPointer { prompt.gradient($0.baseAddress!, count: count) }
    XCTAssertEqual(analytic.count, s * s * 3, line: line)
    let h: Float = 1e-2
    var worst = 0.0
    for i in 0..<prompt.delta.count {
      let d0 = prompt.delta[i]
      prompt.delta[i] = d0 + h
      let lp = dot(g, apply(prompt, images, count: count))
      prompt.delta[i] = d0 - h
      let lm = dot(g, apply(prompt, images, count: count))
      prompt.delta[i] = d0
      let fd = (lp - lm) / Double(2 * h)
      if prompt.mask[i / 3] == 0 {
        XCTAssertEqual(analytic[i], 0, "\(config.kind): gradient under the image at \(i)", line: line)
        XCTAssertEqual(fd, 0, accuracy: 1e-9, line: line)
      }
      let error = abs(Double(analytic[i]) - fd)
      worst = max(worst, error / max(1, abs(fd)))
      if error > 2e-3 * max(1, abs(fd)) {
        XCTFail("\(config.kind): ∂L/∂δ[\(i)] = \(analytic[i]), finite difference \(fd)", line: line)
        return
      }
    }
    // The check is not vacuous.
    XCTAssertGreaterThan(analytic.map { abs($0) }.max()!, 0.1, line: line)
  }

  func testPadGradientMatchesFiniteDifferences() {
    checkGradient(PromptConfig(kind: .pad, canvas: 8, image: 4), normalization: imageNet, seed: 10)
    checkGradient(
      PromptConfig(kind: .pad, canvas: 7, image: 4),
      normalization: InputNormalization(mean: [0.1, 0.2, 0.3], std: [0.5, 2, 4]),
      seed: 11)
  }

  func testWatermarkGradientMatchesFiniteDifferences() {
    checkGradient(PromptConfig(kind: .watermark, canvas: 8, image: 8), normalization: imageNet, seed: 12)
    checkGradient(PromptConfig(kind: .watermark, canvas: 8, image: 8, frame: 2), normalization: imageNet, seed: 13)
  }

  /// The gradient sums over the batch.
  func testGradientIsLinearInTheBatch() {
    let prompt = VisualPrompt(PromptConfig(kind: .pad, canvas: 8, image: 4), normalization: imageNet)
    var rng = SplitMix64(seed: 14)
    prompt.delta = uniform(prompt.delta.count, &rng)
    let a = uniform(8 * 8 * 3, &rng)
    let b = uniform(8 * 8 * 3, &rng)
    let both = (a + b).withUnsafeBufferPointer { prompt.gradient($0.baseAddress!, count: 2) }
    let ga = a.withUnsafeBufferPointer { prompt.gradient($0.baseAddress!, count: 1) }
    let gb = b.withUnsafeBufferPointer { prompt.gradient($0.baseAddress!, count: 1) }
    assertClose(both, zip(ga, gb).map { $0 + $1 }, tolerance: 1e-6, "batch of two")
  }

  // MARK: - AutoVP's learnable input scale

  private struct ScaleFixture: Decodable {
    struct Case: Decodable {
      var canvas: Int
      var image: Int
      var scale: Double
      var count: Int
      var images: [Float]
      var delta: [Float]
      var upstream: [Float]
      var mask: [Float]
      var x: [Float]
      var dscale: Double?
      var ddelta: [Float]
    }
    var cases: [Case]
  }

  /// Forward pass, moved border and both gradients against the numpy reference (`make_scale_fixture.py`).
  func testLearnableScaleMatchesTheNumpyReference() throws {
    let fixture = try loadFixture("input_scale", as: ScaleFixture.self)
    XCTAssertEqual(fixture.cases.count, 4)
    for f in fixture.cases {
      let what = "S=\(f.canvas) s=\(f.image) σ=\(f.scale)"
      let prompt = VisualPrompt(
        PromptConfig(kind: .pad, canvas: f.canvas, image: f.image, learnableScale: true), normalization: imageNet)
      prompt.delta = f.delta
      prompt.scale = Float(f.scale)
      XCTAssertEqual(prompt.mask, f.mask, what)
      assertClose(apply(prompt, f.images, count: f.count), f.x, tolerance: 1e-5, what)
      let gDelta = f.upstream.withUnsafeBufferPointer { prompt.gradient($0.baseAddress!, count: f.count) }
      assertClose(gDelta, f.ddelta, tolerance: 1e-4, what + ": ∂L/∂δ")
      if let expected = f.dscale {
        let g = f.upstream.withUnsafeBufferPointer { gx in
          f.images.withUnsafeBufferPointer {
            prompt.scaleGradient(gx.baseAddress!, images: $0.baseAddress!, count: f.count)
          }
        }
        XCTAssertEqual(g, expected, accuracy: 1e-4 * abs(expected), what + ": ∂L/∂σ")
      }
    }
  }

  /// At σ = 1 the learnable-scale path is the fixed pad prompt, value for value; the scale stays in AutoVP's
  /// range [0.1, 5] and is ignored by a prompt without it.
  func testLearnableScaleAtOneIsThePlainPadPromptAndIsClamped() {
    var rng = SplitMix64(seed: 21)
    let images = uniform(2 * 6 * 6 * 3, &rng, 0, 1)
    let plain = VisualPrompt(PromptConfig(kind: .pad, canvas: 13, image: 6), normalization: imageNet)
    let scaled = VisualPrompt(
      PromptConfig(kind: .pad, canvas: 13, image: 6, learnableScale: true), normalization: imageNet)
    plain.delta = uniform(plain.delta.count, &rng, -2, 2)
    scaled.delta = plain.delta
    XCTAssertEqual(apply(scaled, images, count: 2), apply(plain, images, count: 2))
    XCTAssertEqual(scaled.mask, plain.mask)
    XCTAssertEqual(scaled.parameterCount, plain.parameterCount + 1)
    scaled.scale = 9
    XCTAssertEqual(scaled.scale, 5)
    XCTAssertEqual(scaled.scaledSide, 13)  // int(6 · 5) cut to the canvas: no border left
    XCTAssertTrue(scaled.mask.allSatisfy { $0 == 0 })
    scaled.scale = 0.01
    XCTAssertEqual(scaled.scale, 0.1)
    XCTAssertEqual(scaled.scaledSide, 0)
    plain.scale = 2
    XCTAssertEqual(plain.scale, 1)
    XCTAssertThrowsError(
      try PromptConfig(kind: .watermark, canvas: 32, image: 32, learnableScale: true).validate())
  }

  /// A config written before the learnable scale existed decodes with it off, and one without it encodes as before.
  func testPromptConfigJSONWithoutTheScaleKey() throws {
    let old = #"{"canvas":128,"image":64,"kind":"pad"}"#
    let config = try JSONDecoder().decode(PromptConfig.self, from: Data(old.utf8))
    XCTAssertEqual(config, PromptConfig(kind: .pad, canvas: 128, image: 64))
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    XCTAssertEqual(String(decoding: try encoder.encode(config), as: UTF8.self), old)
    let on = PromptConfig(kind: .pad, canvas: 128, image: 64, learnableScale: true)
    XCTAssertEqual(try JSONDecoder().decode(PromptConfig.self, from: try encoder.encode(on)), on)
  }
}
