import VPTensor
import XCTest

final class BLASKernelsTests: XCTestCase {
  let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]
  let avx2: Set<String> = ["sse3", "avx", "avx2", "fma"]

  func testAnOlderKernelSetIsReplacedByTheBestTheCPUAllows() {
    XCTAssertEqual(BLASKernels.preferred(cpuFlags: avx512, current: "Prescott", portable: false), "SkylakeX")
    XCTAssertEqual(BLASKernels.preferred(cpuFlags: avx2, current: "Prescott", portable: false), "Haswell")
    XCTAssertEqual(BLASKernels.preferred(cpuFlags: avx2, current: "Sandybridge", portable: false), "Haswell")
    // AVX-512 F alone (no BW/DQ/VL) is not enough for OpenBLAS's SkylakeX kernels.
    XCTAssertEqual(
      BLASKernels.preferred(cpuFlags: avx2.union(["avx512f"]), current: "Core2", portable: false), "Haswell")
    XCTAssertNil(BLASKernels.preferred(cpuFlags: ["sse3", "avx"], current: "Sandybridge", portable: false))
  }

  func testAModernChoiceOfOpenBLASIsLeftAlone() {
    for name in ["Haswell", "SkylakeX", "Zen", "COOPERLAKE"] {
      XCTAssertNil(BLASKernels.preferred(cpuFlags: avx512, current: name, portable: false), name)
    }
  }

  func testPortableModeAsksForHaswellEverywhereItRuns() {
    XCTAssertEqual(BLASKernels.preferred(cpuFlags: avx512, current: "SkylakeX", portable: true), "Haswell")
    XCTAssertEqual(BLASKernels.preferred(cpuFlags: avx512, current: "Prescott", portable: true), "Haswell")
    XCTAssertNil(BLASKernels.preferred(cpuFlags: avx512, current: "Haswell", portable: true))
    XCTAssertNil(BLASKernels.preferred(cpuFlags: ["sse3"], current: "Prescott", portable: true))
  }
}
