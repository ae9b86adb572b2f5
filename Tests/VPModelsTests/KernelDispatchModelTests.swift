import CKernels
import VPModels
import VPTensor
import XCTest

/// The models' VP step (logits and the input gradient of a cross-entropy on 10 of them) with vpbook's AVX2 kernels
/// and with its AVX-512 kernels: the same bits (the issue asked for 1e-5; the builds are designed to agree exactly).
/// MobileNetV2 and EfficientNet-Lite0 run the depthwise kernels (3×3 and 5×5), ResNet-18 Winograd's transforms.
final class KernelDispatchModelTests: XCTestCase {
  /// How many values differ in their bits (−1 when the counts differ).
  func differing(_ a: [Float], _ b: [Float]) -> Int {
    a.count == b.count ? zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count : -1
  }

  func testModelsGiveTheSameBitsWithEitherBuild() throws {
    try XCTSkipUnless(vp_cpu_has_avx512() == 1, "this CPU has no AVX-512: only the AVX2 build can run")
    let models = [
      try XCTUnwrap(Loaded.mobilenet), try XCTUnwrap(Loaded.efficientnet), try XCTUnwrap(Loaded.resnet18),
    ]
    let before = vp_kernels_level()
    defer { vp_kernels_select(before) }
    for model in models {
      for (side, batch) in [(64, 3), (96, 2)] {
        let x = ModelFixtures.input(n: batch, size: side)
        var runs: [(logits: Tensor, gradient: Tensor)] = []
        for level in Int32(0)...1 {
          XCTAssertEqual(vp_kernels_select(level), level)
          runs.append(
            model.inputGradient(x) { logits, range in
              ResNetWinogradTests.lossGradient(logits, range, classes: model.classCount, batch: batch)
            })
        }
        let what = "\(model.name) at \(side) px"
        XCTAssertEqual(differing(runs[0].logits.data, runs[1].logits.data), 0, "\(what): logits differing")
        XCTAssertEqual(differing(runs[0].gradient.data, runs[1].gradient.data), 0, "\(what): gradients differing")
        XCTAssertGreaterThan(runs[0].gradient.data.map(abs).max() ?? 0, 0, "\(what): a gradient to compare")
      }
    }
  }
}
