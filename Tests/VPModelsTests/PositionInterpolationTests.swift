import Foundation
import VPCheckpoint
import VPModels
import VPTensor
import VPTestSupport
import XCTest

/// The fixture written by `Reference/make_position_interpolation_fixture.py`: the small ViT and the small CLIP
/// (16 px, patch 4) run by PyTorch at other canvases, their patch positions resized with
/// `F.interpolate(mode="bicubic", align_corners=False)`, and PyTorch's bicubic kernel on a small grid.
struct PositionInterpolationFixture: Decodable {
  struct Stored: Decodable {
    var shape: [Int]
    var data: [Float]
  }
  struct KernelCase: Decodable {
    var size: [Int]
    var align_corners: Bool
    /// `[h, w, 3]`, channels-last.
    var y: Stored
  }
  struct Kernel: Decodable {
    /// `[4, 4, 3]`, channels-last.
    var x: Stored
    var cases: [KernelCase]
  }
  struct Case: Decodable {
    /// The canvas and the batch.
    var S: Int
    var N: Int
    /// The interpolated embedding `[1 + (S/4)², D]`, class token first.
    var positions: Stored
    /// `[N, S, S, 3]`, channels-last; `[N, classes]`: the loss is `Σ G ⊙ logits`.
    var x: Stored
    var G: Stored
    var logits: Stored
    /// `∂(Σ G ⊙ logits)/∂x`, channels-last.
    var gradient: Stored
  }
  var kernel: Kernel
  var vit_small: [Case]
  var clip_small: [Case]

  static let shared: PositionInterpolationFixture = {
    try! loadFixture("position_interpolation", as: PositionInterpolationFixture.self, in: .module)
  }()
}

/// ViT and CLIP at canvases other than their checkpoint's: the patch part of the positional embedding resized
/// bicubically (PyTorch's `align_corners=False`), against PyTorch.
final class PositionInterpolationTests: XCTestCase {
  typealias Fixture = PositionInterpolationFixture

  func path(_ name: String, _ ext: String) throws -> String { try fixtureURL(name, ext, in: .module).path }

  func smallViT() throws -> ImageClassifier {
    try VisionTransformer.load(CheckpointWeights(path: try path("vit_small", "pth")), name: "vit_small", heads: 2)
  }

  func smallCLIP(_ name: String = "clip_small", _ ext: String = "pth") throws -> ImageClassifier {
    let clip = try CLIP.load(path: try path(name, ext))
    return clip.classifier(textEmbeddings: try clip.textEmbeddings(tokenIDs: CLIPFixture.shared.folded_token_ids))
  }

  /// The model's `ClassTokenEmbedding` (inside the ViT or the CLIP image tower, the body's first layer).
  func embedding(of m: ImageClassifier) throws -> ClassTokenEmbedding {
    let network: Sequential
    switch m.body.layers.first {
    case let vit as VisionTransformer: network = vit.network
    case let encoder as CLIPImageEncoder: network = encoder.network
    default: throw XCTSkip("no vision transformer in \(m.name)")
    }
    return try XCTUnwrap(network.layers.lazy.compactMap { $0 as? ClassTokenEmbedding }.first)
  }

  /// `max |a − b| / max |b|`: the error relative to the largest expected magnitude (no floor).
  func relative(_ actual: [Float], _ expected: [Float]) -> Float {
    XCTAssertEqual(actual.count, expected.count)
    let largest = expected.map(abs).max() ?? 0
    let difference = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    return largest > 0 ? difference / largest : difference
  }

  /// `(logits, ∂(Σ G ⊙ logits)/∂x)` for a case's input.
  func run(_ m: ImageClassifier, _ f: Fixture.Case) -> (logits: Tensor, gradient: Tensor) {
    let (g, k) = (f.G.data, m.classCount)
    return m.inputGradient(Tensor(shape: f.x.shape, data: f.x.data)) { _, range in
      Array(g[(range.lowerBound * k)..<(range.upperBound * k)])
    }
  }

  /// The interpolated embedding, the logits and the input gradient of each case, each within 1e-4 of PyTorch's
  /// relative to its largest magnitude.
  func check(_ m: ImageClassifier, _ cases: [Fixture.Case], _ what: String) throws {
    let embed = try embedding(of: m)
    for f in cases {
      let label = "\(what) at \(f.S)"
      XCTAssertNoThrow(try m.checkInput(side: f.S), label)
      let grid = f.S / 4
      let positions = embed.positions(rows: grid, columns: grid)
      XCTAssertEqual(positions.count, f.positions.data.count, label)
      let (logits, gradient) = run(m, f)
      XCTAssertEqual(logits.shape, f.logits.shape, label)
      XCTAssertEqual(gradient.shape, f.gradient.shape, label)
      let errors = (
        positions: relative(positions, f.positions.data), logits: relative(logits.data, f.logits.data),
        gradient: relative(gradient.data, f.gradient.data)
      )
      XCTAssertLessThanOrEqual(errors.positions, 1e-6, "\(label): positions")
      XCTAssertLessThanOrEqual(errors.logits, 1e-4, "\(label): logits")
      XCTAssertLessThanOrEqual(errors.gradient, 1e-4, "\(label): gradient")
      print(
        String(
          format: "%@: relative error positions %.2e, logits %.2e, gradient %.2e", label, errors.positions,
          errors.logits, errors.gradient))
    }
  }

  func testBicubicKernelMatchesPyTorchWithAndWithoutAlignedCorners() {
    let k = Fixture.shared.kernel
    for c in k.cases {
      let y = BicubicInterpolation.resize(
        k.x.data, height: 4, width: 4, channels: 3, toHeight: c.size[0], toWidth: c.size[1],
        alignCorners: c.align_corners)
      assertClose(y, c.y.data, tolerance: 1e-6, relativeTo: .eachExpected(floor: 1), "\(c.size) \(c.align_corners)")
    }
    // The two rules differ (torchvision's interpolate_embeddings aligns the corners; Hugging Face does not) …
    let sizes = k.cases.filter { $0.size == [6, 6] }
    XCTAssertEqual(sizes.count, 2)
    XCTAssertGreaterThan(relative(sizes[0].y.data, sizes[1].y.data), 1e-2)
    // … and at the same size both give the grid back exactly.
    for align in [false, true] {
      XCTAssertEqual(
        BicubicInterpolation.resize(
          k.x.data, height: 4, width: 4, channels: 3, toHeight: 4, toWidth: 4, alignCorners: align),
        k.x.data)
    }
  }

  func testViTAtLargerAndSmallerCanvasesMatchesPyTorch() throws {
    try check(try smallViT(), Fixture.shared.vit_small, "ViT")
  }

  func testCLIPAtLargerAndSmallerCanvasesMatchesPyTorchInEveryLayout() throws {
    for (name, ext) in [("clip_small", "pth"), ("clip_small", "safetensors"), ("clip_small_hf", "safetensors")] {
      try check(try smallCLIP(name, ext), Fixture.shared.clip_small, "CLIP \(name).\(ext)")
    }
  }

  /// At the checkpoint's canvas the stored embedding is used as it is, and running the same loaded model at
  /// other canvases (which builds and keeps their embeddings) leaves its numbers bit for bit unchanged.
  func testCheckpointCanvasUsesTheStoredEmbeddingBitForBit() throws {
    let vit = ViTFixtures.shared.vit_small.x
    let clip = CLIPFixture.shared.x
    let models: [(ImageClassifier, Tensor, [Fixture.Case])] = [
      (try smallViT(), Tensor(shape: vit.shape, data: vit.data), Fixture.shared.vit_small),
      (try smallCLIP(), Tensor(shape: clip.shape, data: clip.data), Fixture.shared.clip_small),
    ]
    for (m, x, cases) in models {
      let embed = try embedding(of: m)
      XCTAssertEqual(embed.grid, 4)
      XCTAssertEqual(embed.positions(rows: 4, columns: 4), embed.positions, m.name)
      let k = m.classCount
      let loss: @Sendable ([Float], Range<Int>) -> [Float] = { _, range in
        [Float](repeating: 0.25, count: range.count * k)
      }
      let before = m.inputGradient(x, lossGradient: loss)
      for f in cases { _ = run(m, f) }
      let after = m.inputGradient(x, lossGradient: loss)
      XCTAssertEqual(before.logits.data.map(\.bitPattern), after.logits.data.map(\.bitPattern), m.name)
      XCTAssertEqual(before.gradient.data.map(\.bitPattern), after.gradient.data.map(\.bitPattern), m.name)
    }
  }

  /// Micro-batches of one image on both workers ask for the same new grid at once: the same numbers.
  func testWorkersShareOneInterpolatedEmbedding() throws {
    let f = Fixture.shared.vit_small[1]
    XCTAssertEqual(f.N, 2)
    var results: [(logits: Tensor, gradient: Tensor)] = []
    for size in [1, 2] {
      let m = try smallViT()
      m.microBatchOverride = size
      results.append(run(m, f))
    }
    XCTAssertLessThan(results[1].logits.maxRelativeDifference(to: results[0].logits), 1e-6)
    XCTAssertLessThan(results[1].gradient.maxRelativeDifference(to: results[0].gradient), 1e-6)
  }

  /// A canvas that is not a whole grid of patches is refused, naming the model, the patch size and the nearest
  /// canvases that work.
  func testACanvasThatIsNotAMultipleOfThePatchIsAnError() throws {
    for m in [try smallViT(), try smallCLIP()] {
      XCTAssertEqual(m.patches, PatchGeometry(imageSize: 16, patchSize: 4))
      XCTAssertEqual(m.inputSide, 16)
      for side in [4, 8, 16, 24, 224] { XCTAssertNoThrow(try m.checkInput(side: side), "\(m.name) \(side)") }
      XCTAssertThrowsError(try m.checkInput(side: 18)) { error in
        XCTAssertEqual(
          "\(error)",
          "\(m.name): takes inputs whose side is a multiple of its patch size 4 (a whole grid of patches), not "
            + "18×18; use canvas=16 or canvas=20")
      }
      XCTAssertThrowsError(try m.checkInput(side: 3)) { error in
        XCTAssertTrue("\(error)".hasSuffix("not 3×3; use canvas=4"), "\(error)")
      }
    }
  }
}
