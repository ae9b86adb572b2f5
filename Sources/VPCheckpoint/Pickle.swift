/// A pickle reader that executes nothing.
///
/// `Pickle` interprets the opcodes of a pickle (protocols 2–5, binary opcodes only) into an inert
/// `PickleValue` tree. Globals are resolved only against the caller's allow-list of `"module.name"`
/// strings; any other name is an error (`forbidden global 'os.system'`). Every read is bounds-checked,
/// lengths are validated against the remaining bytes before anything is allocated, and the stack, memo,
/// object count and nesting depth are bounded, so malformed input produces a `CheckpointError`, never a
/// trap or a hang.
///
/// Supported opcodes: PROTO, FRAME, STOP, GLOBAL, STACK_GLOBAL, SHORT_BINUNICODE, BINUNICODE, BINUNICODE8,
/// BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8, MEMOIZE, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET,
/// EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3, MARK, BININT, BININT1, BININT2, LONG1, BINFLOAT, NONE,
/// NEWFALSE, NEWTRUE, BINPERSID, REDUCE, NEWOBJ, EMPTY_DICT, EMPTY_LIST, SETITEM, SETITEMS, APPEND, APPENDS,
/// BUILD. Anything else is reported with its byte value and offset.
///
/// Mutation is modelled faithfully: containers are shared through the memo, so `SETITEMS` on a dict
/// that was memoized earlier is visible through later `BINGET`s. `REDUCE`/`NEWOBJ` of an allowed
/// `collections.OrderedDict` with no arguments yields an empty `.dict` (so that it can be filled).
public struct Pickle: Sendable {
  /// The globals the pickle may reference, as `"module.name"` strings.
  public var allowedGlobals: Set<String>
  /// The most values the stack may hold at once (and the most open `MARK`s).
  public var maxStackCount: Int = 1 << 20
  /// The most distinct memo entries.
  public var maxMemoCount: Int = 1 << 20
  /// The most containers and container elements the pickle may create in total.
  public var maxObjectCount: Int = 1 << 23
  /// The deepest nesting of containers in the result.
  public var maxNestingDepth: Int = 256

  /// Creates a reader that resolves only the given `"module.name"` globals.
  public init(allowedGlobals: Set<String> = []) {
    self.allowedGlobals = allowedGlobals
  }

  /// Reads one pickle from `bytes`, starting at `start`, up to and including its STOP opcode.
  ///
  /// - Parameters:
  ///   - bytes: the buffer holding the pickle (it may hold more data after the STOP opcode).
  ///   - path: the file name used in error messages.
  ///   - start: the offset of the pickle's first opcode; error offsets are offsets into `bytes`.
  ///   - member: where the pickle lives inside `path` (e.g. `"archive/data.pkl"`), for error messages.
  /// - Returns: the unpickled value and the offset just past the STOP opcode.
  public func load(_ bytes: [UInt8], path: String, from start: Int = 0, member: String? = nil) throws
    -> (value: PickleValue, end: Int)
  {
    var machine = PickleMachine(
      bytes: bytes, config: self, path: path, member: member.map { " of \($0)" } ?? "", position: start)
    return try machine.run()
  }

  /// The conventional name of each pickle opcode byte (including ones this reader does not support).
  static let opcodeNames: [UInt8: String] = [
    0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
    0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID",
    0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
    0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
    0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6a: "LONG_BINGET",
    0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
    0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO",
    0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2",
    0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES",
    0x43: "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8",
    0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL",
    0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
  ]
}
