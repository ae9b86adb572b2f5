/// Reading and writing Hugging Face `.safetensors` files.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of JSON
/// `{name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`, then the
/// data section; offsets are relative to the data section.
public enum Safetensors {
  /// The largest header accepted (the reference implementation's limit).
  public static let maxHeaderLength = 100_000_000

  /// Reads the safetensors file at `path`.
  public static func read(_ path: String) throws -> StateDict {
    try read(bytes: FileIO.readAll(path), path: path)
  }

  /// Reads a safetensors file held in `bytes`; `path` names it in errors.
  ///
  /// Validates the header length, the JSON, each dtype, shape and `data_offsets` (inside the data section,
  /// exactly `product(shape) · element size` bytes, no two tensors overlapping). Tensors are returned in
  /// data-offset order and share `bytes` without copying.
  public static func read(bytes: [UInt8], path: String) throws -> StateDict {
    func error(_ kind: CheckpointError.Kind, _ problem: String) -> CheckpointError {
      CheckpointError(path: path, kind: kind, problem: problem)
    }
    let (members, metadata, dataStart) = try header(bytes, path: path)
    let dataSize = bytes.count - dataStart
    var located: [(name: String, begin: Int, end: Int, tensor: CheckpointTensor)] = []
    for (name, value) in members {
      func bad(_ problem: String) -> CheckpointError { error(.malformed, "tensor '\(name)' \(problem)") }
      guard case .object(let fields) = value else {
        throw bad("is a JSON \(value.kindDescription), not an object")
      }
      func field(_ key: String) -> JSONValue? { fields.last { $0.key == key }?.value }
      guard case .string(let code) = field("dtype") else { throw bad("has no dtype string") }
      guard let dtype = DType(safetensorsCode: code) else {
        throw error(.unsupported, "tensor '\(name)' has unsupported dtype '\(code)'")
      }
      guard case .array(let shapeItems) = field("shape"), let shape = nonNegativeInts(shapeItems) else {
        throw bad("has no shape list of non-negative integers")
      }
      guard case .array(let offsetItems) = field("data_offsets"), offsetItems.count == 2,
        let offsets = nonNegativeInts(offsetItems)
      else { throw bad("has no data_offsets pair of non-negative integers") }
      let (begin, end) = (offsets[0], offsets[1])
      guard begin <= end, end <= dataSize else {
        throw bad("data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section")
      }
      guard shape.count <= CheckpointTensor.maxRank else {
        throw bad("has rank \(shape.count), more than \(CheckpointTensor.maxRank)")
      }
      guard let count = checkedProduct(shape),
        let length = checkedProduct(count, dtype.byteSize), length == end - begin
      else {
        throw bad(
          "data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but shape \(shape) of \(code) needs "
            + (checkedProduct(shape).flatMap { checkedProduct($0, dtype.byteSize) }
              .map(String.init) ?? "more")
        )
      }
      guard
        let storage = TensorStorage(
          bytes: bytes, byteOffset: dataStart + begin, elementCount: count, dtype: dtype),
        let tensor = try? CheckpointTensor(
          shape: shape, strides: CheckpointTensor.contiguousStrides(shape), storageOffset: 0, storage: storage
        )
      else { throw bad("cannot be laid out") }
      located.append((name, begin, end, tensor))
    }
    located.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    for (a, b) in zip(located, located.dropFirst()) where b.begin < a.end {
      throw error(
        .malformed,
        "tensors '\(a.name)' and '\(b.name)' overlap "
          + "(data_offsets [\(a.begin), \(a.end)] and [\(b.begin), \(b.end)])"
      )
    }
    return StateDict(
      located.map { ($0.name, $0.tensor) }, path: path, format: .safetensors, metadata: metadata)
  }

  /// The header at the start of `bytes` (at least its 8-byte length and the JSON it announces): its tensor
  /// entries in order (names checked unique), its `__metadata__` strings and where the data section starts.
  private static func header(_ bytes: [UInt8], path: String) throws -> (
    members: [(key: String, value: JSONValue)], metadata: [String: String], dataStart: Int
  ) {
    func error(_ kind: CheckpointError.Kind, _ problem: String) -> CheckpointError {
      CheckpointError(path: path, kind: kind, problem: problem)
    }
    guard bytes.count >= 8 else {
      throw error(
        .truncated, "truncated safetensors file (header length needs 8 bytes, \(bytes.count) left)")
    }
    let headerLength = bytes.loadLE(0, as: UInt64.self)
    guard headerLength <= UInt64(maxHeaderLength) else {
      throw error(
        .malformed, "safetensors header length \(headerLength) exceeds the \(maxHeaderLength)-byte limit")
    }
    guard headerLength <= UInt64(bytes.count - 8) else {
      throw error(
        .truncated,
        "truncated safetensors file (header length \(headerLength) exceeds the \(bytes.count - 8) bytes "
          + "after it)"
      )
    }
    let dataStart = 8 + Int(headerLength)
    let header: JSONValue
    do {
      header = try JSONValue.parse(bytes, 8..<dataStart)
    } catch {
      throw CheckpointError(
        path: path, kind: .malformed,
        problem: "invalid safetensors header JSON at byte \(error.offset): \(error.message)")
    }
    guard case .object(let members) = header else {
      throw error(.malformed, "safetensors header is a JSON \(header.kindDescription), not an object")
    }
    var metadata: [String: String] = [:]
    var seen: Set<String> = []
    var tensors: [(key: String, value: JSONValue)] = []
    for (name, value) in members {
      guard seen.insert(name).inserted else {
        throw error(.malformed, "duplicate key '\(name)' in the header")
      }
      guard name == "__metadata__" else {
        tensors.append((name, value))
        continue
      }
      guard case .object(let pairs) = value else {
        throw error(.malformed, "__metadata__ is a JSON \(value.kindDescription), not an object")
      }
      for (key, item) in pairs {
        guard case .string(let s) = item else {
          throw error(
            .malformed, "__metadata__ entry '\(key)' is a JSON \(item.kindDescription), not a string")
        }
        metadata[key] = s
      }
    }
    return (tensors, metadata, dataStart)
  }

  private static func nonNegativeInts(_ items: [JSONValue]) -> [Int]? {
    var result: [Int] = []
    for item in items {
      guard case .int(let i) = item, i >= 0, let v = Int(exactly: i) else { return nil }
      result.append(v)
    }
    return result
  }
}

extension Safetensors {
  /// The `__metadata__` strings of the safetensors file at `path`, reading only its header (empty when it has
  /// none). For notes a file carries about itself, without reading its tensors.
  public static func metadata(_ path: String) throws -> [String: String] {
    let head = try FileIO.read(path, offset: 0, count: 8)
    // The whole header when its announced length is within the limit; else the 8 bytes, which `header` refuses.
    let length = head.count == 8 ? head.loadLE(0, as: UInt64.self) : 0
    let count = length <= UInt64(maxHeaderLength) ? 8 + Int(length) : 8
    return try header(FileIO.read(path, offset: 0, count: count), path: path).metadata
  }
}
