/// Builds pickles opcode by opcode, for hand-made test inputs.
struct PickleBuilder {
  var bytes: [UInt8] = []

  mutating func raw(_ b: UInt8...) { bytes += b }
  mutating func proto(_ version: UInt8 = 2) { raw(0x80, version) }
  mutating func stop() { raw(0x2e) }
  mutating func mark() { raw(0x28) }
  mutating func tuple() { raw(0x74) }
  mutating func emptyTuple() { raw(0x29) }
  mutating func none() { raw(0x4e) }
  mutating func bool(_ b: Bool) { raw(b ? 0x88 : 0x89) }
  mutating func reduce() { raw(0x52) }
  mutating func build() { raw(0x62) }
  mutating func persistentID() { raw(0x51) }
  mutating func emptyDict() { raw(0x7d) }
  mutating func emptyList() { raw(0x5d) }
  mutating func setItem() { raw(0x73) }
  mutating func setItems() { raw(0x75) }
  mutating func append() { raw(0x61) }
  mutating func appends() { raw(0x65) }
  mutating func put(_ index: UInt8) { raw(0x71, index) }
  mutating func get(_ index: UInt8) { raw(0x68, index) }

  mutating func global(_ module: String, _ name: String) {
    raw(0x63)
    bytes += Array("\(module)\n\(name)\n".utf8)
  }

  mutating func string(_ s: String) {
    let utf8 = Array(s.utf8)
    raw(0x58)
    bytes.le(UInt32(utf8.count))
    bytes += utf8
  }

  mutating func int(_ value: Int) {
    switch value {
    case 0...255: raw(0x4b, UInt8(value))
    case 256...65535:
      raw(0x4d)
      bytes.le(UInt16(value))
    default:
      raw(0x4a)
      bytes.le(Int32(value))
    }
  }

  mutating func long1(_ littleEndian: [UInt8]) {
    raw(0x8a, UInt8(littleEndian.count))
    bytes += littleEndian
  }

  /// `OrderedDict()` via REDUCE.
  mutating func orderedDict() {
    global("collections", "OrderedDict")
    emptyTuple()
    reduce()
  }

  mutating func intTuple(_ values: [Int]) {
    mark()
    for v in values { int(v) }
    tuple()
  }

  /// `_rebuild_tensor_v2(persistent_id(('storage', torch.<type>, key, 'cpu', numel[, view])), offset, shape,
  /// strides, False, OrderedDict())`.
  mutating func tensor(
    storage type: String = "FloatStorage", key: String, numel: Int, offset: Int = 0, shape: [Int],
    strides: [Int], legacyView: (key: String, offset: Int, size: Int)?? = .none, parameter: Bool = false
  ) {
    if parameter {
      // _rebuild_parameter(tensor, requires_grad, hooks)
      global("torch._utils", "_rebuild_parameter")
      mark()
    }
    global("torch._utils", "_rebuild_tensor_v2")
    mark()
    mark()
    string("storage")
    global("torch", type)
    string(key)
    string("cpu")
    int(numel)
    if let view = legacyView {
      if let view {
        mark()
        string(view.key)
        int(view.offset)
        int(view.size)
        tuple()
      } else {
        none()
      }
    }
    tuple()
    persistentID()
    int(offset)
    intTuple(shape)
    intTuple(strides)
    bool(false)
    orderedDict()
    tuple()
    reduce()
    if parameter {
      bool(true)
      orderedDict()
      tuple()
      reduce()
    }
  }
}

/// A tensor to put in a hand-made checkpoint.
struct TensorSpec {
  var name: String
  var type: String = "FloatStorage"
  var key: String
  var numel: Int
  var offset: Int = 0
  var shape: [Int]
  var strides: [Int]
  var view: (key: String, offset: Int, size: Int)? = nil
  var parameter = false
}

extension PickleBuilder {
  /// A complete state-dict pickle: `OrderedDict` of `specs`, optionally wrapped as `{"state_dict": …}`.
  static func stateDict(_ specs: [TensorSpec], legacy: Bool, wrapped: Bool = false) -> [UInt8] {
    var p = PickleBuilder()
    p.proto()
    if wrapped {
      p.emptyDict()
      p.string("epoch")
      p.int(7)
      p.setItem()
      p.string("state_dict")
    }
    p.orderedDict()
    p.mark()
    for spec in specs {
      p.string(spec.name)
      p.tensor(
        storage: spec.type, key: spec.key, numel: spec.numel, offset: spec.offset, shape: spec.shape,
        strides: spec.strides, legacyView: legacy ? .some(spec.view) : .none, parameter: spec.parameter)
    }
    p.setItems()
    if wrapped { p.setItem() }
    p.stop()
    return p.bytes
  }
}

/// Builds legacy (pre-1.6) torch files.
enum LegacyBuilder {
  static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

  static func header(magic: [UInt8] = magic) -> [UInt8] {
    var p = PickleBuilder()
    p.proto()
    p.long1(magic)
    p.stop()
    p.proto()
    p.int(1001)
    p.stop()
    p.proto()
    p.emptyDict()
    p.string("little_endian")
    p.bool(true)
    p.setItem()
    p.stop()
    return p.bytes
  }

  /// `header + statePickle + keys pickle + storages`; `storages` are (key, element count, raw bytes).
  static func file(
    statePickle: [UInt8], storages: [(key: String, count: Int, data: [UInt8])], magic: [UInt8] = magic
  ) -> [UInt8] {
    var bytes = header(magic: magic) + statePickle
    var keys = PickleBuilder()
    keys.proto()
    keys.emptyList()
    keys.mark()
    for s in storages { keys.string(s.key) }
    keys.appends()
    keys.stop()
    bytes += keys.bytes
    for s in storages {
      bytes.le(Int64(s.count))
      bytes += s.data
    }
    return bytes
  }
}

/// Builds zip archives (stored or deflated entries, optional ZIP64 end records).
struct ZipBuilder {
  struct Entry {
    var name: String
    var data: [UInt8]
    /// The raw deflate stream to store instead of `data` (method 8), if any.
    var deflated: [UInt8]?
  }

  var entries: [Entry] = []

  mutating func add(_ name: String, _ data: [UInt8], deflated: [UInt8]? = nil) {
    entries.append(Entry(name: name, data: data, deflated: deflated))
  }

  func build(zip64: Bool = false) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for entry in entries {
      let offset = out.count
      let name = Array(entry.name.utf8)
      let payload = entry.deflated ?? entry.data
      let method: UInt16 = entry.deflated == nil ? 0 : 8
      let crc = crc32(entry.data)
      out.le(UInt32(0x0403_4b50))
      out.le(UInt16(20))
      out.le(UInt16(0))
      out.le(method)
      out.le(UInt32(0))  // time, date
      out.le(crc)
      out.le(UInt32(payload.count))
      out.le(UInt32(entry.data.count))
      out.le(UInt16(name.count))
      out.le(UInt16(0))
      out += name
      out += payload

      central.le(UInt32(0x0201_4b50))
      central.le(UInt16(45))
      central.le(UInt16(20))
      central.le(UInt16(0))
      central.le(method)
      central.le(UInt32(0))
      central.le(crc)
      central.le(UInt32(payload.count))
      central.le(UInt32(entry.data.count))
      central.le(UInt16(name.count))
      if zip64 {
        // Saturate the local header offset and give it in a ZIP64 extra field.
        central.le(UInt16(12))
      } else {
        central.le(UInt16(0))
      }
      central.le(UInt16(0))  // comment
      central.le(UInt16(0))  // disk
      central.le(UInt16(0))  // internal attributes
      central.le(UInt32(0))  // external attributes
      central.le(zip64 ? UInt32.max : UInt32(offset))
      central += name
      if zip64 {
        central.le(UInt16(1))
        central.le(UInt16(8))
        central.le(UInt64(offset))
      }
    }
    let directoryOffset = out.count
    out += central
    if zip64 {
      let recordOffset = out.count
      out.le(UInt32(0x0606_4b50))
      out.le(UInt64(44))
      out.le(UInt16(45))
      out.le(UInt16(45))
      out.le(UInt32(0))
      out.le(UInt32(0))
      out.le(UInt64(entries.count))
      out.le(UInt64(entries.count))
      out.le(UInt64(central.count))
      out.le(UInt64(directoryOffset))
      out.le(UInt32(0x0706_4b50))
      out.le(UInt32(0))
      out.le(UInt64(recordOffset))
      out.le(UInt32(1))
    }
    out.le(UInt32(0x0605_4b50))
    out.le(UInt16(0))
    out.le(UInt16(0))
    out.le(zip64 ? UInt16.max : UInt16(entries.count))
    out.le(zip64 ? UInt16.max : UInt16(entries.count))
    out.le(zip64 ? UInt32.max : UInt32(central.count))
    out.le(zip64 ? UInt32.max : UInt32(directoryOffset))
    out.le(UInt16(0))
    return out
  }

  /// A torch zip checkpoint: `archive/data.pkl`, `archive/data/<key>`, `archive/{version,byteorder}`.
  static func torchFile(
    statePickle: [UInt8], storages: [(key: String, data: [UInt8])], deflate: Set<String> = [],
    zip64: Bool = false
  ) -> [UInt8] {
    var zip = ZipBuilder()
    zip.add("archive/data.pkl", statePickle)
    zip.add("archive/byteorder", Array("little".utf8))
    for s in storages {
      zip.add(
        "archive/data/\(s.key)", s.data, deflated: deflate.contains(s.key) ? storedDeflate(s.data) : nil)
    }
    zip.add("archive/version", Array("3\n".utf8))
    return zip.build(zip64: zip64)
  }
}
