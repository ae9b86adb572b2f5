import Foundation
import VPCheckpoint
import VPModels
import VPTensor
import VPTestSupport
import XCTest

/// The Vision Transformer fixtures written by `Reference/make_vit_fixture.py`: torchvision's
/// `VisionTransformer` with random weights, run by PyTorch in float64 (eval mode).
struct ViTFixtures: Decodable {
  struct Stored: Decodable {
    var shape: [Int]
    var data: [Float]
  }
  struct Case: Decodable {
    var heads: Int
    var N: Int
    var S: Int
    /// `[N, S, S, 3]`, channels-last.
    var x: Stored
    /// `[N, classes]`: the loss is `Σ G ⊙ logits`.
    var G: Stored
    var logits: Stored
    /// `∂(Σ G ⊙ logits)/∂x`, channels-last.
    var gradient: Stored
  }
  var vit_small: Case
  var vit_legacy: Case

  static let shared: ViTFixtures = { try! loadFixture("vit", as: ViTFixtures.self, in: .module) }()
}

final class VisionTransformerTests: XCTestCase {
  func path(_ name: String, _ ext: String) throws -> String { try fixtureURL(name, ext, in: .module).path }

  /// `(logits, ∂(Σ G ⊙ logits)/∂x)` for the fixture's input.
  func run(_ m: ImageClassifier, _ f: ViTFixtures.Case) -> (logits: Tensor, gradient: Tensor) {
    let g = f.G.data
    let k = m.classCount
    return m.inputGradient(Tensor(shape: f.x.shape, data: f.x.data)) { _, range in
      Array(g[(range.lowerBound * k)..<(range.upperBound * k)])
    }
  }

  /// The worst relative errors of the logits and the input gradient, each asserted ≤ 1e-4.
  @discardableResult
  func check(_ m: ImageClassifier, _ f: ViTFixtures.Case, _ what: String) -> (logits: Float, gradient: Float) {
    let (logits, gradient) = run(m, f)
    XCTAssertEqual(logits.shape, f.logits.shape, what)
    XCTAssertEqual(gradient.shape, f.gradient.shape, what)
    assertClose(logits.data, f.logits.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) logits")
    assertClose(gradient.data, f.gradient.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) gradient")
    return (
      logits.maxRelativeDifference(to: Tensor(shape: f.logits.shape, data: f.logits.data)),
      gradient.maxRelativeDifference(to: Tensor(shape: f.gradient.shape, data: f.gradient.data))
    )
  }

  func small(_ ext: String) throws -> ImageClassifier {
    try VisionTransformer.load(
      CheckpointWeights(path: try path("vit_small", ext)), name: "vit_small", heads: ViTFixtures.shared.vit_small.heads)
  }

  func testSizesAreReadFromTheShapes() throws {
    let small = try VisionTransformer.configuration(
      of: CheckpointWeights(path: try path("vit_small", "pth")), heads: 2)
    XCTAssertEqual(
      small,
      .init(imageSize: 16, patchSize: 4, hiddenDim: 32, mlpDim: 32, layers: 2, heads: 2, classes: 10))
    let legacy = try VisionTransformer.configuration(of: CheckpointWeights(path: try path("vit_legacy", "pth")))
    XCTAssertEqual(
      legacy,
      .init(
        imageSize: 8, patchSize: 4, hiddenDim: 64, mlpDim: 16, layers: 1, heads: 1, representationSize: 16,
        classes: 5))
    XCTAssertEqual(small.tokens, 17)
  }

  func testHeadCountRule() {
    XCTAssertEqual(VisionTransformer.Configuration.defaultHeads(hiddenDim: 768), 12)  // B/16, B/32
    XCTAssertEqual(VisionTransformer.Configuration.defaultHeads(hiddenDim: 1024), 16)  // L/16, L/32
    XCTAssertEqual(VisionTransformer.Configuration.defaultHeads(hiddenDim: 1280), 16)  // H/14: heads of 80
    XCTAssertEqual(VisionTransformer.Configuration.defaultHeads(hiddenDim: 64), 1)
    XCTAssertNil(VisionTransformer.Configuration.defaultHeads(hiddenDim: 32))
  }

  func testSmallViTFromZipCheckpointMatchesPyTorch() throws {
    check(try small("pth"), ViTFixtures.shared.vit_small, "ViT (.pth)")
  }

  func testSmallViTFromSafetensorsMatchesPyTorch() throws {
    check(try small("safetensors"), ViTFixtures.shared.vit_small, "ViT (.safetensors)")
  }

  /// Old `mlp.linear_1`/`mlp.linear_2` keys, `heads.pre_logits` + tanh, and the hidden/64 head rule, loaded
  /// the way `model vit_b_16 weights=PATH` loads.
  func testLegacyKeysAndPreLogitsThroughTheModelZooMatchPyTorch() throws {
    let m = try ModelZoo.load(.vitB16, weights: try path("vit_legacy", "pth"))
    XCTAssertEqual(m.name, "vit_b_16")
    XCTAssertEqual(m.inputSide, 8)
    XCTAssertEqual(m.featureCount, 16)
    XCTAssertEqual(m.normalization, .imageNet)
    check(m, ViTFixtures.shared.vit_legacy, "ViT (legacy keys, pre-logits)")
  }

  func testViTNeedsExplicitWeights() {
    XCTAssertNil(ModelName.vitB16.defaultWeights)
    XCTAssertThrowsError(try ModelZoo.load(.vitB32)) { error in
      XCTAssertTrue("\(error)".contains("no pretrained weights ship for vit_b_32"), "\(error)")
    }
  }

  /// Writes the small checkpoint with `edit` applied as a safetensors file and returns the load error.
  func loadError(_ edit: (inout [(String, CheckpointTensor)]) -> Void) throws -> String {
    let original = try loadCheckpoint(try path("vit_small", "pth"))
    var entries = original.entries.map { ($0.name, $0.tensor) }
    edit(&entries)
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("vit-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: file) }
    try Safetensors.write(StateDict(entries), to: file.path)
    do {
      _ = try VisionTransformer.load(CheckpointWeights(path: file.path), name: "vit", heads: 2)
      XCTFail("the edited checkpoint loaded")
      return ""
    } catch {
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix(file.path + ": "), "the error names the file: \(text)")
      return String(text.dropFirst(file.path.count + 2))
    }
  }

  func testMissingExtraAndMisshapedKeysAreErrorsNamingTheKeyAndTheFile() throws {
    let ln = "encoder.layers.encoder_layer_1.ln_2.bias"
    XCTAssertEqual(
      try loadError { $0.removeAll { $0.0 == ln } }, "missing key '\(ln)' (expected shape [32])")
    XCTAssertEqual(
      try loadError { $0.append(("encoder.extra_scale", CheckpointTensor(shape: [1], floats: [1])!)) },
      "1 unexpected key(s) for this architecture: 'encoder.extra_scale'")
    let out = "encoder.layers.encoder_layer_0.self_attention.out_proj.weight"
    XCTAssertEqual(
      try loadError { entries in
        let i = entries.firstIndex { $0.0 == out }!
        entries[i].1 = CheckpointTensor(shape: [32, 16], floats: [Float](repeating: 0, count: 512))!
      },
      "shape mismatch for '\(out)': the architecture expects [32, 32], the file has [32, 16]")
    XCTAssertEqual(
      try loadError { $0.removeAll { $0.0 == "conv_proj.weight" } },
      "missing key 'conv_proj.weight' (the patch embedding, [hidden, 3, patch, patch])")
    XCTAssertEqual(
      try loadError { entries in
        let i = entries.firstIndex { $0.0 == "encoder.pos_embedding" }!
        entries[i].1 = CheckpointTensor(shape: [1, 16, 32], floats: [Float](repeating: 0, count: 512))!
      },
      "shape mismatch for 'encoder.pos_embedding': expected [1, 1 + n², 32] (a class token and an n×n grid of "
        + "patches), the file has [1, 16, 32]")
  }

  /// Micro-batching and the data-parallel workers must not change the numbers.
  func testMicroBatchSizeDoesNotChangeResults() throws {
    let m = try small("pth")
    let f = ViTFixtures.shared.vit_small
    var results: [(logits: Tensor, gradient: Tensor)] = []
    for size in [3, 2, 1] {
      m.microBatchOverride = size
      results.append(run(m, f))
    }
    m.microBatchOverride = nil
    for r in results.dropFirst() {
      XCTAssertLessThan(r.logits.maxRelativeDifference(to: results[0].logits), 1e-6)
      XCTAssertLessThan(r.gradient.maxRelativeDifference(to: results[0].gradient), 1e-6)
    }
  }

  /// ViT-B/32 with torchvision's sizes and made-up weights: 224² in, 1000 logits out, a finite gradient.
  func testViTB32BuildsWithTorchvisionSizes() throws {
    let m = try VisionTransformer.build(
      WeightReader(syntheticSeed: 1), configuration: .b32(), name: ModelName.vitB32.rawValue)
    XCTAssertEqual(m.featureCount, 768)
    XCTAssertEqual(m.inputSide, 224)
    let x = Tensor(shape: [1, 224, 224, 3]) { Float(sin(Double($0) * 0.001)) }
    let (logits, gradient) = m.inputGradient(x) { logits, _ in logits.map { $0 / 1000 } }
    XCTAssertEqual(logits.shape, [1, 1000])
    XCTAssertFalse(logits.data.contains { !$0.isFinite })
    XCTAssertFalse(gradient.data.contains { !$0.isFinite })
    XCTAssertGreaterThan(gradient.data.map(abs).max()!, 0)
  }
}
