/// An inert value tree produced by `Pickle`: what a pickle *describes*, with nothing executed.
///
/// Calls the pickle would make (`REDUCE`, `NEWOBJ`, `BUILD`) are kept as symbolic nodes; persistent IDs
/// (`BINPERSID`) are kept as `persistentID` for the caller to resolve. Dictionaries keep their insertion
/// order as a list of pairs. The tree depth is bounded by `Pickle.maxNestingDepth`.
public indirect enum PickleValue: Sendable, Equatable, CustomStringConvertible {
  /// `None`.
  case none
  /// `True` / `False`.
  case bool(Bool)
  /// An integer that fits in 64 bits.
  case int(Int64)
  /// An integer that does not fit in 64 bits, as minimal little-endian two's-complement bytes.
  case bigInt([UInt8])
  /// A float (`BINFLOAT`).
  case float(Double)
  /// A Unicode string.
  case string(String)
  /// A `bytes` or `bytearray` value.
  case bytes([UInt8])
  /// A tuple.
  case tuple([PickleValue])
  /// A list.
  case list([PickleValue])
  /// A dict (or an empty-constructed `collections.OrderedDict`), in insertion order.
  case dict([(key: PickleValue, value: PickleValue)])
  /// A reference to `module.name` (only names on the allow-list ever appear).
  case global(module: String, name: String)
  /// The value passed to `persistent_load` (`BINPERSID`).
  case persistentID(PickleValue)
  /// `callable(*args)` (`REDUCE`), not performed.
  case reduce(callable: PickleValue, args: PickleValue)
  /// `cls.__new__(cls, *args)` (`NEWOBJ`), not performed.
  case newObject(cls: PickleValue, args: PickleValue)
  /// `object.__setstate__(state)` (`BUILD`), not performed.
  case build(object: PickleValue, state: PickleValue)

  /// Structural equality (dict pairs are compared in order).
  public static func == (lhs: PickleValue, rhs: PickleValue) -> Bool {
    switch (lhs, rhs) {
    case (.none, .none): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.int(let a), .int(let b)): return a == b
    case (.bigInt(let a), .bigInt(let b)): return a == b
    case (.float(let a), .float(let b)): return a == b || (a.isNaN && b.isNaN)
    case (.string(let a), .string(let b)): return a == b
    case (.bytes(let a), .bytes(let b)): return a == b
    case (.tuple(let a), .tuple(let b)): return a == b
    case (.list(let a), .list(let b)): return a == b
    case (.dict(let a), .dict(let b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    case (.global(let m1, let n1), .global(let m2, let n2)): return m1 == m2 && n1 == n2
    case (.persistentID(let a), .persistentID(let b)): return a == b
    case (.reduce(let c1, let a1), .reduce(let c2, let a2)): return c1 == c2 && a1 == a2
    case (.newObject(let c1, let a1), .newObject(let c2, let a2)): return c1 == c2 && a1 == a2
    case (.build(let o1, let s1), .build(let o2, let s2)): return o1 == o2 && s1 == s2
    default: return false
    }
  }

  /// A compact Python-like rendering, for diagnostics.
  public var description: String {
    switch self {
    case .none: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return String(i)
    case .bigInt(let bytes): return "<int of \(bytes.count) bytes>"
    case .float(let d): return String(d)
    case .string(let s): return "'\(s)'"
    case .bytes(let b): return "<\(b.count) bytes>"
    case .tuple(let items):
      return "(" + items.map(\.description).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
    case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
    case .dict(let pairs): return "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    case .global(let module, let name): return "\(module).\(name)"
    case .persistentID(let pid): return "persistent_id\(pid)"
    case .reduce(let callable, let args): return "\(callable)\(args)"
    case .newObject(let cls, let args): return "\(cls).__new__\(args)"
    case .build(let object, let state): return "\(object).__setstate__(\(state))"
    }
  }

  /// A short name of the value's kind (`"dict"`, `"reduce(torch._utils._rebuild_tensor_v2)"`, …).
  public var kindDescription: String {
    switch self {
    case .none: return "None"
    case .bool: return "bool"
    case .int, .bigInt: return "int"
    case .float: return "float"
    case .string: return "str"
    case .bytes: return "bytes"
    case .tuple: return "tuple"
    case .list: return "list"
    case .dict: return "dict"
    case .global(let module, let name): return "global \(module).\(name)"
    case .persistentID: return "persistent id"
    case .reduce(let callable, _): return "reduce(\(callable.kindDescription))"
    case .newObject(let cls, _): return "object of \(cls.kindDescription)"
    case .build(let object, _): return object.kindDescription
    }
  }

  /// The string, if this is `.string`.
  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The integer, if this is `.int` (or a `.bool`, as in Python).
  public var intValue: Int64? {
    switch self {
    case .int(let i): return i
    case .bool(let b): return b ? 1 : 0
    default: return nil
    }
  }

  /// The elements, if this is a `.tuple` or `.list`.
  public var elements: [PickleValue]? {
    switch self {
    case .tuple(let items), .list(let items): return items
    default: return nil
    }
  }

  /// The pairs, if this is a `.dict` (looking through `.build` wrappers, which only add attributes).
  public var dictPairs: [(key: PickleValue, value: PickleValue)]? {
    switch self {
    case .dict(let pairs): return pairs
    case .build(let object, _): return object.dictPairs
    default: return nil
    }
  }

  /// The value stored under the string `key`, if this is a dict holding it (the last one wins, as in Python).
  public subscript(key: String) -> PickleValue? {
    guard let pairs = dictPairs else { return nil }
    return pairs.last { $0.key == .string(key) }?.value
  }
}
