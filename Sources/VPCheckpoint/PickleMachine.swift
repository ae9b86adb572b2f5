/// The interpreter behind `Pickle.load`.
///
/// Containers live in an arena (`nodes`) and refer to each other by index, so that mutation through the
/// memo behaves as in Python and so that releasing an adversarially deep structure never recurses. The
/// arena is converted to a `PickleValue` tree at STOP, with memoization (shared subtrees are converted
/// once), cycle detection and a nesting-depth limit.
struct PickleMachine {
  /// A stack, memo or container entry: an immutable leaf value, or a container in the arena.
  enum Slot {
    case leaf(PickleValue)
    case node(Int)
  }

  /// What a container is; its operands live in `Node.items`.
  enum NodeKind {
    /// `items` are the elements.
    case tuple
    /// `items` are the elements.
    case list
    /// `items` are keys and values, interleaved.
    case dict
    /// `items == [pid]`.
    case persistentID
    /// `items == [callable, args]`.
    case reduce
    /// `items == [cls, args]`.
    case newObject
    /// `items == [leaf]`: a leaf that received `BUILD` states.
    case wrapped
  }

  struct Node {
    var kind: NodeKind
    var items: [Slot]
    var states: [Slot] = []
  }

  /// The most `BUILD` states one object may receive.
  static let maxStatesPerObject = 16

  let bytes: [UInt8]
  let config: Pickle
  let path: String
  /// `""`, or `" of <member>"` for error messages.
  let member: String
  var position: Int

  private var opStart = 0
  private var opName = ""
  private var stack: [Slot] = []
  private var marks: [Int] = []
  private var memo: [UInt32: Slot] = [:]
  private var nodes: [Node] = []
  private var objectCount = 0
  private var converted: [Int: (value: PickleValue, height: Int)] = [:]
  private var converting: Set<Int> = []

  init(bytes: [UInt8], config: Pickle, path: String, member: String, position: Int) {
    self.bytes = bytes
    self.config = config
    self.path = path
    self.member = member
    self.position = position
  }

  // MARK: - Errors

  private func error(_ kind: CheckpointError.Kind, _ problem: String) -> CheckpointError {
    CheckpointError(path: path, kind: kind, problem: problem)
  }

  private func malformed(_ what: String) -> CheckpointError {
    error(.malformed, "malformed pickle at byte \(opStart)\(member) (\(opName): \(what))")
  }

  private func truncated(needing need: UInt64) -> CheckpointError {
    let left = max(0, bytes.count - position)
    return error(
      .truncated,
      "truncated pickle at byte \(opStart)\(member) (\(opName) needs \(need) bytes, \(left) left)")
  }

  // MARK: - Reading

  private mutating func read(_ count: Int) throws -> Range<Int> {
    guard bytes.contains(offset: position, length: count) else { throw truncated(needing: UInt64(count)) }
    defer { position += count }
    return position..<(position + count)
  }

  private mutating func readLE<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
    let range = try read(MemoryLayout<T>.size)
    return bytes.loadLE(range.lowerBound, as: T.self)
  }

  /// Reads a payload whose length was just decoded, checking it against the remaining bytes first.
  private mutating func readPayload(length: UInt64) throws -> Range<Int> {
    let left = UInt64(max(0, bytes.count - position))
    guard length <= left else { throw truncated(needing: length) }
    return try read(Int(length))
  }

  private mutating func readLine() throws -> String {
    guard position < bytes.count, let newline = bytes[position...].firstIndex(of: 0x0a) else {
      throw error(
        .truncated,
        "truncated pickle at byte \(opStart)\(member) (\(opName) needs a newline-terminated name)")
    }
    let range = position..<newline
    position = newline + 1
    return try string(range)
  }

  private func string(_ range: Range<Int>) throws -> String {
    guard let s = String(validating: bytes[range], as: UTF8.self) else {
      throw malformed("invalid UTF-8 in a string of \(range.count) bytes")
    }
    return s
  }

  // MARK: - Stack

  private mutating func push(_ slot: Slot) throws {
    guard stack.count < config.maxStackCount else {
      throw error(
        .malformed, "pickle stack exceeds \(config.maxStackCount) entries at byte \(opStart)\(member)")
    }
    stack.append(slot)
  }

  private mutating func pop() throws -> Slot {
    guard stack.count > (marks.last ?? 0) else { throw malformed("stack underflow") }
    return stack.removeLast()
  }

  private func top() throws -> Slot {
    guard stack.count > (marks.last ?? 0), let last = stack.last else { throw malformed("stack underflow") }
    return last
  }

  private mutating func popMark() throws -> [Slot] {
    guard let mark = marks.popLast() else { throw malformed("no MARK on the stack") }
    let items = Array(stack[mark...])
    stack.removeSubrange(mark...)
    return items
  }

  private mutating func countObjects(_ n: Int) throws {
    objectCount += n
    guard objectCount <= config.maxObjectCount else {
      throw error(
        .malformed, "pickle creates more than \(config.maxObjectCount) objects at byte \(opStart)\(member)")
    }
  }

  private mutating func newNode(_ kind: NodeKind, _ items: [Slot]) throws -> Slot {
    .node(try newNodeIndex(kind, items))
  }

  private mutating func newNodeIndex(_ kind: NodeKind, _ items: [Slot]) throws -> Int {
    try countObjects(1 + items.count)
    nodes.append(Node(kind: kind, items: items))
    return nodes.count - 1
  }

  private mutating func memoize(_ index: UInt32) throws {
    let value = try top()
    if memo[index] == nil, memo.count >= config.maxMemoCount {
      throw error(
        .malformed, "pickle memo exceeds \(config.maxMemoCount) entries at byte \(opStart)\(member)")
    }
    memo[index] = value
  }

  private func memoValue(_ index: UInt32) throws -> Slot {
    guard let value = memo[index] else { throw malformed("memo entry \(index) is not defined") }
    return value
  }

  /// The arena index of the container `slot` refers to, if it is one of `kind`.
  private func container(_ slot: Slot, _ kind: NodeKind) -> Int? {
    if case .node(let i) = slot, nodes[i].kind == kind { return i }
    return nil
  }

  private func describe(_ slot: Slot) -> String {
    switch slot {
    case .leaf(let v): return v.kindDescription
    case .node(let i): return "\(nodes[i].kind)"
    }
  }

  // MARK: - Interpretation

  /// Interprets opcodes up to STOP and converts the result.
  mutating func run() throws -> (value: PickleValue, end: Int) {
    while true {
      opStart = position
      guard position < bytes.count else {
        opName = "STOP"
        throw error(.truncated, "truncated pickle at byte \(opStart)\(member) (no STOP opcode)")
      }
      let op = bytes[position]
      position += 1
      opName = Pickle.opcodeNames[op] ?? "?"
      if op == 0x2e {  // STOP
        let result = try pop()
        return (try convert(result, depth: 0).value, position)
      }
      try step(op)
    }
  }

  private mutating func step(_ op: UInt8) throws {
    switch op {
    case 0x80:  // PROTO
      let version = bytes[try read(1).lowerBound]
      guard version <= 5 else { throw error(.unsupported, "unsupported pickle protocol \(version)\(member)") }
    case 0x95:  // FRAME: the frame length only announces how much follows; check it and go on.
      let length = try readLE(UInt64.self)
      guard length <= UInt64(bytes.count - position) else { throw truncated(needing: length) }
    case 0x63:  // GLOBAL
      let module = try readLine()
      let name = try readLine()
      try push(.leaf(try global(module, name)))
    case 0x93:  // STACK_GLOBAL
      let name = try pop()
      let module = try pop()
      guard case .leaf(.string(let n)) = name, case .leaf(.string(let m)) = module else {
        throw malformed("module and name must be strings")
      }
      try push(.leaf(try global(m, n)))
    case 0x8c:  // SHORT_BINUNICODE
      let length = try readLE(UInt8.self)
      try push(.leaf(.string(try string(try readPayload(length: UInt64(length))))))
    case 0x58:  // BINUNICODE
      let length = try readLE(UInt32.self)
      try push(.leaf(.string(try string(try readPayload(length: UInt64(length))))))
    case 0x8d:  // BINUNICODE8
      let length = try readLE(UInt64.self)
      try push(.leaf(.string(try string(try readPayload(length: length)))))
    case 0x43:  // SHORT_BINBYTES
      let length = try readLE(UInt8.self)
      try push(.leaf(.bytes(Array(bytes[try readPayload(length: UInt64(length))]))))
    case 0x42:  // BINBYTES
      let length = try readLE(UInt32.self)
      try push(.leaf(.bytes(Array(bytes[try readPayload(length: UInt64(length))]))))
    case 0x8e, 0x96:  // BINBYTES8, BYTEARRAY8
      let length = try readLE(UInt64.self)
      try push(.leaf(.bytes(Array(bytes[try readPayload(length: length)]))))
    case 0x94:  // MEMOIZE
      guard memo.count < Int(UInt32.max) else { throw malformed("memo full") }
      try memoize(UInt32(memo.count))
    case 0x71:  // BINPUT
      try memoize(UInt32(try readLE(UInt8.self)))
    case 0x72:  // LONG_BINPUT
      try memoize(try readLE(UInt32.self))
    case 0x68:  // BINGET
      try push(try memoValue(UInt32(try readLE(UInt8.self))))
    case 0x6a:  // LONG_BINGET
      try push(try memoValue(try readLE(UInt32.self)))
    case 0x29:  // EMPTY_TUPLE
      try push(.leaf(.tuple([])))
    case 0x74:  // TUPLE
      let items = try popMark()
      try push(items.isEmpty ? .leaf(.tuple([])) : try newNode(.tuple, items))
    case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
      var items: [Slot] = []
      for _ in 0..<Int(op - 0x84) { items.append(try pop()) }
      try push(try newNode(.tuple, items.reversed()))
    case 0x28:  // MARK
      guard marks.count < config.maxStackCount else { throw malformed("too many open MARKs") }
      marks.append(stack.count)
    case 0x4a:  // BININT
      try push(.leaf(.int(Int64(try readLE(Int32.self)))))
    case 0x4b:  // BININT1
      try push(.leaf(.int(Int64(try readLE(UInt8.self)))))
    case 0x4d:  // BININT2
      try push(.leaf(.int(Int64(try readLE(UInt16.self)))))
    case 0x8a:  // LONG1
      let length = try readLE(UInt8.self)
      try push(.leaf(Self.integer(fromLittleEndian: Array(bytes[try readPayload(length: UInt64(length))]))))
    case 0x47:  // BINFLOAT (big-endian)
      let offset = try read(8).lowerBound
      let raw = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
      try push(.leaf(.float(Double(bitPattern: UInt64(bigEndian: raw)))))
    case 0x4e:  // NONE
      try push(.leaf(.none))
    case 0x88:  // NEWTRUE
      try push(.leaf(.bool(true)))
    case 0x89:  // NEWFALSE
      try push(.leaf(.bool(false)))
    case 0x51:  // BINPERSID
      let pid = try pop()
      try push(try newNode(.persistentID, [pid]))
    case 0x52, 0x81:  // REDUCE, NEWOBJ
      let args = try pop()
      let callable = try pop()
      if case .leaf(.global("collections", "OrderedDict")) = callable, case .leaf(.tuple([])) = args {
        try push(try newNode(.dict, []))
      } else {
        try push(try newNode(op == 0x52 ? .reduce : .newObject, [callable, args]))
      }
    case 0x7d:  // EMPTY_DICT
      try push(try newNode(.dict, []))
    case 0x5d:  // EMPTY_LIST
      try push(try newNode(.list, []))
    case 0x73:  // SETITEM
      let value = try pop()
      let key = try pop()
      try append([key, value], to: try top(), as: .dict)
    case 0x75:  // SETITEMS
      let items = try popMark()
      guard items.count % 2 == 0 else { throw malformed("odd number of items (\(items.count))") }
      try append(items, to: try top(), as: .dict)
    case 0x61:  // APPEND
      let value = try pop()
      try append([value], to: try top(), as: .list)
    case 0x65:  // APPENDS
      let items = try popMark()
      try append(items, to: try top(), as: .list)
    case 0x62:  // BUILD
      let state = try pop()
      let object = try pop()
      let target: Int
      if case .node(let i) = object {
        target = i
      } else {
        target = try newNodeIndex(.wrapped, [object])
      }
      guard nodes[target].states.count < Self.maxStatesPerObject else {
        throw malformed("more than \(Self.maxStatesPerObject) BUILD calls on one object")
      }
      try countObjects(1)
      nodes[target].states.append(state)
      try push(.node(target))
    default:
      if let name = Pickle.opcodeNames[op] {
        throw error(
          .unknownOpcode,
          "unsupported pickle opcode 0x\(hex(op)) (\(name)) at byte \(opStart)\(member)")
      }
      throw error(.unknownOpcode, "unknown pickle opcode 0x\(hex(op)) at byte \(opStart)\(member)")
    }
  }

  private func hex(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16)
    return digits.count == 1 ? "0" + digits : digits
  }

  private mutating func append(_ items: [Slot], to target: Slot, as kind: NodeKind) throws {
    guard let i = container(target, kind) else {
      throw malformed("target is a \(describe(target)), not a \(kind)")
    }
    try countObjects(items.count)
    nodes[i].items.append(contentsOf: items)
  }

  private func global(_ module: String, _ name: String) throws -> PickleValue {
    let qualified = "\(module).\(name)"
    guard config.allowedGlobals.contains(qualified) else {
      throw error(.forbiddenGlobal, "forbidden global '\(qualified)' at byte \(opStart)\(member)")
    }
    return .global(module: module, name: name)
  }

  /// Decodes LONG1's little-endian two's-complement bytes.
  static func integer(fromLittleEndian raw: [UInt8]) -> PickleValue {
    var bytes = raw
    // Drop redundant sign-extension bytes so that equal integers compare equal.
    while bytes.count > 1 {
      let last = bytes[bytes.count - 1]
      let previousNegative = bytes[bytes.count - 2] & 0x80 != 0
      guard (last == 0 && !previousNegative) || (last == 0xff && previousNegative) else { break }
      bytes.removeLast()
    }
    guard bytes.count <= 8 else { return .bigInt(bytes) }
    guard let last = bytes.last else { return .int(0) }
    var value: UInt64 = last & 0x80 != 0 ? ~0 : 0
    for (i, b) in bytes.enumerated() {
      value &= ~(UInt64(0xff) << (8 * UInt64(i)))
      value |= UInt64(b) << (8 * UInt64(i))
    }
    return .int(Int64(bitPattern: value))
  }

  // MARK: - Conversion

  /// Converts `slot`, which sits `depth` levels below the root; also returns the height of its subtree.
  private mutating func convert(_ slot: Slot, depth: Int) throws -> (value: PickleValue, height: Int) {
    switch slot {
    case .leaf(let v): return (v, 0)
    case .node(let i): return try convertNode(i, depth: depth)
    }
  }

  private mutating func convertNode(_ index: Int, depth: Int) throws -> (value: PickleValue, height: Int) {
    let tooDeep = error(.malformed, "pickle nests deeper than \(config.maxNestingDepth) levels\(member)")
    if let done = converted[index] {
      guard depth + done.height <= config.maxNestingDepth else { throw tooDeep }
      return done
    }
    let node = nodes[index]
    let levels = 1 + node.states.count
    guard depth + levels <= config.maxNestingDepth else { throw tooDeep }
    guard converting.insert(index).inserted else {
      throw error(.unsupported, "pickle contains a reference cycle\(member)")
    }
    defer { converting.remove(index) }
    var childHeight = 0
    var children: [PickleValue] = []
    children.reserveCapacity(node.items.count)
    for item in node.items {
      let child = try convert(item, depth: depth + levels)
      children.append(child.value)
      childHeight = max(childHeight, child.height)
    }
    var value: PickleValue
    switch node.kind {
    case .tuple: value = .tuple(children)
    case .list: value = .list(children)
    case .dict:
      var pairs: [(key: PickleValue, value: PickleValue)] = []
      pairs.reserveCapacity(children.count / 2)
      for k in stride(from: 0, to: children.count - 1, by: 2) {
        pairs.append((key: children[k], value: children[k + 1]))
      }
      value = .dict(pairs)
    case .persistentID: value = .persistentID(children[0])
    case .reduce: value = .reduce(callable: children[0], args: children[1])
    case .newObject: value = .newObject(cls: children[0], args: children[1])
    case .wrapped: value = children[0]
    }
    for state in node.states {
      let converted = try convert(state, depth: depth + levels)
      childHeight = max(childHeight, converted.height)
      value = .build(object: value, state: converted.value)
    }
    let result = (value: value, height: childHeight + levels)
    converted[index] = result
    return result
  }
}
