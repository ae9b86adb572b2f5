import Foundation
import VPCheckpoint
import VPModels
import VPReport
import XCTest

@testable import VPNotebook

/// `vpbook classify --model clip` and `vpbook train --model clip` on the small random CLIP of VPModelsTests,
/// widened to the real 49,408-token vocabulary (row t = the small row of the id folded as its reference script
/// does) so that the real tokenizer's ids fit.
final class CLIPCommandTests: XCTestCase {
  /// Writes the widened checkpoint; `patch8` also swaps in a made-up 8×8 patch embedding, so that the same
  /// 4×4 grid of patches covers a 32×32 canvas (the smallest `--canvas` vpbook train takes).
  static func writeCheckpoint(to path: String, patch8: Bool) throws {
    let small = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("VPModelsTests/Fixtures/clip_small.safetensors").path
    var entries: [(String, CheckpointTensor)] = []
    for (name, tensor) in try loadCheckpoint(small).entries {
      var shape = tensor.shape
      var values = try tensor.floats()
      if name == "token_embedding.weight" {
        let w = shape[1]
        values = (0..<(49408 * w)).map { i in
          let t = i / w
          let folded = t == 49406 ? 254 : t == 49407 ? 255 : t % 254
          return values[folded * w + i % w]
        }
        shape = [49408, w]
      } else if name == "visual.conv1.weight" && patch8 {
        shape = [64, 3, 8, 8]
        values = (0..<(64 * 192)).map { Float(sin(Double($0) * 0.37)) / 14 }
      }
      entries.append((name, CheckpointTensor(shape: shape, floats: values)!))
    }
    try Safetensors.write(StateDict(entries), to: path)
  }

  func testClassifyPrintsTheLabelsWithProbabilities() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: false)
    let chelsea = try TestAssets.path("images/chelsea.png")
    let result = try runVPBook([
      "classify", "--model", "clip", "--weights", weights, "--labels", "cat, dog,goldfish", chelsea,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let lines = result.stdout.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 4, result.stdout)
    XCTAssertEqual(lines.first, chelsea)
    var total = 0.0
    for label in ["cat", "dog", "goldfish"] {
      let line = try XCTUnwrap(lines.first { $0.split(separator: " ").dropFirst().first.map(String.init) == label })
      total += try XCTUnwrap(Double(String(line.split(separator: " ").last!)))
    }
    XCTAssertEqual(total, 1, accuracy: 2e-3)
    // Over the ImageNet names by default; --labels belongs to clip only.
    let imageNet = try runVPBook(["classify", "--model", "clip", "--weights", weights, "--top", "2", chelsea])
    XCTAssertEqual(imageNet.status, 0, imageNet.stderr)
    XCTAssertEqual(imageNet.stdout.split(separator: "\n").count, 3, imageNet.stdout)
    let wrong = try runVPBook(["classify", "--model", "mobilenet_v2", "--labels", "cat", chelsea])
    XCTAssertNotEqual(wrong.status, 0)
    XCTAssertTrue(wrong.stderr.contains("--labels and --templates are for --model clip"), wrong.stderr)
  }

  func testTrainRunsOnTheZeroShotImageNetHead() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    let result = try runVPBook([
      "train", "--model", "clip", "--weights", weights, "--data", "digits", "--per-class", "3", "--val", "1",
      "--test", "2", "--canvas", "32", "--image", "16", "--epochs", "1", "--batch", "8", "--mapping", "flm",
      "--seeds", "7", "--quiet",
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("flm: test accuracy "), result.stdout)
  }

  /// A canvas other than the checkpoint's trains: the 32-px, patch-8 checkpoint (4×4 patches) at 48 (6×6, the
  /// patch positions interpolated); a canvas that is not a multiple of the patch is refused before the run.
  func testTrainRunsAtAnotherCanvasThanTheCheckpoints() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    func train(canvas: Int) throws -> (status: Int32, stdout: String, stderr: String) {
      let r = try runVPBook([
        "train", "--model", "clip", "--weights", weights, "--data", "digits", "--per-class", "3", "--val", "1",
        "--test", "2", "--canvas", String(canvas), "--image", "16", "--epochs", "1", "--batch", "8", "--mapping",
        "flm", "--seeds", "7", "--quiet",
      ])
      return (r.status, r.stdout, r.stderr)
    }
    let larger = try train(canvas: 48)
    XCTAssertEqual(larger.status, 0, larger.stderr)
    XCTAssertTrue(larger.stdout.contains("flm: test accuracy "), larger.stdout)
    let bad = try train(canvas: 36)
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(
      bad.stderr.contains(
        "clip: takes inputs whose side is a multiple of its patch size 8 (a whole grid of patches), not 36×36; "
          + "use canvas=32 or canvas=40"), bad.stderr)
  }

  /// A notebook loads the model once; a sweep over the canvas runs it at the checkpoint's 32 and at 48 and 40.
  func testANotebookSweepsTheCanvasOnOneLoadedModel() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    let notebook = scratch.write(
      "canvas.md",
      """
      ```vp
      model clip weights=\(weights)
      data digits per_class=3 val=1 test=2
      prompt pad canvas=32 image=16
      sweep canvas=32,48,40 mapping=flm epochs=1 batch=8 seeds=7
      ```
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertTrue(outcome.succeeded, "\(outcome.errors)")
    let data = try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(outcome.jsonPath)))
    let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let runs = try XCTUnwrap(manifest["runs"] as? [[String: Any]])
    XCTAssertEqual(runs.compactMap { $0["name"] as? String }, ["canvas=32", "canvas=48", "canvas=40"])
    for run in runs {
      let result = try XCTUnwrap((run["results"] as? [[String: Any]])?.first)
      let accuracy = try XCTUnwrap(result["testAccuracy"] as? Double, "\(run["name"] ?? "?")")
      XCTAssertTrue((0...1).contains(accuracy))
    }
  }

  /// FullyMap and the linear probe work on CLIP as on any classifier: a layer on its 1000 logits, and a layer on
  /// its unit image embeddings (its features).
  func testFullyMapAndTheLinearProbeRunOnCLIP() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    let common = [
      "train", "--model", "clip", "--weights", weights, "--data", "digits", "--per-class", "3", "--val", "1",
      "--test", "2", "--canvas", "32", "--image", "16", "--epochs", "1", "--batch", "8", "--seeds", "7", "--quiet",
    ]
    for extra in [["--mapping", "fullymap"], ["--baseline", "linear-probe"]] {
      let json = scratch.path("r.json")
      let result = try runVPBook(common + extra + ["--json", json])
      XCTAssertEqual(result.status, 0, "\(extra): \(result.stderr)")
      let report =
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
      let run = (report["results"] as! [[String: Any]])[0]
      // FullyMap: a 1000 → 10 layer and the pad prompt (3 · (32² − 16²)); the probe: a 32 → 10 layer on the small
      // CLIP's 32-wide unit embedding.
      XCTAssertEqual(run["trainableParameters"] as? Int, extra[1] == "fullymap" ? 1000 * 10 + 10 + 2304 : 32 * 10 + 10)
    }
  }

  /// `--sources classes|ensemble` with `--mapping identity`: one source per target class, target k is source k.
  func testOnePromptPerClassWithTheIdentityMapping() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    var losses: [Double] = []
    for sources in ["classes", "ensemble"] {
      let json = scratch.path("\(sources).json")
      let result = try runVPBook([
        "train", "--model", "clip", "--weights", weights, "--sources", sources, "--data", "digits", "--per-class",
        "3", "--val", "1", "--test", "2", "--canvas", "32", "--image", "16", "--epochs", "1", "--batch", "8",
        "--mapping", "identity", "--seeds", "7", "--quiet", "--json", json,
      ])
      XCTAssertEqual(result.status, 0, "\(sources): \(result.stderr)")
      let report =
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
      let run = (report["results"] as! [[String: Any]])[0]
      XCTAssertEqual(run["finalMapping"] as? [[Int]], (0..<10).map { [$0] })
      XCTAssertEqual(run["finalMappingNames"] as? [[String]], (0..<10).map { [String($0)] })
      XCTAssertEqual(run["trainableParameters"] as? Int, 2304, "only the prompt trains")
      losses.append(((run["history"] as! [[String: Any]])[0]["trainLoss"] as? Double) ?? .nan)
    }
    // CLIP's own zero-shot rule: no training, target k is prompt k; its accuracy is the argmax over the K prompt
    // logits, and the frequency mapping over the same logits can only match or beat it on the training images.
    let zero = scratch.path("zero.json")
    let baseline = try runVPBook([
      "train", "--model", "clip", "--weights", weights, "--sources", "ensemble", "--data", "digits", "--per-class",
      "3", "--val", "1", "--test", "2", "--canvas", "32", "--image", "16", "--baseline", "zero-shot", "--mapping",
      "identity", "--quiet", "--json", zero,
    ])
    XCTAssertEqual(baseline.status, 0, baseline.stderr)
    XCTAssertTrue(baseline.stderr.contains("10 classes; zero-shot"), baseline.stderr)
    XCTAssertFalse(baseline.stderr.contains("epoch"), "a zero-shot run trains no epochs: \(baseline.stderr)")
    let zeroReport =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: zero))) as! [String: Any]
    let zeroRun = (zeroReport["results"] as! [[String: Any]])[0]
    XCTAssertEqual(zeroRun["finalMapping"] as? [[Int]], (0..<10).map { [$0] })
    XCTAssertEqual(zeroRun["trainableParameters"] as? Int, 0)
    XCTAssertEqual((zeroRun["history"] as? [Any])?.count, 0)
    // The one-template and the ensemble heads are different text sides: the same prompt trains differently.
    XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(losses)")
    XCTAssertNotEqual(losses[0], losses[1])
  }

  /// ILM-VP's text-prompt mapping: with `--sources prompts` CLIP's source classes are the 81 prompts of every
  /// target class, and ILM assigns each class one prompt (one-to-one), remapping every epoch.
  func testTrainOverTheTextPromptsGivesEachClassOnePrompt() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    let json = scratch.path("r.json")
    let result = try runVPBook([
      "train", "--model", "clip", "--weights", weights, "--sources", "prompts", "--data", "digits", "--per-class",
      "3", "--val", "1", "--test", "2", "--canvas", "32", "--image", "16", "--epochs", "2", "--batch", "8",
      "--mapping", "ilm", "--seeds", "7", "--quiet", "--json", json,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
    let run = (report["results"] as! [[String: Any]])[0]
    let frequency = run["frequency"] as! [String: Any]
    XCTAssertEqual(frequency["sources"] as? Int, 81 * 10)
    let names = (run["finalMappingNames"] as! [[String]]).map { $0[0] }
    XCTAssertEqual(names.count, 10)
    XCTAssertEqual(Set(names).count, 10, "one prompt per class")
    let prompts = Set(CLIPPrompts.candidates(classNames: (0..<10).map(String.init)))
    for name in names { XCTAssertTrue(prompts.contains(name), "\(name) is not one of the candidate prompts") }
    // ILM recorded a mapping for each epoch (it remaps before every one).
    XCTAssertEqual((run["history"] as! [[String: Any]]).compactMap { $0["mapping"] }.count, 2)
    // Another model with `--sources` is refused by the model statement's table.
    let wrong = try runVPBook(["train", "--model", "mobilenet_v2", "--sources", "prompts", "--quiet"])
    XCTAssertNotEqual(wrong.status, 0)
    XCTAssertTrue(wrong.stderr.contains("sources"), wrong.stderr)
  }

  func testANotebookShowsWhichPromptEachClassEndedWith() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    let notebook = scratch.write(
      "clip.md",
      """
      # CLIP text prompts

      ```vp
      model clip weights=\(weights) sources=prompts
      data digits per_class=3 val=1 test=2
      prompt pad canvas=32 image=16
      train mapping=ilm epochs=2 batch=8
      show mapping run=ilm count=0
      ```
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertTrue(outcome.errors.isEmpty, "\(outcome.errors)")
    XCTAssertTrue(outcome.html.contains("81 text prompts of every target class"), "the setup line names the sources")
    // The mapping view names the sources by their prompts: one of ILM-VP's templates filled with a digit.
    let shown = CLIPPrompts.candidates(classNames: (0..<10).map(String.init)).filter {
      outcome.html.contains(HTML.escape($0))
    }
    XCTAssertGreaterThanOrEqual(shown.count, 10, "the mapping view does not name the prompts")
    // count=0 asks for no example images (the source count must not take its place).
    XCTAssertFalse(outcome.html.contains(">Target images<"), "show mapping count=0 still drew example images")
  }

  /// AutoVP's SemanticMap with CLIP's text tower, for a model that is not CLIP (`--text-encoder`) and for CLIP
  /// itself (its own weights): each digit takes the ImageNet class whose "This is a photo of a {}." embedding is
  /// closest to its own, round-robin — recomputed here from the text tower's embeddings.
  func testSemanticMapComparesNamesWithCLIPsTextTower() throws {
    try requireAssets()
    let scratch = try Scratch()
    let weights = scratch.path("clip32.safetensors")
    try Self.writeCheckpoint(to: weights, patch8: true)
    let digits = (0..<10).map(String.init)
    let imageNet = try ImageNetClasses.names()
    let embed = try ModelZoo.clipTextTower(weights: weights)
    let prompt = { (name: String) in CLIPPrompts.prompt(CLIPPrompts.photoTemplate, className: name) }
    let (t, s) = (try embed(digits.map(prompt)), try embed(imageNet.map(prompt)))
    let e = t.count / 10
    var taken = Set<Int>()
    var expected: [[Int]] = []
    for k in 0..<10 {
      let scores = (0..<1000).map { j in (0..<e).reduce(0.0) { $0 + Double(t[k * e + $1]) * Double(s[j * e + $1]) } }
      let best = (0..<1000).filter { !taken.contains($0) }.max {
        scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1)
      }!
      taken.insert(best)
      expected.append([best])
    }
    let common = [
      "train", "--data", "digits", "--per-class", "3", "--val", "1", "--test", "2", "--canvas", "32", "--image",
      "16", "--epochs", "1", "--batch", "8", "--mapping", "semantic", "--text", "clip", "--seeds", "7", "--quiet",
    ]
    for model in [["--model", "mobilenet_v2", "--text-encoder", weights], ["--model", "clip", "--weights", weights]] {
      let json = scratch.path("semantic.json")
      let result = try runVPBook(common + model + ["--json", json])
      XCTAssertEqual(result.status, 0, "\(model): \(result.stderr)")
      let report =
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
      let run = (report["results"] as! [[String: Any]])[0]
      XCTAssertEqual(run["finalMapping"] as? [[Int]], expected, "\(model)")
      XCTAssertEqual(run["name"] as? String, "semantic/clip")
    }
    // MobileNetV2 without a text tower: the error says how to give one.
    let missing = try runVPBook(common + ["--model", "mobilenet_v2"])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(missing.stderr.contains("text_encoder=PATH"), missing.stderr)
  }

  /// The small random CLIP that setup writes (`scripts/make_small_clip.py`) is a real CLIP checkpoint of the
  /// stated sizes, with the real vocabulary, and says in its metadata that it is random; a notebook's report
  /// shows that note beside the model.
  func testTheSmallRandomCLIPLoadsAndTheReportSaysWhatItIs() throws {
    try requireAssets()
    let path = try TestAssets.path("models/clip-small-random-v1.safetensors")
    let clip = try CLIP.load(path: path)
    let c = clip.configuration
    XCTAssertEqual(
      [c.imageSize, c.patchSize, c.visionWidth, c.visionLayers, c.textWidth, c.textLayers, c.embedDim],
      [64, 8, 64, 2, 64, 2, 32])
    XCTAssertEqual([c.contextLength, c.vocabularySize], [77, 49408])
    XCTAssertEqual(clip.logitMultiplier, 100, accuracy: 0.1)
    let note = try XCTUnwrap(Safetensors.metadata(path)["vpbook.note"])
    XCTAssertTrue(note.contains("random weights, not pretrained"), note)
    // A file without metadata has none; a cut header is an error naming the file.
    let scratch = try Scratch()
    let plain = scratch.path("plain.safetensors")
    try Safetensors.write(StateDict([("w", CheckpointTensor(shape: [2], floats: [1, 2])!)]), to: plain)
    XCTAssertEqual(try Safetensors.metadata(plain), [:])
    let cut = scratch.write("cut.safetensors", "\u{10}\0\0\0\0\0\0\0{\"a\":")
    XCTAssertThrowsError(try Safetensors.metadata(cut)) { XCTAssertTrue("\($0)".contains("cut.safetensors"), "\($0)") }

    let notebook = scratch.write(
      "small.md",
      """
      ```vp
      model clip weights=\(path) sources=classes
      data digits per_class=2 val=1 test=2
      prompt pad canvas=64 image=48
      baseline zero-shot mapping=identity
      ```
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertTrue(outcome.errors.isEmpty, "\(outcome.errors)")
    XCTAssertTrue(outcome.html.contains("Note: " + HTML.escape(note)), "the report does not say which CLIP ran")
  }
}
