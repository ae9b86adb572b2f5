import Foundation
import VPEngine
import VPNotebook
import XCTest

/// The statements' tables as one source of truth: the notebook and `vpbook train` read, default, document
/// and reject every option the same way, and every mapping and baseline runs from a notebook.
final class StatementRegistryTests: XCTestCase {
  /// A value that each typed option must reject, and the word the message then contains.
  private func badValue(for option: BlockLanguage.Option) -> String? {
    if option.acceptsAnyText { return nil }
    if option.placeholder.contains("|") { return "nonsense" }
    return "-3.5"
  }

  func testCommandLineFlagsAreTheStatementsOptions() throws {
    let flags = TrainCommandLine.flagInfo
    let statements = ["model", "data", "prompt", "train"]
    // Every option of the four statements is a flag, with the same help and default, unless left out by name.
    for verb in statements {
      let known: [String] = BlockLanguage.words(of: verb) ?? []
      let words: [String?] = known.isEmpty ? [nil] : known.map { Optional($0) }
      for word in words {
        for option in BlockLanguage.options(of: verb, word: word) {
          if TrainCommandLine.leftOut.contains("\(verb).\(option.name)") { continue }
          let matching = flags.filter { $0.option.name == option.name }
          let flag = matching.first { $0.verb == verb } ?? matching.first
          let found = try XCTUnwrap(flag, "\(verb).\(option.name) has no flag")
          XCTAssertEqual(found.option.help, option.help, "\(verb).\(option.name)")
          XCTAssertEqual(found.option.defaultText, option.defaultText, "\(verb).\(option.name)")
          XCTAssertEqual(found.option.placeholder, option.placeholder, "\(verb).\(option.name)")
          XCTAssertTrue(TrainCommandLine.help.contains("--\(found.name)"), "--\(found.name) in help")
        }
      }
    }
    // And nothing else but the command's own and the statements' words.
    for flag in flags where flag.verb != "vpbook" && flag.option.name != flag.verb {
      XCTAssertTrue(
        BlockLanguage.options(of: flag.verb).contains { $0.name == flag.option.name },
        "--\(flag.name) is not an option of \(flag.verb)")
    }
  }

  /// For every typed option of `train`, `data` and `prompt pad`: a bad value gives the same message in a
  /// notebook (at its line) and on the command line (with the flag's spelling).
  func testBadValuesGiveTheSameErrorInANotebookAndOnTheCommandLine() throws {
    let cases: [(verb: String, word: String?, prefix: String)] = [
      ("train", nil, "train"), ("data", "fashion-mnist", "data fashion-mnist"), ("prompt", "pad", "prompt pad"),
    ]
    var checked = 0
    for (verb, word, prefix) in cases {
      for option in BlockLanguage.options(of: verb, word: word) {
        guard let bad = badValue(for: option),
          let flag = TrainCommandLine.flagInfo.first(where: { $0.verb == verb && $0.option.name == option.name })
        else { continue }
        var notebookError = ""
        XCTAssertThrowsError(try BlockLanguage.check("\(prefix) \(option.name)=\(bad)", file: "nb.md")) {
          notebookError = "\($0)"
        }
        var commandLineError = ""
        XCTAssertThrowsError(try TrainCommandLine.parse(["--\(flag.name)", bad])) { commandLineError = "\($0)" }
        XCTAssertTrue(notebookError.hasPrefix("nb.md:1: "), notebookError)
        XCTAssertEqual(
          String(notebookError.dropFirst("nb.md:1: ".count)).replacingOccurrences(
            of: "'\(option.name)'", with: "'\(option.flag)'"),
          commandLineError, "\(verb).\(option.name)")
        checked += 1
      }
    }
    XCTAssertGreaterThanOrEqual(checked, 20)
  }

  func testCommandLineDefaultsAreTheNotebooksExceptTheProtocolPresets() throws {
    let defaults = try TrainCommandLine.parse([])
    XCTAssertEqual(defaults.method, .prompt(MappingConfig(.ilm)))
    XCTAssertEqual(defaults.training, TrainingConfig())
    XCTAssertEqual(defaults.seeds, [7])
    XCTAssertEqual(defaults.prompt, PromptConfig(kind: .pad, canvas: 128, image: 64))
    XCTAssertEqual(defaults.data, DataSpec(name: "fashion-mnist", perClass: 500, validationPerClass: 50))
    XCTAssertFalse(defaults.testCurve)
    // Every option reaches the engine, including BLM's λ and the mapping's learning rate.
    let all = try TrainCommandLine.parse([
      "--mapping", "blm+", "--lambda", "0.25", "--topk", "3", "--interval", "2", "--mapping-lr", "0.5",
      "--weight-decay", "0.001", "--epochs", "3", "--lr=0.02", "--batch", "16", "--optimizer", "sgd",
      "--schedule", "cosine", "--seeds", "1,2", "--per-class", "7", "--val", "3", "--test", "9", "--data-seed", "4",
      "--canvas", "96", "--image", "48", "--learn-scale", "--test-curve", "--quiet",
    ])
    XCTAssertEqual(all.method, .prompt(MappingConfig(.blmPlus, interval: 2, topK: 3, lambda: 0.25)))
    XCTAssertEqual(
      all.training,
      TrainingConfig(
        epochs: 3, batchSize: 16, learningRate: 0.02, optimizer: .sgd, schedule: .cosine, mappingLearningRate: 0.5,
        weightDecay: 0.001))
    XCTAssertEqual(all.seeds, [1, 2])
    XCTAssertEqual(all.data, DataSpec(name: "fashion-mnist", perClass: 7, validationPerClass: 3, test: 9, seed: 4))
    XCTAssertEqual(all.prompt, PromptConfig(kind: .pad, canvas: 96, image: 48, learnableScale: true))
    XCTAssertTrue(all.testCurve)
    XCTAssertTrue(all.quiet)
    XCTAssertEqual(try TrainCommandLine.parse(["--baseline", "linear-probe"]).method, .linearProbe)
    XCTAssertEqual(try TrainCommandLine.parse(["--baseline", "linear-probe"]).training.learningRate, 0.1)
    // The last of a repeated flag wins, as scripts that append an override expect.
    XCTAssertEqual(try TrainCommandLine.parse(["--lr", "0.01", "--lr", "0.1"]).training.learningRate, 0.1)
  }

  /// Every mapping kind is a value of `mapping=` in a notebook and of `--mapping` on the command line.
  func testEveryMappingKindDecodesFromBothFrontEnds() throws {
    for kind in MappingKind.allCases {
      XCTAssertNoThrow(try BlockLanguage.check("train mapping=\(kind.rawValue)"), "\(kind)")
      let other = kind == .ilm ? "flm" : "ilm"
      XCTAssertNoThrow(try BlockLanguage.check("sweep mapping=\(kind.rawValue),\(other)"), "\(kind)")
      XCTAssertEqual(try TrainCommandLine.parse(["--mapping", kind.rawValue]).method, .prompt(MappingConfig(kind)))
    }
  }

  /// `--baseline zero-shot` maps by frequency (FLM) unless `--mapping` names another mapping computed once;
  /// mappings that remap or train are refused with the list of those it takes.
  func testZeroShotTakesTheMappingsThatAreComputedOnce() throws {
    XCTAssertEqual(try TrainCommandLine.parse(["--baseline", "zero-shot"]).method, .zeroShot(MappingConfig(.flm)))
    XCTAssertEqual(
      try TrainCommandLine.parse(["--baseline", "zero-shot", "--mapping", "identity"]).method,
      .zeroShot(MappingConfig(.identity)))
    let choices = BlockLanguage.options(of: "baseline", word: "zero-shot").first { $0.name == "mapping" }
    XCTAssertEqual(choices?.placeholder, "rlm|flm|freqmap|semantic|identity")
    XCTAssertThrowsError(try TrainCommandLine.parse(["--baseline", "zero-shot", "--mapping", "ilm"])) {
      XCTAssertTrue("\($0)".contains("rlm, flm, freqmap, semantic, identity"), "\($0)")
    }
  }

  func testUnknownFlagsAndOptionsAreNamedWithASuggestion() throws {
    XCTAssertThrowsError(try TrainCommandLine.parse(["--epoch", "3"])) {
      XCTAssertEqual(
        "\($0)", "unknown option '--epoch' for vpbook train (did you mean '--epochs'?); see vpbook train --help")
    }
    XCTAssertThrowsError(try TrainCommandLine.parse(["--baseline", "zero-shot", "--epochs", "3"])) {
      XCTAssertEqual(
        "\($0)",
        "unknown option '--epochs' for baseline zero-shot; known: "
          + BlockLanguage.options(of: "baseline", word: "zero-shot").map(\.name).joined(separator: ", "))
    }
    XCTAssertThrowsError(try BlockLanguage.check("compare mapping=flm,ilm epoch=3")) {
      XCTAssertEqual(
        "\($0)",
        "check.md:1: unknown option 'epoch' for compare (did you mean 'epochs'?); known: "
          + BlockLanguage.options(of: "compare").map(\.name).joined(separator: ", "))
    }
  }

  /// Every mapping kind (SemanticMap included) and both baselines, trained end to end from one notebook on a
  /// tiny setting: each registers a run with a finite test accuracy and the mapping it asked for.
  func testEveryMappingAndBaselineRunsFromANotebook() throws {
    try requireAssets()
    let scratch = try Scratch()
    let mappings = MappingKind.allCases.map(\.rawValue)
    let labels = MappingKind.allCases.map { MappingConfig($0).label }
    let notebook = scratch.write(
      "all.md",
      """
      ```vp
      model mobilenet_v2
      data animal-mnist per_class=3 val=1 test=2
      prompt pad canvas=32 image=16
      compare mapping=\(mappings.joined(separator: ",")) epochs=1 batch=8
      baseline zero-shot
      baseline linear-probe epochs=1
      ```
      """)
    let outcome = try scratch.run(notebook, useCache: false)
    XCTAssertEqual(outcome.errors, [])
    let manifest =
      try JSONSerialization.jsonObject(
        with: try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(outcome.jsonPath)))) as? [String: Any]
    let runs = try XCTUnwrap(manifest?["runs"] as? [[String: Any]])
    let names = runs.compactMap { $0["name"] as? String }
    XCTAssertEqual(names, labels + ["zero-shot", "linear-probe"])
    for run in runs {
      let results = try XCTUnwrap(run["results"] as? [[String: Any]])
      let accuracy = try XCTUnwrap(results.first?["testAccuracy"] as? Double, "\(run["name"] ?? "?")")
      XCTAssertTrue((0...1).contains(accuracy), "\(run["name"] ?? "?"): \(accuracy)")
      if let mapping = results.first?["mapping"] as? [String: Any], let name = run["name"] as? String,
        let index = labels.firstIndex(of: name)
      {
        XCTAssertEqual(mapping["kind"] as? String, mappings[index])
      }
    }
    // SemanticMap found WordNet and the source synsets through the runner (it used to fail in notebooks).
    let semantic = try XCTUnwrap(runs.first { $0["name"] as? String == "semantic" }?["results"] as? [[String: Any]])
    let sources = try XCTUnwrap(semantic.first?["finalMappingNames"] as? [[String]])
    XCTAssertEqual(sources.count, 10)
  }

  /// docs/NOTEBOOKS.md documents every verb and every option the tables declare.
  func testTheNotebookGuideNamesEveryStatementAndOption() throws {
    let guide = try String(
      contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/NOTEBOOKS.md"), encoding: .utf8)
    for verb in BlockLanguage.verbs {
      XCTAssertTrue(guide.contains("### `\(verb)`"), "docs/NOTEBOOKS.md has no section for \(verb)")
      let known: [String] = BlockLanguage.words(of: verb) ?? []
      for word in known.isEmpty ? [nil] : known.map({ Optional($0) }) {
        for option in BlockLanguage.options(of: verb, word: word) {
          XCTAssertTrue(
            guide.contains("`\(option.name)`") || guide.contains(" \(option.name)="),
            "docs/NOTEBOOKS.md does not name \(verb).\(option.name)")
        }
      }
    }
  }
}
