import Foundation
import VPEngine
import VPModels
import XCTest

@testable import VPNotebook

/// Every prompt kind as a user reaches it: `vpbook train --prompt K` with a saved prompt read back, a notebook
/// sweep over the kinds with augmentation, and the views of `show prompt`.
final class PromptFamilyCommandTests: XCTestCase {
  func testEveryPromptKindTrainsFromTheCommandLineAndItsSavedPromptReadsBack() throws {
    try requireAssets()
    let scratch = try Scratch()
    for kind in PromptKind.allCases {
      let file = scratch.path("\(kind.rawValue).safetensors")
      let result = try runVPBook(
        [
          "train", "--prompt", kind.rawValue, "--data", "digits", "--per-class", "3", "--val", "1", "--test", "2",
          "--canvas", "32", "--epochs", "1", "--batch", "8", "--mapping", "ilm", "--quiet", "--save-prompt", file,
          "--json", scratch.path("\(kind.rawValue).json"),
        ] + (kind == .pad ? ["--image", "16"] : []) + (kind == .lowrank ? ["--rank", "3"] : [])
          + (kind == .smm ? ["--augment", "trivial"] : []))
      XCTAssertEqual(result.status, 0, "\(kind): \(result.stderr)")
      let prompt = try PromptFile.read(file, normalization: .imageNet)
      XCTAssertEqual(prompt.config.kind, kind)
      XCTAssertEqual(prompt.config.rank, kind == .lowrank ? 3 : nil)
      XCTAssertTrue(prompt.values.contains { $0 != 0 } && prompt.values.allSatisfy(\.isFinite), "\(kind)")
      let report = try JSONDecoder().decode(
        TrainReportShape.self, from: Data(contentsOf: URL(fileURLWithPath: scratch.path("\(kind.rawValue).json"))))
      XCTAssertEqual(report.results.first?.trainableParameters, prompt.parameterCount, "\(kind)")
    }
    let bad = try runVPBook(["train", "--prompt", "pad", "--rank", "2", "--quiet"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("rank"), bad.stderr)
  }

  /// `--prompt` with several kinds is a search axis: one trial per kind, each with its own geometry.
  func testASearchTakesThePromptKindAsAnAxis() throws {
    let invocation = try SearchCommandLine.parse([
      "--data", "digits", "--prompt", "pad,lowrank,smm", "--canvas", "32", "--image", "16", "--rank", "2",
      "--mapping", "flm", "--strategy", "grid", "--max-epochs", "1",
    ])
    let prompts = invocation.definition.trials.map(\.prompt)
    XCTAssertEqual(prompts.map(\.kind), [.pad, .lowrank, .smm])
    XCTAssertEqual(prompts.map(\.imageSide), [16, 32, 32])
    XCTAssertEqual(prompts.map(\.rank), [nil, 2, nil])
    XCTAssertEqual(invocation.definition.axes, [["prompt", "pad", "lowrank", "smm"]])
  }

  private struct TrainReportShape: Decodable {
    struct Result: Decodable { var trainableParameters: Int }
    var results: [Result]
  }

  func testANotebookSweepsPromptKindsAndAugmentationAndShowsEachPrompt() throws {
    try requireAssets()
    let scratch = try Scratch()
    let notebook = scratch.write(
      "families.md",
      """
      # Families

      ```vp
      model mobilenet_v2
      data digits per_class=3 val=1 test=2
      prompt pad canvas=32 image=16
      ```

      ```vp
      sweep name=f prompt=pad,lowrank,smm mapping=flm,ilm augment=none,trivial rank=2 epochs=1 batch=8 seeds=7
      ```

      ```vp
      show prompt run=f/prompt=lowrank/mapping=ilm/augment=none count=2
      ```

      ```vp
      show prompt run=f/prompt=smm/mapping=flm/augment=trivial count=2
      ```
      """)
    let outcome = try scratch.run(notebook)
    XCTAssertTrue(outcome.errors.isEmpty, "\(outcome.errors)")
    let html = outcome.html
    // The table (its CSV beside the report) gives each kind its cost: the pad border (3·(32² − 16²)), 6·32·2
    // for rank 2, SMM's pattern and mask network (3·32² + 26,499).
    let tables = scratch.path("output/families.tables")
    let csv = try FileManager.default.contentsOfDirectory(atPath: tables).sorted().map {
      try String(contentsOfFile: tables + "/" + $0, encoding: .utf8)
    }.first { $0.contains("Trainable") }
    let rows = try XCTUnwrap(csv, "no table with a Trainable column").split(separator: "\n").map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    let column = try XCTUnwrap(rows[0].firstIndex { $0.hasPrefix("Trainable") })
    let trainable = Dictionary(
      rows.dropFirst().map { ($0[0], $0[column]) }, uniquingKeysWith: { a, b in a == b ? a : "differs" })
    XCTAssertEqual(trainable, ["pad": "2304", "lowrank": "384", "smm": "29571"])
    XCTAssertEqual(rows.count, 1 + 12)
    XCTAssertTrue(html.contains("rank-one components"))
    XCTAssertTrue(html.contains("SMM&#39;s sample-specific masks") || html.contains("SMM's sample-specific masks"))
    XCTAssertTrue(html.contains("the masks differ from their mean by"))
    // A rank axis on a session whose prompt is not low-rank names the problem.
    let wrong = scratch.write(
      "wrong.md",
      """
      # Wrong

      ```vp
      model mobilenet_v2
      data digits per_class=3 val=1 test=2
      prompt pad canvas=32 image=16
      sweep rank=2,4 epochs=1 batch=8
      ```
      """)
    let failed = try scratch.run(wrong, keepGoing: true)
    XCTAssertTrue(
      failed.errors.contains { "\($0)".contains("the rank axis needs the lowrank prompt, not pad") }, "\(failed.errors)"
    )
  }
}
