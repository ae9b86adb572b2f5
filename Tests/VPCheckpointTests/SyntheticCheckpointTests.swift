import Foundation
import VPCheckpoint
import XCTest

/// Hand-built torch checkpoints (both formats): offsets, strides, dtypes, wrappers and zip variants.
final class SyntheticCheckpointTests: XCTestCase {
  /// 0, 1, …, 23 as float32.
  static let ramp = littleEndianBytes((0..<24).map(Float.init))

  static let specs: [TensorSpec] = [
    TensorSpec(name: "a", key: "0", numel: 24, offset: 2, shape: [2, 3], strides: [1, 2]),
    TensorSpec(name: "b", key: "0", numel: 24, offset: 5, shape: [4], strides: [3]),
    TensorSpec(name: "c", key: "0", numel: 24, offset: 23, shape: [], strides: []),
    TensorSpec(name: "d", key: "0", numel: 24, offset: 1, shape: [3], strides: [0]),
    TensorSpec(name: "e", key: "0", numel: 24, offset: 10, shape: [2, 2], strides: [2, 1], parameter: true),
    TensorSpec(name: "h", type: "HalfStorage", key: "1", numel: 4, shape: [4], strides: [1]),
    TensorSpec(name: "i", type: "IntStorage", key: "2", numel: 2, shape: [2], strides: [1]),
    TensorSpec(
      name: "bn.num_batches_tracked", type: "LongStorage", key: "3", numel: 1, shape: [], strides: []),
    TensorSpec(name: "f64", type: "DoubleStorage", key: "4", numel: 2, shape: [1, 2], strides: [2, 1]),
    TensorSpec(name: "bf", type: "BFloat16Storage", key: "5", numel: 2, shape: [2], strides: [1]),
    TensorSpec(name: "mask", type: "BoolStorage", key: "6", numel: 2, shape: [2], strides: [1]),
    TensorSpec(name: "empty", key: "7", numel: 0, shape: [0, 5], strides: [5, 1]),
  ]

  static var storages: [(key: String, count: Int, data: [UInt8])] {
    var half: [UInt8] = []
    for bits: UInt16 in [0x3c00, 0xc000, 0x7bff, 0x0001] { half.le(bits) }
    var int32: [UInt8] = []
    int32.le(Int32(-5))
    int32.le(Int32(70000))
    var double: [UInt8] = []
    double.le((0.25).bitPattern)
    double.le((-1e10).bitPattern)
    var bf16: [UInt8] = []
    bf16.le(UInt16(0x3f80))
    bf16.le(UInt16(0xc040))
    return [
      ("0", 24, ramp), ("1", 4, half), ("2", 2, int32), ("3", 1, littleEndianBytes([Int64(123_456_789_012)])),
      ("4", 2, double), ("5", 2, bf16), ("6", 2, [1, 0]), ("7", 0, []),
    ]
  }

  private func checkValues(_ dict: StateDict, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(dict.keys, Self.specs.map(\.name), file: file, line: line)
    XCTAssertEqual(try dict.floats("a"), [2, 4, 6, 3, 5, 7], file: file, line: line)
    XCTAssertFalse(try dict.tensor("a").isContiguous, file: file, line: line)
    XCTAssertEqual(try dict.floats("b"), [5, 8, 11, 14], file: file, line: line)
    XCTAssertEqual(try dict.floats("c"), [23], file: file, line: line)
    XCTAssertEqual(try dict.shape("c"), [], file: file, line: line)
    XCTAssertEqual(try dict.floats("d"), [1, 1, 1], file: file, line: line)
    XCTAssertEqual(try dict.floats("e"), [10, 11, 12, 13], file: file, line: line)
    XCTAssertTrue(try dict.tensor("e").isContiguous, file: file, line: line)
    XCTAssertEqual(try dict.floats("h"), [1, -2, 65504, 0x1p-24], file: file, line: line)
    XCTAssertEqual(try dict.tensor("h").dtype, .float16, file: file, line: line)
    XCTAssertEqual(try dict.tensor("i").int64s(), [-5, 70000], file: file, line: line)
    XCTAssertEqual(try dict.floats("i"), [-5, 70000], file: file, line: line)
    XCTAssertEqual(
      try dict.tensor("bn.num_batches_tracked").int64s(), [123_456_789_012], file: file, line: line)
    XCTAssertEqual(try dict.floats("f64"), [0.25, -1e10], file: file, line: line)
    XCTAssertEqual(try dict.floats("bf"), [1, -3], file: file, line: line)
    XCTAssertEqual(try dict.tensor("mask").dtype, .bool, file: file, line: line)
    XCTAssertEqual(try dict.floats("mask"), [1, 0], file: file, line: line)
    XCTAssertEqual(try dict.floats("empty"), [], file: file, line: line)
    XCTAssertEqual(try dict.tensor("a").storageFloats(), (0..<24).map(Float.init), file: file, line: line)
  }

  func testLegacyFileWithOffsetsStridesDtypesAndViews() throws {
    var specs = Self.specs
    specs.append(
      TensorSpec(name: "view", key: "8", numel: 10, offset: 1, shape: [2], strides: [1], view: ("8v", 4, 3)))
    let pickle = PickleBuilder.stateDict(specs, legacy: true)
    let storages = Self.storages + [("8", 10, littleEndianBytes((100..<110).map(Float.init)))]
    let bytes = LegacyBuilder.file(statePickle: pickle, storages: storages)
    XCTAssertEqual(CheckpointFormat.detect(bytes), .torchLegacy)
    let dict = try loadCheckpoint(bytes: bytes, path: "synthetic.pth")
    XCTAssertEqual(dict.format, .torchLegacy)
    // The view starts at root element 4; the tensor adds its own offset of 1.
    XCTAssertEqual(try dict.floats("view"), [105, 106])
    var plain = dict.keys
    plain.removeLast()
    XCTAssertEqual(plain, Self.specs.map(\.name))
    try checkValues(StateDict(dict.filter { $0.name != "view" }.map { ($0.name, $0.tensor) }))
  }

  func testZipFileStoredDeflatedAndZip64() throws {
    let pickle = PickleBuilder.stateDict(Self.specs, legacy: false)
    let storages = Self.storages.map { (key: $0.key, data: $0.data) }
    for zip64 in [false, true] {
      let bytes = ZipBuilder.torchFile(
        statePickle: pickle, storages: storages, deflate: ["0", "3"], zip64: zip64)
      XCTAssertEqual(CheckpointFormat.detect(bytes), .torchZip)
      let dict = try loadCheckpoint(bytes: bytes, path: "synthetic.pt")
      XCTAssertEqual(dict.format, .torchZip)
      try checkValues(dict)
    }
  }

  func testZipEntryCompressedByZlib() throws {
    // zlib.compressobj(9, DEFLATED, -15) of 256 float32 values (i % 7) * 0.5, made with Python.
    let deflated: [UInt8] = [
      0x63, 0x60, 0x00, 0x03, 0x7b, 0x06, 0x86, 0x06, 0x20, 0x3e, 0x00, 0xc4, 0x0c, 0x0e, 0x0c, 0x0c, 0x0a,
      0x40,
      0xec, 0xe0, 0xc0, 0x30, 0x2a, 0x37, 0x2a, 0x37, 0x2a, 0x37, 0xac, 0xe5, 0x00,
    ]
    let values = (0..<256).map { Float($0 % 7) * 0.5 }
    let raw = littleEndianBytes(values)
    XCTAssertEqual(crc32(raw), 0x4fcd_2e0f)
    let pickle = PickleBuilder.stateDict(
      [TensorSpec(name: "w", key: "0", numel: 256, shape: [16, 16], strides: [16, 1])], legacy: false)
    var zip = ZipBuilder()
    zip.add("m/data.pkl", pickle)
    zip.add("m/data/0", raw, deflated: deflated)
    let dict = try loadCheckpoint(bytes: zip.build(), path: "zlib.pt")
    XCTAssertEqual(try dict.floats("w"), values)

    // A deflate stream that ends early, or inflates to more than declared, is an error.
    var short = ZipBuilder()
    short.add("m/data.pkl", pickle)
    short.add("m/data/0", raw, deflated: Array(deflated.prefix(10)))
    assertCheckpointError(["short.pt", "bad zip entry 'm/data/0'"]) {
      try loadCheckpoint(bytes: short.build(), path: "short.pt")
    }
    var long = ZipBuilder()
    long.add("m/data.pkl", pickle)
    long.add("m/data/0", Array(raw.prefix(1000)), deflated: deflated)
    assertCheckpointError(["long.pt", "inflates to more than the declared 1000 bytes"]) {
      try loadCheckpoint(bytes: long.build(), path: "long.pt")
    }
  }

  func testWrappedStateDictIsUnwrapped() throws {
    let specs = [TensorSpec(name: "w", key: "0", numel: 24, shape: [4, 6], strides: [6, 1])]
    let pickle = PickleBuilder.stateDict(specs, legacy: false, wrapped: true)
    let bytes = ZipBuilder.torchFile(statePickle: pickle, storages: [("0", Self.ramp)])
    let dict = try loadCheckpoint(bytes: bytes, path: "wrapped.pt")
    XCTAssertEqual(dict.keys, ["w"])
    XCTAssertEqual(try dict.floats("w"), (0..<24).map(Float.init))
  }

  func testInvalidLayoutsAndStoragesAreReported() throws {
    func zip(_ spec: TensorSpec, storage: [UInt8] = SyntheticCheckpointTests.ramp) -> [UInt8] {
      ZipBuilder.torchFile(
        statePickle: PickleBuilder.stateDict([spec], legacy: false), storages: [("0", storage)])
    }
    assertCheckpointError(
      ["bad.pt", "tensor 'w'", "reaches element 24 of a 24-element storage"], kind: .malformed
    ) {
      try loadCheckpoint(
        bytes: zip(TensorSpec(name: "w", key: "0", numel: 24, shape: [5], strides: [6])), path: "bad.pt")
    }
    assertCheckpointError(["bad.pt", "storage entry 'archive/data/0' holds 96 bytes", "need 100"]) {
      try loadCheckpoint(
        bytes: zip(TensorSpec(name: "w", key: "0", numel: 25, shape: [5], strides: [1])), path: "bad.pt")
    }
    assertCheckpointError([
      "bad.pt", "tensor 'w': view of 1000000 elements", "repeats its 24-element storage",
    ]) {
      try loadCheckpoint(
        bytes: zip(TensorSpec(name: "w", key: "0", numel: 24, shape: [1000, 1000], strides: [0, 0])),
        path: "bad.pt")
    }
    let missing = ZipBuilder.torchFile(
      statePickle: PickleBuilder.stateDict(
        [TensorSpec(name: "w", key: "9", numel: 1, shape: [], strides: [])], legacy: false),
      storages: [("0", Self.ramp)])
    assertCheckpointError(["bad.pt", "zip archive has no storage entry 'archive/data/9'"]) {
      try loadCheckpoint(bytes: missing, path: "bad.pt")
    }
    var notTensor = PickleBuilder()
    notTensor.proto()
    notTensor.emptyDict()
    notTensor.string("epoch")
    notTensor.int(3)
    notTensor.setItem()
    notTensor.stop()
    assertCheckpointError(["bad.pt", "entry 'epoch' is a int, not a tensor (in archive/data.pkl)"]) {
      try loadCheckpoint(
        bytes: ZipBuilder.torchFile(statePickle: notTensor.bytes, storages: []), path: "bad.pt")
    }
    // Legacy: the element count before a storage must match the pickle.
    let legacy = LegacyBuilder.file(
      statePickle: PickleBuilder.stateDict(
        [TensorSpec(name: "w", key: "0", numel: 24, shape: [24], strides: [1])], legacy: true),
      storages: [("0", 23, Self.ramp)])
    assertCheckpointError(["old.pth", "storage '0' at byte", "holds 23 elements, the pickle declares 24"]) {
      try loadCheckpoint(bytes: legacy, path: "old.pth")
    }
  }

  func testHalfConversion() throws {
    var bits: [UInt8] = []
    let cases: [(UInt16, Float)] = [
      (0x0000, 0), (0x8000, -0.0), (0x3c00, 1), (0x3555, 0.333251953125), (0x7bff, 65504),
      (0x0400, 0x1p-14), (0x03ff, 0x1.ff8p-15), (0x7c00, .infinity), (0xfc00, -.infinity),
    ]
    for (b, _) in cases { bits.le(b) }
    bits.le(UInt16(0x7e00))  // NaN
    let n = cases.count + 1
    let pickle = PickleBuilder.stateDict(
      [TensorSpec(name: "h", type: "HalfStorage", key: "0", numel: n, shape: [n], strides: [1])],
      legacy: false)
    let dict = try loadCheckpoint(
      bytes: ZipBuilder.torchFile(statePickle: pickle, storages: [("0", bits)]), path: "half.pt")
    let values = try dict.floats("h")
    for (i, (_, expected)) in cases.enumerated() {
      XCTAssertEqual(values[i].bitPattern, expected.bitPattern, "case \(i)")
    }
    XCTAssertTrue(values[n - 1].isNaN)
  }
}
