import Foundation
import VPModels
import VPTensor
import VPTestSupport
import XCTest

/// The model fixtures written by `Reference/make_model_fixtures.py`: an independent numpy implementation
/// of each architecture (float64) reading the same checkpoints through Python's pickle module.
struct ModelFixtures: Decodable {
  struct Stored: Decodable {
    var shape: [Int]
    var data: [Float]
  }
  struct Logits: Decodable {
    var N: Int
    var S: Int
    var logits: Stored
    var argmax: [Int]
  }
  struct Penultimate: Decodable {
    var N: Int
    var S: Int
    var first64: Stored
    var row_sums: Stored
  }
  struct VPGradient: Decodable {
    var N: Int
    var S: Int
    var idx: [Int]
    var labels: [Int]
    var loss: Float
    var grad_sum: Float
    var grad_l2: Float
    var positions: [[Int]]
    var values: Stored
  }
  struct Model: Decodable {
    var logits_224: Logits?
    var logits_64: Logits?
    var penultimate_224: Penultimate?
    var penultimate_64: Penultimate?
    var vp_grad_64: VPGradient?
  }
  var models: [String: Model]

  static let shared: ModelFixtures = {
    try! loadFixture("models", as: ModelFixtures.self, in: .module)
  }()

  /// The fixed input of the fixtures, channels-last:
  /// `x[n, c, h, w] = 1.5 sin(0.05 h + 0.031 w + 1.7 c + 0.9 n) + 0.2 cos(0.013 h w)`.
  static func input(n: Int, size s: Int) -> Tensor {
    var data = [Float](repeating: 0, count: n * s * s * 3)
    for b in 0..<n {
      for h in 0..<s {
        for w in 0..<s {
          for c in 0..<3 {
            let v =
              1.5 * Foundation.sin(0.05 * Double(h) + 0.031 * Double(w) + 1.7 * Double(c) + 0.9 * Double(b)) + 0.2
              * Foundation.cos(0.013 * Double(h) * Double(w))
            data[((b * s + h) * s + w) * 3 + c] = Float(v)
          }
        }
      }
    }
    return Tensor(shape: [n, s, s, 3], data: data)
  }
}

/// Loads the real checkpoints that setup installs. A missing asset is a failure, not a skip, unless
/// `VPBOOK_ALLOW_MISSING_ASSETS=1`.
func requireAsset(_ relative: String) throws -> String {
  do {
    return try TestAssets.path(relative)
  } catch let error as TestAssets.Missing {
    XCTFail("\(error)")  // also reported where the failure is swallowed (the `try?` of `Loaded`)
    throw error
  }
}

enum Loaded {
  static let mobilenet: ImageClassifier? = try? ModelZoo.load(
    .mobilenetV2, weights: try requireAsset(ModelName.mobilenetV2.defaultWeights!))
  static let efficientnet: ImageClassifier? = try? ModelZoo.load(
    .efficientnetLite0, weights: try requireAsset(ModelName.efficientnetLite0.defaultWeights!))
  static let resnet18: ImageClassifier? = try? ModelZoo.load(
    .resnet18, weights: try requireAsset("models/resnet18-random-10class.pth"))
}

final class ModelReferenceTests: XCTestCase {
  func model(_ m: ImageClassifier?) throws -> ImageClassifier {
    try XCTUnwrap(m, "model failed to load (is setup done?)")
  }

  func checkLogits(_ m: ImageClassifier, _ f: ModelFixtures.Logits, _ what: String) {
    let y = m.logits(ModelFixtures.input(n: f.N, size: f.S))
    XCTAssertEqual(y.shape, f.logits.shape)
    assertClose(y.data, f.logits.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) logits")
    for r in 0..<f.N {
      let row = Array(y.data[(r * m.classCount)..<((r + 1) * m.classCount)])
      XCTAssertEqual(row.firstIndex(of: row.max()!), f.argmax[r], "\(what) argmax row \(r)")
    }
  }

  func checkFeatures(_ m: ImageClassifier, _ f: ModelFixtures.Penultimate, _ what: String) {
    let y = m.features(ModelFixtures.input(n: f.N, size: f.S))
    XCTAssertEqual(y.shape, [f.N, m.featureCount])
    var first: [Float] = []
    var sums: [Float] = []
    for r in 0..<f.N {
      let row = y.data[(r * m.featureCount)..<((r + 1) * m.featureCount)]
      first += row.prefix(64)
      sums.append(row.reduce(0, +))
    }
    assertClose(first, f.first64.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) features")
    assertClose(sums, f.row_sums.data, tolerance: 1e-4, relativeTo: .largestExpected, "\(what) feature sums")
  }

  func checkGradient(_ m: ImageClassifier, _ f: ModelFixtures.VPGradient, _ what: String) {
    let x = ModelFixtures.input(n: f.N, size: f.S)
    let classes = m.classCount
    let idx = f.idx
    let labels = f.labels
    let batch = f.N
    let (_, g) = m.inputGradient(x) { logits, range in
      var z = [Float](repeating: 0, count: range.count * idx.count)
      for r in 0..<range.count { for (j, k) in idx.enumerated() { z[r * idx.count + j] = logits[r * classes + k] } }
      let (_, gz) = Loss.crossEntropy(logits: z, labels: Array(labels[range]), classes: idx.count, scale: batch)
      var out = [Float](repeating: 0, count: range.count * classes)
      for r in 0..<range.count { for (j, k) in idx.enumerated() { out[r * classes + k] = gz[r * idx.count + j] } }
      return out
    }
    let sampled = f.positions.map { p in g.data[((p[0] * f.S + p[2]) * f.S + p[3]) * 3 + p[1]] }
    assertClose(
      sampled, f.values.data, tolerance: 1e-3, relativeTo: .largestExpected, "\(what) input gradient at 400 positions")
    let l2 = Float(g.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
    XCTAssertEqual(l2, f.grad_l2, accuracy: 1e-3 * f.grad_l2, "\(what) gradient norm")
  }

  func testMobileNetV2MatchesReference() throws {
    let m = try model(Loaded.mobilenet)
    let f = ModelFixtures.shared.models["mobilenet_v2"]!
    checkLogits(m, f.logits_224!, "MobileNetV2")
    checkFeatures(m, f.penultimate_224!, "MobileNetV2")
    checkGradient(m, f.vp_grad_64!, "MobileNetV2")
  }

  func testEfficientNetLite0MatchesReference() throws {
    let m = try model(Loaded.efficientnet)
    let f = ModelFixtures.shared.models["efficientnet_lite0"]!
    checkLogits(m, f.logits_224!, "EfficientNet-Lite0")
    checkFeatures(m, f.penultimate_224!, "EfficientNet-Lite0")
  }

  func testResNet18FromZipCheckpointMatchesReference() throws {
    let m = try model(Loaded.resnet18)
    XCTAssertEqual(m.classCount, 10)
    let f = ModelFixtures.shared.models["resnet18"]!
    checkLogits(m, f.logits_64!, "ResNet-18")
    checkFeatures(m, f.penultimate_64!, "ResNet-18")
    checkGradient(m, f.vp_grad_64!, "ResNet-18")
  }

  /// Micro-batching and the data-parallel workers must not change the numbers.
  func testMicroBatchSizeDoesNotChangeResults() throws {
    let m = try model(Loaded.mobilenet)
    let x = ModelFixtures.input(n: 5, size: 64)
    m.microBatchOverride = 5
    let whole = m.logits(x)
    m.microBatchOverride = 2
    let split = m.logits(x)
    m.microBatchOverride = nil
    XCTAssertEqual(whole.shape, split.shape)
    let diff = zip(whole.data, split.data).map { abs($0 - $1) }.max()!
    XCTAssertLessThan(diff, 1e-4)
  }

  func testResNet34And50BuildWithTorchvisionShapes() throws {
    let r34 = try ResNet.build(WeightReader(syntheticSeed: 1), depth: .r34, classes: 1000)
    let r50 = try ResNet.build(WeightReader(syntheticSeed: 1), depth: .r50, classes: 1000)
    XCTAssertEqual(r34.featureCount, 512)
    XCTAssertEqual(r50.featureCount, 2048)
    let y = r50.logits(ModelFixtures.input(n: 1, size: 32))
    XCTAssertEqual(y.shape, [1, 1000])
    XCTAssertFalse(y.data.contains { !$0.isFinite })
  }
}
