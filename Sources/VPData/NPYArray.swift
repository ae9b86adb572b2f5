import VPImage

/// A NumPy `.npy` array: little-endian `<f4`, `<f8`, `<i4`, `<i8` or `|u1`, C order.
///
/// Format versions 1, 2 and 3 are read (`\x93NUMPY`, major, minor, a 2- or 4-byte little-endian
/// header length, then a Python dict literal with `descr`, `fortran_order` and `shape`).
/// `fortran_order: True`, big-endian and other dtypes are rejected.
public struct NPYArray: Sendable, Equatable {
  /// The element storage, by dtype.
  public enum Storage: Sendable, Equatable {
    /// `<f4`.
    case float32([Float])
    /// `<f8`.
    case float64([Double])
    /// `|u1`.
    case uint8([UInt8])
    /// `<i4`.
    case int32([Int32])
    /// `<i8`.
    case int64([Int64])
  }

  /// The dimensions (empty for a scalar).
  public var shape: [Int]
  /// The elements in C (row-major) order.
  public var storage: Storage

  /// An array from its parts; the element count must match `shape`.
  public init(shape: [Int], storage: Storage) {
    precondition(
      shape.reduce(1, *) == Self.count(of: storage), "NPYArray: shape does not match data")
    self.shape = shape
    self.storage = storage
  }

  /// Reads and parses `path`. Errors name `path`.
  public init(contentsOfFile path: String) throws(DataError) {
    let bytes: [UInt8]
    do {
      bytes = try FileIO.readAll(path)
    } catch {
      throw DataError(file: path, "cannot read file: \(error.reason)")
    }
    try self.init(parsing: bytes, file: path)
  }

  /// Parses `.npy` bytes; `file` names the source in errors.
  public init(parsing bytes: [UInt8], file: String) throws(DataError) {
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
      throw DataError(file: file, "not a .npy file (missing \\x93NUMPY magic)")
    }
    let major = bytes[6]
    let headerLength: Int
    let headerStart: Int
    switch major {
    case 1:
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      headerStart = 10
    case 2, 3:
      guard bytes.count >= 12 else { throw DataError(file: file, "truncated .npy header") }
      headerLength =
        Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      headerStart = 12
    default:
      throw DataError(file: file, "unsupported .npy format version \(major).\(bytes[7])")
    }
    guard bytes.count >= headerStart + headerLength else {
      throw DataError(
        file: file,
        "truncated .npy header: \(headerLength) bytes announced, \(bytes.count - headerStart) present"
      )
    }
    let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
    let fields: NPYHeader
    do {
      fields = try NPYHeader(parsing: header)
    } catch {
      throw DataError(
        file: file, "bad .npy header \(header.trimmed(of: " \t\n")): \(error.message)")
    }
    guard !fields.fortranOrder else {
      throw DataError(file: file, "fortran_order True is not supported (save with C order)")
    }
    let itemSize: Int
    switch fields.descr {
    case "<f4": itemSize = 4
    case "<f8": itemSize = 8
    case "|u1", "<u1", "u1": itemSize = 1
    case "<i4": itemSize = 4
    case "<i8": itemSize = 8
    default:
      throw DataError(
        file: file, "unsupported dtype '\(fields.descr)' (expected <f4, <f8, |u1, <i4 or <i8)")
    }
    var elementCount = 1
    for size in fields.shape {
      let (product, overflow) = elementCount.multipliedReportingOverflow(by: size)
      guard !overflow else { throw DataError(file: file, "shape \(fields.shape) overflows") }
      elementCount = product
    }
    let dataStart = headerStart + headerLength
    let available = bytes.count - dataStart
    guard available == elementCount * itemSize else {
      throw DataError(
        file: file,
        "data has \(available) bytes but shape \(fields.shape) of \(fields.descr) needs \(elementCount * itemSize)"
      )
    }
    let payload = bytes[dataStart...]
    switch itemSize == 1 ? "u1" : fields.descr {
    case "<f4": storage = .float32(Self.load(payload, count: elementCount))
    case "<f8": storage = .float64(Self.load(payload, count: elementCount))
    case "<i4": storage = .int32(Self.load(payload, count: elementCount))
    case "<i8": storage = .int64(Self.load(payload, count: elementCount))
    default: storage = .uint8(Array(payload))
    }
    shape = fields.shape
  }

  /// Number of elements.
  public var count: Int { Self.count(of: storage) }

  /// The dtype string (`<f4`, `<f8`, `|u1`, `<i4`, `<i8`).
  public var dtype: String {
    switch storage {
    case .float32: "<f4"
    case .float64: "<f8"
    case .uint8: "|u1"
    case .int32: "<i4"
    case .int64: "<i8"
    }
  }

  /// The elements converted to `Float`.
  public var floats: [Float] {
    switch storage {
    case .float32(let v): v
    case .float64(let v): v.map { Float($0) }
    case .uint8(let v): v.map { Float($0) }
    case .int32(let v): v.map { Float($0) }
    case .int64(let v): v.map { Float($0) }
    }
  }

  /// The elements as `Int`, or nil for float arrays.
  public var ints: [Int]? {
    switch storage {
    case .float32, .float64: nil
    case .uint8(let v): v.map { Int($0) }
    case .int32(let v): v.map { Int($0) }
    case .int64(let v): v.map { Int($0) }
    }
  }

  /// The version 1.0 `.npy` encoding (header padded to a multiple of 64 bytes, as NumPy writes).
  public var npyBytes: [UInt8] {
    let shapeText =
      shape.count == 1
      ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(dtype)', 'fortran_order': False, 'shape': \(shapeText), }"
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    let length = header.utf8.count
    var out: [UInt8] = [
      0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(length & 0xFF), UInt8(length >> 8),
    ]
    out += Array(header.utf8)
    switch storage {
    case .float32(let v): out += v.withUnsafeBytes { Array($0) }
    case .float64(let v): out += v.withUnsafeBytes { Array($0) }
    case .uint8(let v): out += v
    case .int32(let v): out += v.withUnsafeBytes { Array($0) }
    case .int64(let v): out += v.withUnsafeBytes { Array($0) }
    }
    return out
  }

  private static func count(of storage: Storage) -> Int {
    switch storage {
    case .float32(let v): v.count
    case .float64(let v): v.count
    case .uint8(let v): v.count
    case .int32(let v): v.count
    case .int64(let v): v.count
    }
  }

  /// Copies little-endian elements out of `payload` (host is little-endian).
  private static func load<T>(_ payload: ArraySlice<UInt8>, count: Int) -> [T] {
    [T](unsafeUninitializedCapacity: count) { buffer, initialized in
      payload.withUnsafeBytes { raw in
        UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
      }
      initialized = count
    }
  }
}

/// The fields of a `.npy` header dict.
private struct NPYHeader {
  struct Problem: Error {
    var message: String
  }

  var descr = ""
  var fortranOrder = false
  var shape: [Int] = []

  init(parsing text: String) throws(Problem) {
    guard let descr = Self.value(of: "descr", in: text) else {
      throw Problem(message: "no 'descr'")
    }
    guard descr.count >= 2, descr.first == "'" || descr.first == "\"" else {
      throw Problem(message: "'descr' is not a simple string")
    }
    self.descr = String(descr.dropFirst().prefix(while: { $0 != "'" && $0 != "\"" }))
    guard let fortran = Self.value(of: "fortran_order", in: text) else {
      throw Problem(message: "no 'fortran_order'")
    }
    if fortran.hasPrefix("True") {
      fortranOrder = true
    } else if !fortran.hasPrefix("False") {
      throw Problem(message: "'fortran_order' is neither True nor False")
    }
    guard let shapeText = Self.value(of: "shape", in: text), shapeText.first == "(",
      let close = shapeText.firstIndex(of: ")")
    else { throw Problem(message: "no 'shape' tuple") }
    let inner = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
    for part in inner.split(separator: ",") {
      let trimmed = part.trimmed(of: " \t\n")
      if trimmed.isEmpty { continue }
      guard let size = Int(trimmed.hasSuffix("L") ? String(trimmed.dropLast()) : trimmed), size >= 0
      else {
        throw Problem(message: "shape entry '\(trimmed)' is not a non-negative integer")
      }
      shape.append(size)
    }
  }

  /// The text after `'key':`, leading spaces removed.
  private static func value(of key: String, in text: String) -> Substring? {
    for quote in ["'", "\""] {
      if let range = text.range(of: quote + key + quote) {
        var rest = text[range.upperBound...].drop(while: { $0 == " " })
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop(while: { $0 == " " })
        return rest
      }
    }
    return nil
  }
}
