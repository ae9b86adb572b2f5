import Foundation
import XCTest

/// The real `vpbook` binary, as a user runs it: its output and exit codes.
final class CommandLineTests: XCTestCase {
  /// `.build/release/vpbook` (or the debug one) of this package.
  private func binary() throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    for configuration in ["release", "debug"] {
      let path = root.appendingPathComponent(".build/\(configuration)/vpbook").path
      if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    XCTFail("no vpbook binary under \(root.path)/.build: build it first (make test does)")
    throw XCTSkip("no binary")
  }

  private func run(_ arguments: [String], in directory: String? = nil) throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try binary())
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
      process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)
    )
  }

  func testTrainPrintsOneLinePerSeedAndTheSummary() throws {
    try requireAssets()
    let scratch = try Scratch()
    let json = scratch.path("r.json")
    let result = try run([
      "train", "--data", "digits", "--per-class", "3", "--val", "1", "--test", "2", "--canvas", "32", "--image",
      "16", "--epochs", "1", "--batch", "8", "--mapping", "flm", "--seeds", "7,8", "--quiet", "--json", json,
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let lines = result.stdout.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 3, result.stdout)
    XCTAssertTrue(lines[0].hasPrefix("seed 7: test "), lines[0])
    XCTAssertTrue(lines[1].hasPrefix("seed 8: test "), lines[1])
    XCTAssertTrue(lines[2].hasPrefix("flm: test accuracy "), lines[2])
    XCTAssertTrue(lines[2].hasSuffix("% over 2 seed(s)"), lines[2])
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
    XCTAssertEqual((report?["results"] as? [Any])?.count, 2)
  }

  func testTrainRejectsABadOptionWithTheStatementsMessage() throws {
    let result = try run(["train", "--epochs", "0"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("option '--epochs' expects a whole number ≥ 1, got '0'"), result.stderr)
    let unknown = try run(["train", "--mappin", "ilm"])
    XCTAssertNotEqual(unknown.status, 0)
    XCTAssertTrue(unknown.stderr.contains("unknown option '--mappin' for vpbook train (did you mean '--mapping'?)"))
  }

  func testTrainHelpListsEveryFlag() throws {
    let result = try run(["train", "--help"])
    XCTAssertEqual(result.status, 0)
    for flag in ["--per-class", "--val", "--mapping", "--lambda", "--mapping-lr", "--weight-decay", "--scale"] {
      XCTAssertTrue(result.stdout.contains(flag), "\(flag) missing from train --help")
    }
  }

  func testClassifyNamesTheCat() throws {
    let chelsea = try TestAssets.path("images/chelsea.png")
    let result = try run(["classify", "--model", "mobilenet_v2", chelsea])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("Egyptian cat"), result.stdout)
  }

  func testRunWritesTheReportAndFailsOnABrokenNotebook() throws {
    let scratch = try Scratch()
    let good = scratch.write("good.md", "# A notebook\n\nJust prose.\n")
    let result = try run(["run", good, "-o", scratch.path("out/good.html"), "--cache-dir", scratch.path("cache")])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path("out/good.html")))
    XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path("out/good.json")))
    let bad = scratch.write("bad.md", "```vp\ntrian mapping=ilm\n```\n")
    let failed = try run(["run", bad, "-o", scratch.path("out/bad.html"), "--cache-dir", scratch.path("cache")])
    XCTAssertNotEqual(failed.status, 0)
    XCTAssertTrue(failed.stderr.contains("bad.md:2: unknown statement 'trian' (did you mean 'train'?)"), failed.stderr)
  }
}
