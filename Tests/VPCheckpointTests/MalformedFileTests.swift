import Foundation
import VPCheckpoint
import XCTest

/// Small malformed files written to a temporary directory; every error must name the file and the problem.
final class MalformedFileTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = try temporaryDirectory(self)
  }

  private func write(_ bytes: [UInt8], _ name: String) throws -> String {
    try writeFile(bytes, name, in: directory)
  }

  private static let spec = [TensorSpec(name: "w", key: "0", numel: 24, shape: [4, 6], strides: [6, 1])]

  private static var legacyFile: [UInt8] {
    LegacyBuilder.file(
      statePickle: PickleBuilder.stateDict(spec, legacy: true),
      storages: [("0", 24, SyntheticCheckpointTests.ramp)])
  }

  private static var zipFile: [UInt8] {
    ZipBuilder.torchFile(
      statePickle: PickleBuilder.stateDict(spec, legacy: false),
      storages: [("0", SyntheticCheckpointTests.ramp)])
  }

  func testValidSmallFilesLoad() throws {
    XCTAssertEqual(try loadCheckpoint(try write(Self.legacyFile, "ok.pth")).floats("w").count, 24)
    XCTAssertEqual(try loadCheckpoint(try write(Self.zipFile, "ok.pt")).floats("w").count, 24)
  }

  func testTruncatedFiles() throws {
    let legacy = Self.legacyFile
    let header = LegacyBuilder.header()
    var path = try write(Array(legacy.prefix(header.count + 40)), "truncated.pth")
    assertCheckpointError(["truncated.pth: truncated pickle at byte "], kind: .truncated) {
      try loadCheckpoint(path)
    }
    path = try write(Array(legacy.dropLast(10)), "short-data.pth")
    assertCheckpointError(
      ["short-data.pth: truncated storage data at byte ", "(storage '0' needs 96 bytes, 86 left)"],
      kind: .truncated
    ) { try loadCheckpoint(path) }
    path = try write(Array(legacy.prefix(5)), "five.pth")
    assertCheckpointError(["five.pth: truncated pickle at byte 2 (LONG1 needs 10 bytes, 1 left)"]) {
      try loadCheckpoint(path)
    }
    path = try write(Array(Self.zipFile.dropLast(30)), "truncated.pt")
    assertCheckpointError(["truncated.pt: truncated zip archive (end of central directory record not found)"]) {
      try loadCheckpoint(path)
    }
    path = try write([], "empty.pth")
    assertCheckpointError(["empty.pth: empty file"], kind: .truncated) { try loadCheckpoint(path) }
  }

  func testWrongMagic() throws {
    var magic = LegacyBuilder.magic
    magic[3] ^= 0xff
    let bytes = LegacyBuilder.file(
      statePickle: PickleBuilder.stateDict(Self.spec, legacy: true),
      storages: [("0", 24, SyntheticCheckpointTests.ramp)], magic: magic)
    var path = try write(bytes, "wrongmagic.pth")
    assertCheckpointError(["wrongmagic.pth: not a torch checkpoint (bad magic"], kind: .notACheckpoint) {
      try loadCheckpoint(path)
    }
    path = try write(Array("hello, world\n".utf8), "text.pth")
    assertCheckpointError(["text.pth: not a torch checkpoint (bad magic", "found 68 65 6c 6c 6f 2c 20 77"]) {
      try loadCheckpoint(path)
    }
    var zip = ZipBuilder()
    zip.add("readme.txt", Array("hi".utf8))
    path = try write(zip.build(), "plain.zip")
    assertCheckpointError(["plain.zip: not a torch checkpoint (zip archive has no data.pkl)"]) {
      try loadCheckpoint(path)
    }
  }

  func testBadOpcode() throws {
    let header = LegacyBuilder.header()
    let pickle: [UInt8] = [0x80, 0x02, 0x7d, 0x99, 0x2e]
    let path = try write(header + pickle, "badop.pth")
    assertCheckpointError(
      ["badop.pth: unknown pickle opcode 0x99 at byte \(header.count + 3)"], kind: .unknownOpcode
    ) {
      try loadCheckpoint(path)
    }
  }

  func testForbiddenGlobal() throws {
    // Hand-made `os.system("echo pwned")`, as a torch.load exploit would pickle it.
    var evil: [UInt8] = [0x80, 0x02, 0x63]
    evil += Array("os\nsystem\n".utf8)
    evil += [0x58, 10, 0, 0, 0] + Array("echo pwned".utf8)
    evil += [0x85, 0x52, 0x2e]  // TUPLE1, REDUCE, STOP
    let header = LegacyBuilder.header()
    var path = try write(header + evil, "evil.pth")
    assertCheckpointError(
      ["evil.pth: forbidden global 'os.system' at byte \(header.count + 2)"], kind: .forbiddenGlobal
    ) { try loadCheckpoint(path) }
    path = try write(ZipBuilder.torchFile(statePickle: evil, storages: []), "evil.pt")
    assertCheckpointError(["evil.pt: forbidden global 'os.system' at byte 2 of archive/data.pkl"]) {
      try loadCheckpoint(path)
    }
    // Also as the very first pickle of a legacy-looking file.
    path = try write(evil, "evil-first.pth")
    assertCheckpointError(["evil-first.pth: forbidden global 'os.system'"]) { try loadCheckpoint(path) }
    // A whole pickled module (torch.save(model)) is refused the same way.
    var module = PickleBuilder()
    module.proto()
    module.global("torchvision.models.resnet", "ResNet")
    module.emptyTuple()
    module.raw(0x81)
    module.stop()
    path = try write(ZipBuilder.torchFile(statePickle: module.bytes, storages: []), "module.pt")
    assertCheckpointError(["module.pt: forbidden global 'torchvision.models.resnet.ResNet'"]) {
      try loadCheckpoint(path)
    }
  }

  func testBadZipCentralDirectory() throws {
    let good = Self.zipFile
    let eocd = good.count - 22
    // Central directory offset pointing past the end record.
    var bytes = good
    bytes.replaceSubrange((eocd + 16)..<(eocd + 20), with: [0xff, 0xff, 0xff, 0x7f])
    var path = try write(bytes, "badcd.pt")
    assertCheckpointError(["badcd.pt: bad zip archive: central directory", "lies outside"], kind: .malformed) {
      try loadCheckpoint(path)
    }
    // A corrupted central directory entry signature.
    bytes = good
    let directoryOffset = Int(bytes[eocd + 16]) | Int(bytes[eocd + 17]) << 8 | Int(bytes[eocd + 18]) << 16
    bytes[directoryOffset] = 0
    path = try write(bytes, "badentry.pt")
    assertCheckpointError([
      "badentry.pt: bad zip archive: central directory entry 0 at byte \(directoryOffset) is invalid"
    ]) {
      try loadCheckpoint(path)
    }
    // More entries than the directory can hold.
    bytes = good
    bytes[eocd + 10] = 0xff
    bytes[eocd + 11] = 0xff
    path = try write(bytes, "count.pt")
    assertCheckpointError(["count.pt: bad zip archive: central directory of", "cannot hold 65535 entries"]) {
      try loadCheckpoint(path)
    }
    // A flipped data byte is caught by the CRC.
    bytes = good
    let ramp = SyntheticCheckpointTests.ramp
    guard
      let dataStart = (0...(bytes.count - ramp.count)).first(where: {
        bytes[$0..<($0 + ramp.count)].elementsEqual(ramp)
      })
    else { return XCTFail("storage bytes not found") }
    bytes[dataStart + 5] ^= 0x01
    path = try write(bytes, "crc.pt")
    assertCheckpointError(["crc.pt: bad zip entry", "CRC-32 mismatch"]) { try loadCheckpoint(path) }
  }

  private func safetensors(_ header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    var out: [UInt8] = []
    let json = Array(header.utf8)
    out.le(declaredLength ?? UInt64(json.count))
    return out + json + data
  }

  func testBadSafetensors() throws {
    let zeros = [UInt8](repeating: 0, count: 64)
    var path = try write(
      safetensors(#"{"w": {"dtype": "F32", "shape": [16"#, data: zeros), "json.safetensors")
    assertCheckpointError(["json.safetensors: invalid safetensors header JSON at byte"], kind: .malformed) {
      try loadCheckpoint(path)
    }
    path = try write(
      safetensors(#"{"w":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}}"#, data: zeros), "x.safetensors"
    )
    assertCheckpointError(["x.safetensors: tensor 'w' data_offsets [0, 100] outside the 64-byte data section"]
    ) {
      try loadCheckpoint(path)
    }
    path = try write(safetensors("{}", data: zeros, declaredLength: UInt64(1) << 62), "huge.safetensors")
    assertCheckpointError([
      "huge.safetensors: safetensors header length 4611686018427387904 exceeds the 100000000-byte limit"
    ]) {
      try Safetensors.read(path)
    }
    path = try write(safetensors("{}", data: zeros, declaredLength: 5000), "long.safetensors")
    assertCheckpointError([
      "long.safetensors: truncated safetensors file (header length 5000 exceeds the 66 bytes after it)"
    ]) {
      try Safetensors.read(path)
    }
    path = try write(
      safetensors(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: zeros),
      "size.safetensors")
    assertCheckpointError([
      "size.safetensors: tensor 'w' data_offsets [0, 16] hold 16 bytes, but shape [3] of F32 needs 12"
    ]) {
      try loadCheckpoint(path)
    }
    path = try write(
      safetensors(
        #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"#
          + #""b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
        data: zeros), "overlap.safetensors")
    assertCheckpointError(["overlap.safetensors: tensors 'a' and 'b' overlap"]) { try loadCheckpoint(path) }
    path = try write(
      safetensors(#"{"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}"#, data: zeros),
      "dtype.safetensors")
    assertCheckpointError(["dtype.safetensors: tensor 'w' has unsupported dtype 'Q4'"], kind: .unsupported) {
      try loadCheckpoint(path)
    }
    path = try write(
      safetensors(
        #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
          + #""w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        data: zeros), "dup.safetensors")
    assertCheckpointError(["dup.safetensors: duplicate key 'w'"]) { try loadCheckpoint(path) }
    path = try write(
      safetensors(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: zeros), "neg.safetensors"
    )
    assertCheckpointError(["neg.safetensors: tensor 'w' has no shape list of non-negative integers"]) {
      try loadCheckpoint(path)
    }
    path = try write(safetensors(#"{"__metadata__":{"a":1}}"#, data: zeros), "meta.safetensors")
    assertCheckpointError(["meta.safetensors: __metadata__ entry 'a' is a JSON number, not a string"]) {
      try loadCheckpoint(path)
    }
    let deep = String(repeating: "[", count: 10000)
    path = try write(safetensors(#"{"w":"# + deep, data: zeros), "deep.safetensors")
    assertCheckpointError([
      "deep.safetensors: invalid safetensors header JSON", "nests deeper than 64 levels",
    ]) {
      try loadCheckpoint(path)
    }
    path = try write([1, 2, 3], "tiny.safetensors")
    assertCheckpointError(["tiny.safetensors: truncated safetensors file"]) { try Safetensors.read(path) }
  }

  func testUnreadableFiles() throws {
    let missing = directory.appendingPathComponent("missing.pth").path
    assertCheckpointError(["missing.pth: cannot open file (No such file or directory)"], kind: .io) {
      try loadCheckpoint(missing)
    }
    assertCheckpointError([directory.path + ": is a directory"], kind: .io) {
      try loadCheckpoint(directory.path)
    }
  }
}
