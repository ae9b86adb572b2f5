import Foundation
import VPCheckpoint
import XCTest

final class SafetensorsTests: XCTestCase {
  private func tensor(_ shape: [Int], _ values: [Float]) throws -> CheckpointTensor {
    try XCTUnwrap(CheckpointTensor(shape: shape, floats: values))
  }

  private func sample() throws -> StateDict {
    StateDict([
      ("layer.weight", try tensor([2, 3], [1, 2, 3, 4, 5, 6])),
      ("layer.bias", try tensor([2], [-0.5, .pi])),
      ("scalar", try tensor([], [42])),
      ("empty", try tensor([0, 4], [])),
      ("steps", try XCTUnwrap(CheckpointTensor(shape: [], int64s: [1 << 40]))),
      ("näme \"quoted\"\n", try tensor([1], [7])),
    ])
  }

  func testWriteReadRoundTrip() throws {
    let directory = try temporaryDirectory(self)
    let path = directory.appendingPathComponent("model.safetensors").path
    let source = try sample()
    try Safetensors.write(source, metadata: ["format": "pt", "b": "2"], to: path)
    let copy = try loadCheckpoint(path)
    XCTAssertEqual(copy.format, .safetensors)
    XCTAssertEqual(copy.path, path)
    XCTAssertEqual(copy.metadata, ["format": "pt", "b": "2"])
    XCTAssertEqual(copy.keys, source.keys)
    for (name, tensor) in source {
      XCTAssertEqual(try copy.shape(name), tensor.shape, name)
      if name == "steps" {
        XCTAssertEqual(try copy.tensor(name).dtype, .int64)
        XCTAssertEqual(try copy.tensor(name).int64s(), [1 << 40])
      } else {
        XCTAssertEqual(try copy.tensor(name).dtype, .float32)
        XCTAssertEqual(try copy.floats(name), try tensor.floats(), name)
      }
    }
    // No temporary file is left behind.
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
  }

  func testEncodingIsDeterministicAndAligned() throws {
    let a = try Safetensors.encode(try sample(), metadata: ["z": "1", "a": "2"])
    let b = try Safetensors.encode(try sample(), metadata: ["a": "2", "z": "1"])
    XCTAssertEqual(a, b)
    let headerLength = a.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    XCTAssertEqual(headerLength % 8, 0)
    let header = String(decoding: a[8..<(8 + headerLength)], as: UTF8.self)
    XCTAssertTrue(
      header.hasPrefix(
        #"{"__metadata__":{"a":"2","z":"1"},"#
          + #""layer.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}"#
      ), header)
    XCTAssertTrue(header.contains(#""näme \"quoted\"\n":{"#), header)
    // The header is standard JSON.
    XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(header.utf8)))
    // Writing twice gives identical files, and an existing file is replaced.
    let directory = try temporaryDirectory(self)
    let path = directory.appendingPathComponent("m.safetensors").path
    try Safetensors.write(try sample(), metadata: ["z": "1", "a": "2"], to: path)
    try Safetensors.write(try sample(), metadata: ["z": "1", "a": "2"], to: path)
    XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), a)
  }

  func testStridedTensorsAreWrittenContiguously() throws {
    let pickle = PickleBuilder.stateDict(
      [TensorSpec(name: "t", key: "0", numel: 24, offset: 1, shape: [3, 2], strides: [1, 3])], legacy: false)
    let source = try loadCheckpoint(
      bytes: ZipBuilder.torchFile(statePickle: pickle, storages: [("0", SyntheticCheckpointTests.ramp)]),
      path: "strided.pt")
    XCTAssertEqual(try source.floats("t"), [1, 4, 2, 5, 3, 6])
    let copy = try Safetensors.read(bytes: try Safetensors.encode(source), path: "copy.safetensors")
    XCTAssertEqual(try copy.floats("t"), [1, 4, 2, 5, 3, 6])
    XCTAssertTrue(try copy.tensor("t").isContiguous)
  }

  func testReadsOtherDtypesInOffsetOrder() throws {
    var data: [UInt8] = []
    data.le((2.5).bitPattern)  // F64 at 0..<8
    data.le(UInt16(0x3c00))  // F16 at 8..<10
    data.le(UInt16(0xbc00))  // F16 at 10..<12
    data.le(Int64(-3))  // I64 at 12..<20
    data.le(Int32(9))  // I32 at 20..<24
    data += [200, 1]  // U8 at 24..<26, BOOL at 26..<27 (one byte used)
    data += [1]
    data.le(UInt16(0x4000))  // BF16 at 27..<29
    let header =
      #"{"i64":{"dtype":"I64","shape":[],"data_offsets":[12,20]},"#
      + #""f64":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"#
      + #""f16":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"#
      + #""i32":{"dtype":"I32","shape":[1],"data_offsets":[20,24]},"#
      + #""u8":{"dtype":"U8","shape":[2],"data_offsets":[24,26]},"#
      + #""b":{"dtype":"BOOL","shape":[1],"data_offsets":[26,27]},"#
      + #""bf":{"dtype":"BF16","shape":[1],"data_offsets":[27,29]}, "#
      + #""none":{"dtype":"F32","shape":[0],"data_offsets":[29,29]}}"#
    var file: [UInt8] = []
    file.le(UInt64(header.utf8.count))
    file += Array(header.utf8) + data
    let dict = try loadCheckpoint(bytes: file, path: "types.safetensors")
    XCTAssertEqual(dict.keys, ["f64", "f16", "i64", "i32", "u8", "b", "bf", "none"])
    XCTAssertEqual(try dict.floats("f64"), [2.5])
    XCTAssertEqual(try dict.floats("f16"), [1, -1])
    XCTAssertEqual(try dict.tensor("i64").int64s(), [-3])
    XCTAssertEqual(try dict.tensor("i32").int64s(), [9])
    XCTAssertEqual(try dict.floats("u8"), [200, 1])
    XCTAssertEqual(try dict.floats("b"), [1])
    XCTAssertEqual(try dict.floats("bf"), [2])
    XCTAssertEqual(try dict.floats("none"), [])
    XCTAssertEqual(try dict.tensor("f64").dtype, .float64)
  }

  func testWriteErrorsNameThePath() throws {
    let directory = try temporaryDirectory(self)
    let path = directory.appendingPathComponent("no-such-dir/out.safetensors").path
    assertCheckpointError(["no-such-dir/out.safetensors: cannot create temporary file"], kind: .io) {
      try Safetensors.write(try sample(), to: path)
    }
    let bad = StateDict([("__metadata__", try tensor([1], [1]))])
    let other = directory.appendingPathComponent("meta.safetensors").path
    assertCheckpointError(["meta.safetensors: a tensor cannot be named '__metadata__'"]) {
      try Safetensors.write(bad, to: other)
    }
    XCTAssertNil(CheckpointTensor(shape: [2, 2], floats: [1, 2, 3]))
    XCTAssertNil(CheckpointTensor(shape: [-1], floats: []))
  }
}
