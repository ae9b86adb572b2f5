import VPCheckpoint
import XCTest

final class PickleTests: XCTestCase {
  private func load(_ bytes: [UInt8], allowed: Set<String> = [], configure: (inout Pickle) -> Void = { _ in })
    throws -> PickleValue
  {
    var pickle = Pickle(allowedGlobals: allowed)
    configure(&pickle)
    return try pickle.load(bytes, path: "test.pkl").value
  }

  func testScalarsStringsAndBytes() throws {
    var p = PickleBuilder()
    p.proto(4)
    p.raw(0x95)
    p.bytes.le(UInt64(0))  // FRAME (length not enforced beyond the remaining bytes)
    p.mark()
    p.none()
    p.bool(true)
    p.bool(false)
    p.int(5)
    p.int(300)
    p.int(-7)
    p.long1([0xff])  // -1
    p.long1([0x00, 0x80])  // -32768 (two's complement)
    p.long1([0x00, 0x80, 0x00])  // 32768
    p.long1([0xff, 0xff, 0xff])  // -1, with redundant sign bytes
    p.long1([])  // 0
    p.long1(LegacyBuilder.magic)  // does not fit Int64
    p.raw(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)  // BINFLOAT 1.5 (big-endian)
    p.raw(0x8c, 2, 0xc3, 0xa9)  // SHORT_BINUNICODE "é"
    p.raw(0x8d)
    p.bytes.le(UInt64(1))
    p.raw(0x78)  // BINUNICODE8 "x"
    p.raw(0x43, 2, 1, 2)  // SHORT_BINBYTES
    p.raw(0x42)
    p.bytes.le(UInt32(1))
    p.raw(9)  // BINBYTES
    p.raw(0x8e)
    p.bytes.le(UInt64(1))
    p.raw(8)  // BINBYTES8
    p.raw(0x96)
    p.bytes.le(UInt64(1))
    p.raw(7)  // BYTEARRAY8
    p.emptyList()
    p.emptyTuple()
    p.tuple()
    p.stop()
    let value = try load(p.bytes)
    XCTAssertEqual(
      value,
      .tuple([
        .none, .bool(true), .bool(false), .int(5), .int(300), .int(-7), .int(-1), .int(-32768), .int(32768),
        .int(-1), .int(0),
        .bigInt(LegacyBuilder.magic), .float(1.5), .string("é"), .string("x"), .bytes([1, 2]), .bytes([9]),
        .bytes([8]), .bytes([7]), .list([]), .tuple([]),
      ]))
  }

  func testTupleOpcodesMemoAndStackGlobal() throws {
    var p = PickleBuilder()
    p.proto()
    p.mark()
    p.int(1)
    p.raw(0x85)  // TUPLE1
    p.raw(0x94)  // MEMOIZE -> 0
    p.int(2)
    p.int(3)
    p.raw(0x86)  // TUPLE2
    p.raw(0x72)
    p.bytes.le(UInt32(70000))  // LONG_BINPUT
    p.int(4)
    p.int(5)
    p.int(6)
    p.raw(0x87)  // TUPLE3
    p.raw(0x8c, 11)
    p.bytes += Array("collections".utf8)
    p.raw(0x8c, 11)
    p.bytes += Array("OrderedDict".utf8)
    p.raw(0x93)  // STACK_GLOBAL
    p.get(0)
    p.raw(0x6a)
    p.bytes.le(UInt32(70000))  // LONG_BINGET
    p.raw(0x87)  // TUPLE3
    p.tuple()
    p.stop()
    let one: PickleValue = .tuple([.int(1)])
    let two: PickleValue = .tuple([.int(2), .int(3)])
    XCTAssertEqual(
      try load(p.bytes, allowed: ["collections.OrderedDict"]),
      .tuple([
        one, two, .tuple([.int(4), .int(5), .int(6)]),
        .tuple([.global(module: "collections", name: "OrderedDict"), one, two]),
      ]))
  }

  func testMemoSharesMutationsLikePython() throws {
    // l = []; d = {}; l.append(d); d["a"] = 1; l.append(d)  ->  [{"a": 1}, {"a": 1}]
    var p = PickleBuilder()
    p.proto()
    p.emptyList()
    p.put(1)
    p.emptyDict()
    p.put(0)
    p.append()
    p.get(0)
    p.string("a")
    p.int(1)
    p.setItem()
    p.append()
    p.stop()
    let d: PickleValue = .dict([(key: .string("a"), value: .int(1))])
    XCTAssertEqual(try load(p.bytes), .list([d, d]))
  }

  func testOrderedDictReduceIsFillableAndBuildIsKept() throws {
    var p = PickleBuilder()
    p.proto()
    p.orderedDict()
    p.mark()
    p.string("w")
    p.int(1)
    p.string("b")
    p.int(2)
    p.setItems()
    p.emptyDict()
    p.string("_metadata")
    p.none()
    p.setItem()
    p.build()
    p.stop()
    let value = try load(p.bytes, allowed: ["collections.OrderedDict"])
    guard case .build(let object, let state) = value else { return XCTFail("\(value)") }
    XCTAssertEqual(object, .dict([(key: .string("w"), value: .int(1)), (key: .string("b"), value: .int(2))]))
    XCTAssertEqual(state["_metadata"], PickleValue.none)
    XCTAssertEqual(value["b"], .int(2))
    XCTAssertEqual(value.dictPairs?.count, 2)
  }

  func testReduceNewObjectAndPersistentIDStaySymbolic() throws {
    var p = PickleBuilder()
    p.proto()
    p.global("torch", "FloatStorage")
    p.string("x")
    p.raw(0x85)
    p.reduce()
    p.global("torch", "FloatStorage")
    p.emptyTuple()
    p.raw(0x81)  // NEWOBJ
    p.string("pid")
    p.persistentID()
    p.raw(0x87)
    p.stop()
    let value = try load(p.bytes, allowed: ["torch.FloatStorage"])
    let storage: PickleValue = .global(module: "torch", name: "FloatStorage")
    XCTAssertEqual(
      value,
      .tuple([
        .reduce(callable: storage, args: .tuple([.string("x")])), .newObject(cls: storage, args: .tuple([])),
        .persistentID(.string("pid")),
      ]))
  }

  func testForbiddenGlobals() {
    var p = PickleBuilder()
    p.proto()
    p.global("os", "system")
    p.string("echo pwned")
    p.raw(0x85)
    p.reduce()
    p.stop()
    assertCheckpointError(["test.pkl: forbidden global 'os.system' at byte 2"], kind: .forbiddenGlobal) {
      try load(p.bytes, allowed: ["collections.OrderedDict"])
    }
    var s = PickleBuilder()
    s.proto()
    s.raw(0x8c, 8)
    s.bytes += Array("builtins".utf8)
    s.raw(0x8c, 4)
    s.bytes += Array("eval".utf8)
    s.raw(0x93)
    s.stop()
    assertCheckpointError(["test.pkl", "forbidden global 'builtins.eval'"], kind: .forbiddenGlobal) {
      try load(s.bytes)
    }
  }

  func testUnknownAndUnsupportedOpcodes() {
    assertCheckpointError(["test.pkl: unknown pickle opcode 0x99 at byte 2"], kind: .unknownOpcode) {
      try load([0x80, 0x02, 0x99, 0x2e])
    }
    assertCheckpointError(["unsupported pickle opcode 0x30 (POP) at byte 3"], kind: .unknownOpcode) {
      try load([0x80, 0x02, 0x4e, 0x30, 0x2e])
    }
    assertCheckpointError(["unsupported pickle opcode 0x69 (INST)"]) { try load([0x69, 0x2e]) }
  }

  func testTruncationIsReportedWithOffsetsAndSizes() throws {
    var p = PickleBuilder()
    p.proto()
    p.raw(0x58)
    p.bytes.le(UInt32(30))
    p.bytes += [UInt8](repeating: 0x41, count: 12)
    assertCheckpointError(["test.pkl: truncated pickle at byte 2 (BINUNICODE needs 30 bytes, 12 left)"]) {
      try load(p.bytes)
    }
    // A huge announced length must fail before any allocation.
    var huge = PickleBuilder()
    huge.proto()
    huge.raw(0x8e)
    huge.bytes.le(UInt64(1) << 62)
    assertCheckpointError(["truncated pickle at byte 2 (BINBYTES8 needs 4611686018427387904 bytes, 0 left)"]) {
      try load(huge.bytes)
    }
    assertCheckpointError(["no STOP opcode"], kind: .truncated) { try load([0x80, 0x02, 0x4e]) }
    assertCheckpointError(["GLOBAL needs a newline-terminated name"]) { try load([0x63, 0x6f, 0x73]) }
    // Every strict prefix of a valid pickle is an error, never a trap.
    let full = PickleBuilder.stateDict(
      [TensorSpec(name: "w", key: "0", numel: 6, shape: [2, 3], strides: [3, 1])], legacy: false)
    _ = try Pickle(allowedGlobals: TorchCheckpoint.allowedGlobals).load(full, path: "t.pkl")
    for length in 0..<full.count {
      XCTAssertThrowsError(
        try Pickle(allowedGlobals: TorchCheckpoint.allowedGlobals).load(Array(full[..<length]), path: "t.pkl")
      )
    }
  }

  func testStructuralErrors() {
    assertCheckpointError(["stack underflow"], kind: .malformed) { try load([0x80, 0x02, 0x2e]) }
    assertCheckpointError(["REDUCE: stack underflow"]) { try load([0x4e, 0x52, 0x2e]) }
    assertCheckpointError(["memo entry 7 is not defined"]) { try load([0x68, 0x07, 0x2e]) }
    assertCheckpointError(["no MARK on the stack"]) { try load([0x4e, 0x74, 0x2e]) }
    assertCheckpointError(["odd number of items (1)"]) { try load([0x7d, 0x28, 0x4e, 0x75, 0x2e]) }
    assertCheckpointError(["APPEND: target is a dict, not a list"]) { try load([0x7d, 0x4e, 0x61, 0x2e]) }
    assertCheckpointError(["SETITEM: target is a None, not a dict"]) {
      try load([0x4e, 0x4e, 0x4e, 0x73, 0x2e])
    }
    // Items above a MARK cannot be reached by a pop.
    assertCheckpointError(["stack underflow"]) { try load([0x4e, 0x28, 0x52, 0x2e]) }
    assertCheckpointError(["invalid UTF-8"]) { try load([0x8c, 0x01, 0xff, 0x2e]) }
    assertCheckpointError(["unsupported pickle protocol 9"], kind: .unsupported) { try load([0x80, 0x09]) }
  }

  func testDeepNestingCyclesAndSizeLimitsFailCleanly() throws {
    // 200 000 nested 1-tuples: the interpreter must not recurse, and the result is refused.
    var deep: [UInt8] = [0x80, 0x02, 0x4e]
    deep += [UInt8](repeating: 0x85, count: 200_000)
    deep.append(0x2e)
    assertCheckpointError(["pickle nests deeper than 256 levels"]) { try load(deep) }

    // The same through mutation of memoized lists (each APPEND deepens an already-nested list).
    var chain = PickleBuilder()
    chain.proto()
    chain.emptyList()
    chain.put(0)
    for _ in 0..<300 {
      chain.emptyList()
      chain.put(1)
      chain.append()
      chain.get(1)
    }
    chain.get(0)
    chain.stop()
    assertCheckpointError(["nests deeper"]) { try load(chain.bytes) }

    // Shared subtrees: x = [x0, x0] 200 levels deep converts once per node, not 2^200 times.
    var shared = PickleBuilder()
    shared.proto()
    shared.none()
    for _ in 0..<200 {
      shared.put(0)
      shared.get(0)
      shared.raw(0x86)  // TUPLE2: x -> (x, x)
    }
    shared.stop()
    let start = Date()
    let value = try load(shared.bytes)
    XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    if case .tuple(let items) = value { XCTAssertEqual(items.count, 2) } else { XCTFail("\(value)") }
    var tooShared = shared
    tooShared.bytes.removeLast()
    for _ in 0..<100 {
      tooShared.put(0)
      tooShared.get(0)
      tooShared.raw(0x86)
    }
    tooShared.stop()
    assertCheckpointError(["nests deeper"]) { try load(tooShared.bytes) }

    assertCheckpointError(["reference cycle"], kind: .unsupported) {
      try load([0x5d, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2e])
    }
    let sixNones = [UInt8](repeating: 0x4e, count: 6) + [0x2e]
    assertCheckpointError(["stack exceeds 5 entries"]) { try load(sixNones) { $0.maxStackCount = 5 } }
    let memo = [0x4e, 0x71, 0, 0x71, 1, 0x71, 2, 0x71, 3, 0x2e] as [UInt8]
    assertCheckpointError(["memo exceeds 3 entries"]) { try load(memo) { $0.maxMemoCount = 3 } }
    XCTAssertNoThrow(try load(Array(memo[..<7]) + [0x71, 0, 0x2e]) { $0.maxMemoCount = 3 })
    let list = [0x5d, 0x28] + [UInt8](repeating: 0x4e, count: 20) + [0x65, 0x2e] as [UInt8]
    assertCheckpointError(["more than 10 objects"]) { try load(list) { $0.maxObjectCount = 10 } }
    let builds: [UInt8] = [0x5d] + Array(repeating: [0x4e, 0x62], count: 17).flatMap { $0 }
    assertCheckpointError(["more than 16 BUILD calls"]) { try load(builds + [0x2e]) }
  }

  func testLoadFromAnOffsetReturnsTheEnd() throws {
    let bytes: [UInt8] = [0xAA, 0xBB, 0x80, 0x02, 0x4b, 0x07, 0x2e, 0x80, 0x02, 0x4e, 0x2e]
    let first = try Pickle().load(bytes, path: "x", from: 2)
    XCTAssertEqual(first.value, .int(7))
    XCTAssertEqual(first.end, 7)
    let second = try Pickle().load(bytes, path: "x", from: first.end)
    XCTAssertEqual(second.value, PickleValue.none)
    XCTAssertEqual(second.end, bytes.count)
    assertCheckpointError(["x: unknown pickle opcode 0xaa at byte 0 of inner/data.pkl"]) {
      try Pickle().load(bytes, path: "x", member: "inner/data.pkl")
    }
  }
}
