import Foundation
import VPNotebook
import XCTest

/// The cache cannot lie and the outputs stay a consistent pair (issue #13, items 2, 3 and 7).
final class RunnerIntegrityTests: XCTestCase {
  private func entries(_ scratch: Scratch, suffix: String) -> [String] {
    let root = scratch.path("cache")
    let files = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
    return files.filter { $0.hasSuffix(suffix) && $0.contains("/") }.map { root + "/" + $0 }.sorted()
  }

  /// Every kind of damage to a cached entry — flipped bytes in its prompt, an edited result, a truncated
  /// file — is noticed: the block is recomputed, a warning says which file, and the report and the manifest
  /// show the recomputed (true) numbers.
  func testADamagedCacheEntryIsRecomputedNeverUsed() throws {
    try requireAssets()
    let scratch = try Scratch()
    let path = scratch.write("cache.md", RunnerCacheTests.notebook())
    let cold = try scratch.run(path)
    XCTAssertTrue(cold.succeeded, "\(cold.errors)")
    let truth = try String(contentsOfFile: try XCTUnwrap(cold.jsonPath), encoding: .utf8)

    typealias Damage = (String, (String) throws -> Void)
    let damages: [(suffix: String, damage: Damage)] = [
      (
        ".safetensors",
        (
          "flipped bytes in a prompt",
          { file in
            var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for i in stride(from: bytes.count - 40, to: bytes.count, by: 7) { bytes[i] ^= 0x5A }
            try bytes.write(to: URL(fileURLWithPath: file))
          }
        )
      ),
      (
        ".json",
        (
          "an edited test accuracy",
          { file in
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let edited = text.replacingOccurrences(
              of: #""testAccuracy":[0-9.e-]+"#, with: #""testAccuracy":0.97"#, options: .regularExpression)
            try edited.write(toFile: file, atomically: true, encoding: .utf8)
          }
        )
      ),
      (
        ".json",
        (
          "a truncated entry",
          { file in
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
          }
        )
      ),
    ]
    for (suffix, (what, damage)) in damages {
      let files = entries(scratch, suffix: suffix)
      XCTAssertFalse(files.isEmpty, what)
      for file in files { try damage(file) }
      let collected = CollectedLines()
      var options = RunnerOptions()
      options.cacheDirectory = scratch.path("cache")
      options.outputHTML = scratch.path("output/cache.html")
      options.vpbookVersion = "test"
      options.onEvent = { event in
        if case .warning(let text) = event { collected.add(text) }
      }
      let warm = try NotebookRunner(resources: sharedRunnerResources).run(notebook: path, options: options)
      let warnings = collected.texts.filter { $0.contains("cache entry") }
      XCTAssertTrue(warm.succeeded, "\(what): \(warm.errors)")
      XCTAssertGreaterThan(warm.executedCount, 0, "\(what): nothing was recomputed")
      XCTAssertFalse(warnings.isEmpty, "\(what): no warning")
      for warning in warnings {
        XCTAssertTrue(warning.contains("is not used:") && warning.contains(scratch.path("cache")), warning)
      }
      // The recomputed run gives the true numbers again, in the manifest and in the report alike.
      let manifest = try String(contentsOfFile: try XCTUnwrap(warm.jsonPath), encoding: .utf8)
      XCTAssertFalse(manifest.contains("\"testAccuracy\" : 0.97"), what)
      XCTAssertEqual(accuracies(manifest), accuracies(truth), what)
    }
  }

  private func accuracies(_ manifest: String) -> [String] {
    let pattern = try! NSRegularExpression(pattern: #""testAccuracy" : [0-9.e-]+"#)
    return pattern.matches(in: manifest, range: NSRange(manifest.startIndex..., in: manifest)).map {
      String(manifest[Range($0.range, in: manifest)!])
    }
  }

  /// When the report cannot be written, neither file is replaced: the earlier report and manifest stay a
  /// pair, and the error says what failed (here: the report's path is a directory).
  func testAReportAndItsManifestAreReplacedTogetherOrNotAtAll() throws {
    let scratch = try Scratch()
    let first = scratch.write("a.md", "# First\n\nOne.\n")
    let html = scratch.path("out/r.html")
    let json = scratch.path("out/r.json")
    var options = RunnerOptions()
    options.cacheDirectory = scratch.path("cache")
    options.outputHTML = html
    options.outputJSON = json
    _ = try NotebookRunner().run(notebook: first, options: options)
    let oldHTML = try String(contentsOfFile: html, encoding: .utf8)
    let oldJSON = try String(contentsOfFile: json, encoding: .utf8)

    // The manifest's destination is now a directory: its rename fails after both temporary files exist.
    try FileManager.default.removeItem(atPath: json)
    try FileManager.default.createDirectory(atPath: json + "/blocker", withIntermediateDirectories: true)
    let second = scratch.write("b.md", "# Second\n\nTwo.\n")
    XCTAssertThrowsError(try NotebookRunner().run(notebook: second, options: options)) { error in
      XCTAssertTrue("\(error)".contains("cannot write '\(json)'"), "\(error)")
      XCTAssertTrue("\(error)".contains("were left as they were"), "\(error)")
    }
    XCTAssertEqual(try String(contentsOfFile: html, encoding: .utf8), oldHTML, "the report was replaced alone")
    _ = oldJSON
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path("out")).filter {
      $0.hasSuffix(".tmp")
    }
    XCTAssertEqual(leftovers, [], "temporary files left behind")
  }

  /// A full file system (a 64 KB tmpfs): the old pair stays and the error says the disk is full and how much
  /// the file needed. Needs root to mount; skipped with a reason elsewhere.
  func testAFullFileSystemLeavesTheOldPairAndSaysSo() throws {
    let scratch = try Scratch()
    let mountPoint = scratch.path("small")
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    let mount = Process()
    mount.executableURL = URL(fileURLWithPath: "/bin/mount")
    mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint]
    mount.standardError = Pipe()
    try? mount.run()
    mount.waitUntilExit()
    guard mount.terminationStatus == 0 else {
      throw XCTSkip("cannot mount a tmpfs here (needs root and mount permission)")
    }
    defer {
      let umount = Process()
      umount.executableURL = URL(fileURLWithPath: "/bin/umount")
      umount.arguments = [mountPoint]
      try? umount.run()
      umount.waitUntilExit()
    }
    var options = RunnerOptions()
    options.cacheDirectory = scratch.path("cache")
    options.outputHTML = mountPoint + "/r.html"
    let small = scratch.write("small.md", "# Small\n\nA short page.\n")
    _ = try NotebookRunner().run(notebook: small, options: options)
    let oldHTML = try String(contentsOfFile: mountPoint + "/r.html", encoding: .utf8)
    let oldJSON = try String(contentsOfFile: mountPoint + "/r.json", encoding: .utf8)
    // A notebook whose page is larger than what is left on the file system.
    let big = scratch.write("big.md", "# Big\n\n" + String(repeating: "A long line of prose. ", count: 4000) + "\n")
    XCTAssertThrowsError(try NotebookRunner().run(notebook: big, options: options)) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("the file system is full (the file needs"), text)
      XCTAssertTrue(text.contains("were left as they were"), text)
    }
    XCTAssertEqual(try String(contentsOfFile: mountPoint + "/r.html", encoding: .utf8), oldHTML)
    XCTAssertEqual(try String(contentsOfFile: mountPoint + "/r.json", encoding: .utf8), oldJSON)
  }

  /// A notebook that does not exist or is a directory: the reason, and nothing written.
  func testAnUnreadableNotebookIsAnErrorWithItsReasonAndWritesNothing() throws {
    let scratch = try Scratch()
    var options = RunnerOptions()
    options.cacheDirectory = scratch.path("cache")
    options.outputHTML = scratch.path("out/x.html")
    XCTAssertThrowsError(try NotebookRunner().run(notebook: scratch.path("missing.md"), options: options)) {
      XCTAssertEqual("\($0)", "\(scratch.path("missing.md")): cannot read the notebook: No such file or directory")
    }
    try FileManager.default.createDirectory(atPath: scratch.path("dir.md"), withIntermediateDirectories: true)
    XCTAssertThrowsError(try NotebookRunner().run(notebook: scratch.path("dir.md"), options: options)) {
      XCTAssertEqual("\($0)", "\(scratch.path("dir.md")): cannot read the notebook: it is a directory")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out/x.html")))
  }

  /// An unclosed ```vp fence is reported where it opens, not at the prose it swallowed.
  func testAnUnclosedFenceIsReportedWhereItOpens() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "open.md", "# Open\n\n```vp\nmodel mobilenet_v2\n\nMore prose that is not a statement.\n")
    let outcome = try scratch.run(notebook)
    XCTAssertEqual(
      outcome.errors.map(\.description),
      ["\(notebook):3: this ```vp block is never closed (add a line with ``` after its last statement)"])
  }

  /// A missing weights file names both places a relative path is looked for.
  func testAMissingWeightsFileNamesBothPlacesSearched() throws {
    let scratch = try Scratch()
    let notebook = scratch.write("sub/w.md", "```vp\nmodel resnet18 weights=nowhere.pth\n```\n")
    let outcome = try scratch.run(notebook)
    let message = try XCTUnwrap(outcome.errors.first?.description)
    XCTAssertTrue(message.contains(scratch.path("sub/nowhere.pth") + " and "), message)
    XCTAssertTrue(message.contains(FileManager.default.currentDirectoryPath + "/nowhere.pth"), message)
  }
}
