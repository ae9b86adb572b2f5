import Foundation
import VPNotebook
import VPTensor
import XCTest

/// The real `vpbook` binary, as a user runs it: its output and exit codes.
final class CommandLineTests: XCTestCase {
  private func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws
    -> (status: Int32, stdout: String, stderr: String)
  {
    try runVPBook(arguments, in: directory, environment: environment)
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

  /// vpbook runs with the kernel set the CPU allows (the manifest names it), the portable one on request,
  /// and the user's `OPENBLAS_CORETYPE` when it is set.
  func testVpbookChoosesOpenBLASKernelsAndTheManifestNamesThem() throws {
    try requireAssets()
    guard BLASKernels.cpuFlags.isSuperset(of: ["avx2", "fma"]) else { throw XCTSkip("no AVX2 on this CPU") }
    let scratch = try Scratch()
    let notebook = scratch.write("nb.md", "```vp\nmodel mobilenet_v2\n```\n")
    func kernels(_ environment: [String: String]) throws -> String {
      let json = scratch.path("out.json")
      let result = try run(
        ["run", notebook, "-o", scratch.path("out.html"), "--no-cache"],
        environment: environment)
      XCTAssertEqual(result.status, 0, result.stderr)
      let text = try String(contentsOfFile: json, encoding: .utf8)
      let line = text.split(separator: "\n").first { $0.contains("\"OpenBLAS\"") } ?? ""
      return String(line)
    }
    let chosen = try kernels(["OPENBLAS_CORETYPE": ""])
    XCTAssertTrue(BLASKernels.modern.contains { chosen.lowercased().contains(" \($0) ") }, chosen)
    XCTAssertTrue(try kernels(["OPENBLAS_CORETYPE": "", "VPBOOK_PORTABLE": "1"]).contains(" Haswell "))
    XCTAssertTrue(try kernels(["OPENBLAS_CORETYPE": "Prescott"]).contains(" Prescott "))
  }

  func testTrainWritesOneCSVLinePerSeedBesideItsJSON() throws {
    try requireAssets()
    let scratch = try Scratch()
    let result = try run([
      "train", "--data", "digits", "--per-class", "3", "--val", "1", "--test", "2", "--canvas", "32", "--image",
      "16", "--epochs", "1", "--batch", "8", "--mapping", "flm", "--seeds", "7,8", "--quiet", "--json",
      scratch.path("r.json"), "--csv", scratch.path("r.csv"),
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let lines = try String(contentsOfFile: scratch.path("r.csv"), encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 3)
    XCTAssertTrue(lines[0].hasPrefix("method,model,data,seed,test_accuracy,selected_epoch"), String(lines[0]))
    let report =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path("r.json"))))
      as! [String: Any]
    let results = report["results"] as! [[String: Any]]
    for (line, result) in zip(lines.dropFirst(), results) {
      let fields = line.split(separator: ",", omittingEmptySubsequences: false)
      XCTAssertEqual(fields[0], "flm")
      XCTAssertEqual(UInt64(fields[3]), (result["seed"] as! NSNumber).uint64Value)
      XCTAssertEqual(Double(fields[4]), result["testAccuracy"] as? Double)
    }
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

  /// The peak RSS `vpbook train` reports, in MB.
  private func peakMB(_ stderr: String) throws -> Double {
    let line = try XCTUnwrap(stderr.split(separator: "\n").first { $0.hasPrefix("peak memory (RSS): ") }, stderr)
    let fields = line.dropFirst("peak memory (RSS): ".count).split(separator: " ")
    let value = try XCTUnwrap(Double(fields[0]))
    return fields[1] == "GB" ? value * 1024 : fields[1] == "KB" ? value / 1024 : value
  }

  /// The whole Fashion-MNIST training file at AutoVP's scale 1.5 (image 192 in a 224 canvas): images stay
  /// bytes at 28×28 and each batch is resized when used, so memory does not grow with N × 192² × 12 bytes
  /// (26 GB; it used to abort). A few batches, then the peak RSS the process itself reports.
  func testTheWholeFashionMNISTTrainingFileFitsInBoundedMemory() throws {
    try requireAssets()
    func train(_ perClass: String) throws -> (stderr: String, peak: Double) {
      let result = try run([
        "train", "--data", "fashion-mnist", "--per-class", perClass, "--val", "50", "--test", "64", "--image", "192",
        "--canvas", "224", "--epochs", "1", "--steps", "2", "--batch", "16", "--mapping", "rlm", "--quiet",
      ])
      XCTAssertEqual(result.status, 0, result.stderr)
      return (result.stderr, try peakMB(result.stderr))
    }
    let all = try train("all")
    XCTAssertTrue(all.stderr.contains("59500 train / 500 val / 64 test images"), all.stderr)
    let small = try train("100")
    XCTAssertTrue(small.stderr.contains("1000 train / 500 val / 64 test images"), small.stderr)
    // The stated bound (docs/PERFORMANCE.md): under 2 GB for MobileNetV2 at canvas 224, batch 16 (0.29 GB
    // measured alone; 1.2 GB once on a machine loaded by two sanitizer jobs), and the 59 000 extra images
    // cost about their stored bytes (46 MB) — not their floats at 192 px (26 GB).
    XCTAssertLessThan(all.peak, 2048, "peak RSS \(all.peak) MB")
    XCTAssertLessThan(all.peak - small.peak, 512, "59 000 more images cost \(all.peak - small.peak) MB")
  }

  /// A data set that cannot fit is refused before anything is allocated, naming the file and the memory.
  func testADataSetLargerThanMemoryIsRefusedNamingItsSize() throws {
    let scratch = try Scratch()
    var record: [UInt8] = [3]
    record += (0..<3072).map { UInt8($0 % 251) }
    try FileManager.default.createDirectory(atPath: scratch.path("cifar"), withIntermediateDirectories: true)
    for name in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
      try Data(Array(repeating: record, count: 8).joined()).write(
        to: URL(fileURLWithPath: scratch.path("cifar/\(name)")))
    }
    // 100 KB: enough for a 32 px prompt's state (60 KB), not for the 40 training images (120 KB).
    let result = try run(
      [
        "train", "--data", "cifar10:" + scratch.path("cifar"), "--per-class", "1", "--val", "0", "--canvas", "32",
        "--image", "16", "--quiet",
      ],
      environment: ["VPBOOK_MEMORY_LIMIT": "100K"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(
      result.stderr.contains(
        "data_batch_1.bin: 40 CIFAR images (32×32×3 bytes each) needs 120 KB of memory, more than the 100 KB available"),
      result.stderr)
  }

  /// Not on a terminal (CI, Slurm logs): the size of the run first, then plain progress lines.
  func testProgressReachesLogsWhenNotOnATerminal() throws {
    try requireAssets()
    let result = try run(
      [
        "train", "--data", "digits", "--per-class", "5", "--val", "0", "--test", "2", "--canvas", "32", "--image", "16",
        "--epochs", "2", "--batch", "16", "--mapping", "rlm",
      ], environment: ["VPBOOK_PROGRESS_SECONDS": "0"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stderr.contains("seed 7: 2 epochs of 4 batches"), result.stderr)
    XCTAssertTrue(result.stderr.contains("seed 7: epoch 2/2, batch 4/4, loss "), result.stderr)
    XCTAssertFalse(result.stderr.contains("\r"), "terminal control characters in a log")
  }

  /// Sizes from the user are checked against what they would allocate before anything is allocated: a clean
  /// error with the memory needed, not an abort.
  func testAHugeCanvasOrBatchIsAnErrorSayingHowMuchItWouldNeed() throws {
    let canvas = try run(["train", "--canvas", "100000", "--image", "16", "--per-class", "2", "--quiet"])
    XCTAssertEqual(canvas.status, 1, canvas.stderr)
    XCTAssertTrue(
      canvas.stderr.contains(
        "Error: prompt: a 100000 px canvas needs 558.8 GB for the prompt and its optimiser state, more than the "),
      canvas.stderr)
    XCTAssertFalse(canvas.stderr.contains("Fatal error"), canvas.stderr)
    XCTAssertThrowsError(try BlockLanguage.check("prompt pad canvas=100000 image=16", file: "nb.md")) {
      XCTAssertTrue("\($0)".hasPrefix("nb.md:1: prompt: a 100000 px canvas needs 558.8 GB"), "\($0)")
    }
    try requireAssets()
    let batch = try run(
      [
        "train", "--data", "digits", "--per-class", "all", "--val", "0", "--test", "2", "--canvas", "224", "--image",
        "16", "--batch", "2000", "--quiet",
      ], environment: ["VPBOOK_MEMORY_LIMIT": "1G"])
    XCTAssertEqual(batch.status, 1, batch.stderr)
    XCTAssertTrue(
      batch.stderr.contains("training: a batch of 1777 images on a 224 px canvas needs "), batch.stderr)
    // Two images on a 2048 px canvas fit (300 MB), the activations MobileNetV2 keeps for their input gradient do
    // not (several GB): refused before the model runs, not an allocation failure or an out-of-memory kill.
    let activations = try run(
      [
        "train", "--data", "digits", "--per-class", "2", "--val", "0", "--test", "2", "--canvas", "2048", "--image",
        "16", "--batch", "2", "--quiet",
      ], environment: ["VPBOOK_MEMORY_LIMIT": "1G"])
    XCTAssertEqual(activations.status, 1, activations.stderr)
    XCTAssertTrue(
      activations.stderr.contains("Error: training: a step of mobilenet_v2 over 2 images on a 2048 px canvas needs "),
      activations.stderr)
    XCTAssertTrue(
      activations.stderr.contains(" for the activations its input gradient keeps, more than the 1.0 GB available"),
      activations.stderr)
    XCTAssertEqual(activations.stdout, "", "training started")
  }

  /// `kill -9` while `vpbook run` writes a large report: whatever moment it dies, each of the report and the
  /// manifest is a complete file (the old one or the new one), never a truncated one.
  func testSIGKILLWhileWritingTheReportNeverLeavesAHalfFile() throws {
    let scratch = try Scratch()
    let notebook = scratch.write(
      "big.md", "# Big\n\n" + String(repeating: "A line of prose to write. ", count: 80_000) + "\n")
    let html = scratch.path("out/big.html")
    let json = scratch.path("out/big.json")
    let arguments = ["run", notebook, "-o", html, "--cache-dir", scratch.path("cache")]
    XCTAssertEqual(try run(arguments).status, 0)
    for attempt in 0..<12 {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: try vpbookBinary())
      process.arguments = arguments
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      usleep(useconds_t(20_000 + attempt * 15_000))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      let page = try String(contentsOfFile: html, encoding: .utf8)
      XCTAssertTrue(page.hasSuffix("</html>\n"), "attempt \(attempt): the report is cut short")
      XCTAssertNoThrow(
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))),
        "attempt \(attempt): the manifest is not complete JSON")
    }
  }
}
