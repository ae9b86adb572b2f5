import Foundation
import VPCheckpoint
import VPTestSupport
import XCTest

/// The real checkpoints, checked against `Fixtures/reference.json` (made by `Reference/make_reference.py`
/// with a restricted Python unpickler and numpy, independently of this module).
final class RealCheckpointTests: XCTestCase {
  struct Reference: Decodable {
    struct File: Decodable {
      let file: String
      let format: String
      let tensorCount: Int
      let firstKey: String
      let lastKey: String
      let weightBiasElements: Int
      let stridedCount: Int
      let tensors: [Tensor]
    }
    struct Tensor: Decodable {
      let key: String
      let dtype: String
      let shape: [Int]
      let stride: [Int]
      let storageOffset: Int
      let contiguous: Bool
      let count: Int
      let sum: Double
      let absSum: Double
      let first5: [Double]
    }
    let files: [File]
  }

  static func reference() throws -> Reference {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/reference.json")
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(Reference.self, from: Data(contentsOf: url))
  }

  /// The relative tolerance of the comparisons: `|a - b| <= 1e-6 · max(|b|, floor)`.
  static let tolerance = 1e-6

  func testAgainstPythonReference() throws {
    let reference = try Self.reference()
    XCTAssertEqual(reference.files.count, 3)
    for expected in reference.files {
      let path = try Checkpoints.path(expected.file)
      let dict = try loadCheckpoint(path)
      XCTAssertEqual(dict.format, expected.format == "zip" ? .torchZip : .torchLegacy, expected.file)
      XCTAssertEqual(dict.count, expected.tensorCount, expected.file)
      XCTAssertEqual(dict.keys.first, expected.firstKey)
      XCTAssertEqual(dict.keys.last, expected.lastKey)
      let weightBias = dict.filter {
        ($0.name.hasSuffix("weight") || $0.name.hasSuffix("bias")) && $0.tensor.dtype.isFloatingPoint
      }
      .reduce(0) { $0 + $1.tensor.count }
      XCTAssertEqual(weightBias, expected.weightBiasElements, expected.file)
      XCTAssertEqual(dict.filter { !$0.tensor.isContiguous }.count, expected.stridedCount, expected.file)
      for t in expected.tensors {
        let tensor = try dict.tensor(t.key)
        let label = "\(expected.file) \(t.key)"
        XCTAssertEqual(tensor.shape, t.shape, label)
        XCTAssertEqual(tensor.strides, t.stride, label)
        XCTAssertEqual(tensor.storageOffset, t.storageOffset, label)
        XCTAssertEqual(tensor.isContiguous, t.contiguous, label)
        XCTAssertEqual(tensor.count, t.count, label)
        XCTAssertEqual(tensor.dtype.rawValue, t.dtype, label)
        let values: [Double]
        if tensor.dtype.isFloatingPoint {
          values = try tensor.floats().map(Double.init)
        } else {
          values = try tensor.int64s().map(Double.init)
        }
        XCTAssertEqual(values.count, t.count, label)
        assertClose(
          values.reduce(0, +), t.sum, tolerance: Self.tolerance, relativeTo: .eachExpected(floor: t.absSum),
          "\(label) sum")
        assertClose(
          values.reduce(0) { $0 + abs($1) }, t.absSum, tolerance: Self.tolerance,
          relativeTo: .eachExpected(floor: t.absSum), "\(label) abs sum")
        for (a, b) in zip(values.prefix(5), t.first5) {
          assertClose(a, b, tolerance: Self.tolerance, relativeTo: .eachExpected(floor: 0), "\(label) first5")
        }
      }
    }
  }

  func testMobileNetV2Legacy() throws {
    let path = try Checkpoints.path("mobilenet_v2-b0353104.pth")
    let start = Date()
    let dict = try loadCheckpoint(path)
    let loadSeconds = Date().timeIntervalSince(start)
    XCTAssertEqual(dict.format, .torchLegacy)
    XCTAssertEqual(try dict.shape("features.0.0.weight"), [32, 3, 3, 3])
    XCTAssertEqual(try dict.shape("classifier.1.weight"), [1000, 1280])
    XCTAssertEqual(try dict.shape("classifier.1.bias"), [1000])
    XCTAssertEqual(try dict.floats("classifier.1.weight").count, 1_280_000)
    var parameters = 0
    var batchesTracked = 0
    for (name, tensor) in dict {
      if name.hasSuffix("num_batches_tracked") {
        XCTAssertEqual(tensor.dtype, .int64)
        XCTAssertEqual(tensor.shape, [])
        XCTAssertEqual(try tensor.int64s().count, 1)
        batchesTracked += 1
      } else if name.hasSuffix("weight") || name.hasSuffix("bias") {
        XCTAssertEqual(tensor.dtype, .float32)
        parameters += tensor.count
      }
    }
    XCTAssertEqual(parameters, 3_504_872)
    XCTAssertEqual(batchesTracked, 52)
    var decoded = 0
    for (_, tensor) in dict where tensor.dtype == .float32 { decoded += try tensor.floats().count }
    let totalSeconds = Date().timeIntervalSince(start)
    XCTAssertEqual(decoded, 3_504_872 + 2 * 17_056)  // parameters plus BatchNorm running statistics
    XCTAssertLessThan(loadSeconds, 2, "loading MobileNetV2 took \(loadSeconds) s")
    print(
      "MobileNetV2: load \(String(format: "%.1f", loadSeconds * 1000)) ms, "
        + "load + floats() of every tensor \(String(format: "%.1f", totalSeconds * 1000)) ms")
    assertCheckpointError(["mobilenet_v2-b0353104.pth: no tensor named 'fc.weight'"], kind: .missingTensor) {
      try dict.floats("fc.weight")
    }
    assertCheckpointError(["mobilenet_v2-b0353104.pth", "tensor 'classifier.1.bias' has dtype float32"]) {
      try dict.tensor("classifier.1.bias").int64s()
    }
  }

  /// Every strided EfficientNet-Lite0 weight: element `i` of `floats()` is storage element
  /// `offset + Σ index·stride`, where `index` is `i` in row-major coordinates.
  func testEfficientNetStridedViews() throws {
    let dict = try loadCheckpoint(try Checkpoints.path("efficientnet-lite0-57934424.pth"))
    XCTAssertEqual(try dict.shape("_conv_stem.weight"), [32, 3, 3, 3])
    XCTAssertEqual(try dict.shape("_blocks.0._depthwise_conv.weight"), [32, 1, 3, 3])
    XCTAssertEqual(try dict.shape("_fc.weight"), [1000, 1280])
    let strided = dict.filter { !$0.tensor.isContiguous }
    XCTAssertEqual(strided.count, 50)
    XCTAssertTrue(strided.contains { $0.name == "_fc.weight" })
    for (name, tensor) in strided {
      let values = try tensor.floats()
      let storage = try tensor.storageFloats()
      XCTAssertEqual(values.count, tensor.count)
      var mismatches = 0
      for i in 0..<tensor.count {
        var rest = i
        var index = tensor.storageOffset
        for d in tensor.shape.indices.reversed() {
          index += (rest % tensor.shape[d]) * tensor.strides[d]
          rest /= tensor.shape[d]
        }
        if values[i].bitPattern != storage[index].bitPattern { mismatches += 1 }
      }
      XCTAssertEqual(mismatches, 0, name)
    }
  }

  func testResNet18ZipHasTorchvisionKeysWithTenClassHead() throws {
    let dict = try loadCheckpoint(try Checkpoints.path("resnet18-random-10class.pth"))
    XCTAssertEqual(dict.format, .torchZip)
    func bn(_ p: String) -> [String] {
      ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map { "\(p).\($0)" }
    }
    var expected = ["conv1.weight"] + bn("bn1")
    for layer in 1...4 {
      for block in 0...1 {
        let p = "layer\(layer).\(block)"
        expected += ["\(p).conv1.weight"] + bn("\(p).bn1") + ["\(p).conv2.weight"] + bn("\(p).bn2")
        if layer > 1, block == 0 { expected += ["\(p).downsample.0.weight"] + bn("\(p).downsample.1") }
      }
    }
    expected += ["fc.weight", "fc.bias"]
    // This file was saved from a wrapper module, so every key carries a "backbone." prefix.
    XCTAssertEqual(dict.keys, expected.map { "backbone." + $0 })
    XCTAssertEqual(try dict.shape("backbone.conv1.weight"), [64, 3, 7, 7])
    XCTAssertEqual(try dict.shape("backbone.layer2.0.downsample.0.weight"), [128, 64, 1, 1])
    XCTAssertEqual(try dict.shape("backbone.layer4.1.conv2.weight"), [512, 512, 3, 3])
    XCTAssertEqual(try dict.shape("backbone.fc.weight"), [10, 512])
    XCTAssertEqual(try dict.shape("backbone.fc.bias"), [10])
    XCTAssertEqual(try dict.shape("backbone.bn1.num_batches_tracked"), [])
    XCTAssertTrue(dict.allSatisfy { $0.tensor.isContiguous })
  }

  func testSafetensorsRoundTripOfARealCheckpoint() throws {
    let source = try loadCheckpoint(try Checkpoints.path("efficientnet-lite0-57934424.pth"))
    let directory = try temporaryDirectory(self)
    let path = directory.appendingPathComponent("lite0.safetensors").path
    try Safetensors.write(source, metadata: ["format": "pt"], to: path)
    let copy = try loadCheckpoint(path)
    XCTAssertEqual(copy.format, .safetensors)
    XCTAssertEqual(copy.keys, source.keys)
    XCTAssertEqual(copy.metadata, ["format": "pt"])
    for (name, tensor) in source {
      XCTAssertEqual(try copy.shape(name), tensor.shape)
      if tensor.dtype.isFloatingPoint {
        XCTAssertEqual(try copy.floats(name), try tensor.floats(), name)
      } else {
        XCTAssertEqual(try copy.tensor(name).int64s(), try tensor.int64s(), name)
      }
    }
  }
}
