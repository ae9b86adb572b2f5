import Foundation
import VPCheckpoint

/// Animal-MNIST's classes, in label order.
public let animalMNISTClassNames = [
  "bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra",
]

/// A numpy array decoded from a pickle through the reader that executes nothing.
struct NumpyPickledArray {
  var shape: [Int]
  /// numpy's type code without byte order: `u1`, `i8`, `f4`, …
  var dtype: String
  var littleEndian: Bool
  var bytes: [UInt8]

  /// The globals a pickled `numpy.ndarray` uses (numpy 1 and 2 module names); nothing else is accepted.
  static let allowedGlobals: Set<String> = [
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
  ]

  /// Decodes `ndarray.__reduce__`'s output: `BUILD(REDUCE(_reconstruct, (ndarray, (0,), b'b')),
  /// (version, shape, BUILD(REDUCE(dtype, (code, False, True)), (3, order, …)), fortran, raw bytes))`.
  init(pickle bytes: [UInt8], file: String) throws {
    let value: PickleValue
    do {
      value = try Pickle(allowedGlobals: Self.allowedGlobals).load(bytes, path: file).value
    } catch {
      throw DataError(file: file, "\(error)")
    }
    func bad(_ what: String) -> DataError { DataError(file: file, "not a pickled numpy array (\(what))") }
    guard case .build(let object, let state) = value, case .reduce(let callable, _) = object,
      case .global(_, "_reconstruct") = callable
    else { throw bad("expected numpy's _reconstruct") }
    guard case .tuple(let fields) = state, fields.count == 5 else { throw bad("array state is not a 5-tuple") }
    guard case .tuple(let dims) = fields[1] else { throw bad("shape is not a tuple") }
    shape = try dims.map { d -> Int in
      guard case .int(let v) = d, v >= 0, v < 1 << 40 else { throw bad("bad dimension") }
      return Int(v)
    }
    guard case .build(let dtypeObject, let dtypeState) = fields[2], case .reduce(_, let dtypeArgs) = dtypeObject,
      case .tuple(let dtypeFields) = dtypeArgs, case .string(let code)? = dtypeFields.first
    else { throw bad("dtype") }
    dtype = code
    littleEndian = true
    if case .tuple(let st) = dtypeState, st.count > 1, case .string(let order) = st[1] { littleEndian = order != ">" }
    if case .bool(true) = fields[3] { throw bad("Fortran order is not supported") }
    guard case .bytes(let raw) = fields[4] else { throw bad("data is not a bytes payload") }
    self.bytes = raw
    let itemSize: Int
    switch dtype {
    case "u1", "i1", "b1": itemSize = 1
    case "i4", "f4", "u4": itemSize = 4
    case "i8", "f8", "u8": itemSize = 8
    default: throw bad("unsupported dtype '\(dtype)'")
    }
    guard shape.reduce(1, *) * itemSize == raw.count else {
      throw bad("shape \(shape) × \(itemSize) bytes does not match the \(raw.count)-byte payload")
    }
  }

  /// The elements as integers (integer dtypes, little-endian).
  func integers() throws -> [Int] {
    switch dtype {
    case "u1": return bytes.map { Int($0) }
    case "i8":
      return stride(from: 0, to: bytes.count, by: 8).map { i in
        var v: UInt64 = 0
        for j in 0..<8 { v |= UInt64(bytes[i + (littleEndian ? j : 7 - j)]) << (8 * UInt64(j)) }
        return Int(Int64(bitPattern: v))
      }
    default: throw DataError(file: "", "integer array expected, got dtype \(dtype)")
    }
  }
}

extension LabeledImages {
  /// Animal-MNIST (PyPI `animal-mnist`): gzip'd pickles of a `uint8 [10000, 28, 28]` array and an
  /// `int64 [10000]` label array, read through the pickle reader that executes nothing.
  public static func animalMNIST(dataFile: String, labelFile: String) throws -> LabeledImages {
    let data = try NumpyPickledArray(pickle: try Gzip.readMaybeCompressed(dataFile), file: dataFile)
    let labelArray = try NumpyPickledArray(pickle: try Gzip.readMaybeCompressed(labelFile), file: labelFile)
    guard data.dtype == "u1", data.shape.count == 3 else {
      throw DataError(file: dataFile, "expected a uint8 [N, H, W] array, got \(data.dtype) \(data.shape)")
    }
    let labels: [Int]
    do { labels = try labelArray.integers() } catch { throw DataError(file: labelFile, "\(error)") }
    guard labels.count == data.shape[0] else {
      throw DataError(file: labelFile, "\(labels.count) labels for \(data.shape[0]) images in \(dataFile)")
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= animalMNISTClassNames.count }) {
      throw DataError(file: labelFile, "label \(bad) outside 0..<\(animalMNISTClassNames.count)")
    }
    return LabeledImages(
      name: "animal-mnist", samples: .bytes(data.bytes, maximum: 255), count: data.shape[0], height: data.shape[1],
      width: data.shape[2], channels: 1, labels: labels, classNames: animalMNISTClassNames)
  }
}
