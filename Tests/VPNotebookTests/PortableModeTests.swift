import Foundation
import VPReport
import VPTensor
import XCTest

@testable import VPNotebook

/// Portable mode (`--portable`, a notebook's `portable: true`): vpbook executes itself again with OpenBLAS's
/// Haswell kernels, records it, and gives the numbers of those kernels; results of other kernels are not taken
/// from the cache.
final class PortableModeTests: XCTestCase {
  /// The AVX2 machines these tests run on; portable mode is refused elsewhere (checked by hand, not here).
  private func requireAVX2() throws {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    try XCTSkipUnless(info.contains(" avx2") && info.contains(" fma"), "portable mode needs AVX2 and FMA")
  }

  private static let train = [
    "train", "--data", "digits", "--per-class", "20", "--val", "5", "--test", "100", "--canvas", "32", "--image",
    "16", "--epochs", "2", "--mapping", "ilm", "--seeds", "7", "--quiet",
  ]

  private func report(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
  }

  /// `vpbook train --portable` runs OpenBLAS's Haswell kernels (and vpbook's AVX2 build) and says so; its numbers
  /// are those of a run forced onto the same OpenBLAS kernels by hand (`OPENBLAS_CORETYPE=Haswell`), to the bit.
  func testTrainInPortableModeGivesTheHaswellKernelsNumbers() throws {
    try requireAssets()
    try requireAVX2()
    let scratch = try Scratch()
    let (portable, byHand) = (scratch.path("portable.json"), scratch.path("haswell.json"))
    let a = try runVPBook(Self.train + ["--portable", "--json", portable])
    XCTAssertEqual(a.status, 0, a.stderr)
    let b = try runVPBook(Self.train + ["--json", byHand], environment: ["OPENBLAS_CORETYPE": "Haswell"])
    XCTAssertEqual(b.status, 0, b.stderr)
    let (ra, rb) = (try report(portable), try report(byHand))
    XCTAssertEqual(ra["kernels"] as? String, "OpenBLAS Haswell; vpbook's own AVX2/FMA; portable mode")
    // By hand, vpbook's own kernels run their AVX-512 build where the CPU has it: the equal losses below then also
    // check that build against the AVX2 one over a whole training run.
    let own = BLASKernels.cpuHasAVX512 ? "AVX-512" : "AVX2/FMA"
    XCTAssertEqual(rb["kernels"] as? String, "OpenBLAS Haswell; vpbook's own \(own)")
    let losses = { (r: [String: Any]) -> [Double] in
      ((r["results"] as! [[String: Any]])[0]["history"] as! [[String: Any]]).map { $0["trainLoss"] as! Double }
    }
    XCTAssertEqual(losses(ra), losses(rb))
    XCTAssertTrue(a.stderr.contains("kernels: OpenBLAS Haswell"), a.stderr)
    // A user's other kernel choice and portable mode cannot both hold: a clear error, no run.
    let clash = try runVPBook(Self.train + ["--portable"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
    XCTAssertEqual(clash.status, 2)
    XCTAssertTrue(clash.stderr.contains("portable mode needs"), clash.stderr)
  }

  /// `VPBOOK_FUSED=all` changes the last bits, so the kernels summary (and with it the block cache's key) names
  /// it; portable mode ignores it, since a portable run's numbers must not depend on it.
  func testFusingOnOpenBLASTilesIsNamedAndPortableModeIgnoresIt() throws {
    try requireAssets()
    try requireAVX2()
    let scratch = try Scratch()
    let (fused, portable) = (scratch.path("fused.json"), scratch.path("portable.json"))
    let a = try runVPBook(Self.train + ["--json", fused], environment: ["VPBOOK_FUSED": "all"])
    XCTAssertEqual(a.status, 0, a.stderr)
    XCTAssertTrue((try report(fused)["kernels"] as? String ?? "").hasSuffix("; blocks fused on OpenBLAS tiles"))
    let b = try runVPBook(Self.train + ["--portable", "--json", portable], environment: ["VPBOOK_FUSED": "all"])
    XCTAssertEqual(b.status, 0, b.stderr)
    XCTAssertEqual(try report(portable)["kernels"] as? String, "OpenBLAS Haswell; vpbook's own AVX2/FMA; portable mode")
  }

  /// A notebook's `portable: true` switches the run to portable mode: the appendix and the manifest say so,
  /// and blocks cached under other kernels run again.
  func testANotebookAsksForPortableModeInItsFrontMatter() throws {
    try requireAssets()
    try requireAVX2()
    let scratch = try Scratch()
    let body = """
      ```vp
      model mobilenet_v2
      data digits per_class=5 val=2 test=20
      prompt pad canvas=32 image=16
      train mapping=flm epochs=1 batch=16
      ```
      """
    let plain = scratch.write("plain.md", body)
    let cache = scratch.path("cache")
    let first = try runVPBook(["run", plain, "--cache-dir", cache, "-o", scratch.path("plain.html"), "--quiet"])
    XCTAssertEqual(first.status, 0, first.stderr)
    XCTAssertFalse(try String(contentsOfFile: scratch.path("plain.html"), encoding: .utf8).contains("portable mode"))
    // The same blocks in a portable notebook: nothing comes from the cache the first run filled (unless that run
    // happened to use the Haswell kernels already).
    let portable = scratch.write("portable.md", "---\ntitle: Portable\nportable: true\n---\n\n" + body)
    let second = try runVPBook(["run", portable, "--cache-dir", cache, "-o", scratch.path("portable.html"), "--quiet"])
    XCTAssertEqual(second.status, 0, second.stderr)
    let html = try String(contentsOfFile: scratch.path("portable.html"), encoding: .utf8)
    XCTAssertTrue(
      html.contains("OpenBLAS Haswell; vpbook&#39;s own AVX2/FMA; portable mode"), "the appendix does not record it")
    let manifest = try report(scratch.path("portable.json"))
    let environment = try XCTUnwrap(manifest["environment"] as? [String: String])
    XCTAssertEqual(environment["kernels"], "OpenBLAS Haswell; vpbook's own AVX2/FMA; portable mode")
    let plainManifest = try report(scratch.path("plain.json"))
    let plainKernels = (plainManifest["environment"] as? [String: String])?["kernels"] ?? ""
    if !plainKernels.hasPrefix("OpenBLAS Haswell") {
      XCTAssertTrue(second.stderr.contains(", 0 from the cache"), second.stderr)
    }
    // A front-matter value that is not a boolean is an error at its line.
    let bad = scratch.write("bad.md", "---\nportable: sometimes\n---\n\n" + body)
    let failed = try runVPBook(["run", bad, "--cache-dir", cache, "-o", scratch.path("bad.html"), "--quiet"])
    XCTAssertNotEqual(failed.status, 0)
    XCTAssertTrue(failed.stderr.contains("bad.md:2: front matter key 'portable' must be true or false"), failed.stderr)
  }
}
