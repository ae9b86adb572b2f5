/// The raw elements a tensor is a view into: `elementCount` little-endian elements of `dtype` starting at
/// `byteOffset` in `bytes` (usually the whole checkpoint file, shared without copying).
struct TensorStorage: Sendable {
  let bytes: [UInt8]
  let byteOffset: Int
  let elementCount: Int
  let dtype: DType

  /// Checks that the elements lie inside `bytes`.
  init?(bytes: [UInt8], byteOffset: Int, elementCount: Int, dtype: DType) {
    guard let length = checkedProduct(elementCount, dtype.byteSize),
      bytes.contains(offset: byteOffset, length: length)
    else { return nil }
    self.bytes = bytes
    self.byteOffset = byteOffset
    self.elementCount = elementCount
    self.dtype = dtype
  }
}

/// One tensor of a checkpoint: a shape, a dtype and a strided view into a storage.
///
/// The layout is validated when the tensor is created (every addressed element lies inside the storage),
/// so reading values never goes out of bounds. Values are decoded lazily by `floats()` / `int64s()`,
/// which return contiguous row-major copies with the storage offset and strides applied.
public struct CheckpointTensor: Sendable {
  /// The size of each dimension (empty for a scalar).
  public let shape: [Int]
  /// The distance, in elements, between neighbours along each dimension of the storage.
  public let strides: [Int]
  /// The index, in elements, of the tensor's first element in its storage.
  public let storageOffset: Int
  /// The number of elements (the product of `shape`; 1 for a scalar).
  public let count: Int
  /// Whether the elements are stored contiguously in row-major order.
  public let isContiguous: Bool
  let storage: TensorStorage
  /// The file the tensor was read from, for error messages.
  var sourcePath = "<memory>"
  /// The tensor's name in its state dict, for error messages.
  var name = ""

  /// The element type.
  public var dtype: DType { storage.dtype }
  /// The number of dimensions.
  public var rank: Int { shape.count }
  /// The number of elements of the underlying storage (which views may share).
  public var storageCount: Int { storage.elementCount }

  /// Why a layout was rejected.
  struct LayoutProblem: Error {
    let message: String
  }

  /// The most dimensions a tensor may have.
  static let maxRank = 64
  /// How many times larger than its storage a view may be (stride-0 expansions); this bounds what
  /// `floats()` allocates by the size of the file.
  static let maxRepetition = 64

  /// Creates a view after checking that every element it addresses lies inside `storage`.
  init(shape: [Int], strides: [Int], storageOffset: Int, storage: TensorStorage) throws(LayoutProblem) {
    guard shape.count <= Self.maxRank, strides.count <= Self.maxRank else {
      throw LayoutProblem(message: "rank \(max(shape.count, strides.count)) exceeds \(Self.maxRank)")
    }
    guard shape.count == strides.count else {
      throw LayoutProblem(message: "shape \(shape) and strides \(strides) differ in rank")
    }
    guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
      throw LayoutProblem(
        message:
          "negative size, stride or offset (shape \(shape), strides \(strides), offset \(storageOffset))")
    }
    guard let count = checkedProduct(shape) else {
      throw LayoutProblem(message: "shape \(shape) has too many elements")
    }
    guard let limit = checkedProduct(max(storage.elementCount, 1), Self.maxRepetition), count <= limit else {
      throw LayoutProblem(
        message:
          "view of \(count) elements (shape \(shape)) repeats its \(storage.elementCount)-element storage "
          + "more than \(Self.maxRepetition)-fold")
    }
    if count > 0 {
      var last = storageOffset
      for (size, stride) in zip(shape, strides) {
        guard let step = checkedProduct(size - 1, stride), let next = checkedSum(last, step) else {
          throw LayoutProblem(message: "strides \(strides) overflow")
        }
        last = next
      }
      guard last < storage.elementCount else {
        throw LayoutProblem(
          message:
            "view (shape \(shape), strides \(strides), offset \(storageOffset)) reaches element \(last) "
            + "of a \(storage.elementCount)-element storage")
      }
    }
    var contiguous = true
    var expected = 1
    for (size, stride) in zip(shape, strides).reversed() where size != 1 {
      if stride != expected { contiguous = false }
      expected = expected &* size
    }
    self.shape = shape
    self.strides = strides
    self.storageOffset = storageOffset
    self.count = count
    self.isContiguous = contiguous
    self.storage = storage
  }

  /// The row-major strides of `shape`.
  static func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for d in shape.indices.reversed() {
      strides[d] = running
      running = running &* max(shape[d], 1)
    }
    return strides
  }

  /// A contiguous float32 tensor holding `floats`; nil when `shape`'s element count differs from theirs.
  public init?(shape: [Int], floats: [Float]) {
    guard checkedProduct(shape) == floats.count else { return nil }
    self.init(contiguous: shape, bytes: Self.littleEndianBytes(floats), dtype: .float32)
  }

  /// A contiguous int64 tensor holding `int64s`; nil when `shape`'s element count differs from theirs.
  public init?(shape: [Int], int64s: [Int64]) {
    guard checkedProduct(shape) == int64s.count else { return nil }
    self.init(contiguous: shape, bytes: Self.littleEndianBytes(int64s), dtype: .int64)
  }

  private init?(contiguous shape: [Int], bytes: [UInt8], dtype: DType) {
    guard
      let storage = TensorStorage(
        bytes: bytes, byteOffset: 0, elementCount: bytes.count / dtype.byteSize, dtype: dtype),
      let tensor = try? CheckpointTensor(
        shape: shape, strides: Self.contiguousStrides(shape), storageOffset: 0, storage: storage)
    else { return nil }
    self = tensor
  }

  /// The little-endian bytes of `values`.
  static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    #if _endian(little)
      return values.withUnsafeBytes { Array($0) }
    #else
      var out: [UInt8] = []
      out.reserveCapacity(values.count * MemoryLayout<T>.size)
      for v in values { out.appendLE(v) }
      return out
    #endif
  }

  /// The little-endian bytes of `values`.
  static func littleEndianBytes(_ values: [Float]) -> [UInt8] {
    #if _endian(little)
      return values.withUnsafeBytes { Array($0) }
    #else
      return littleEndianBytes(values.map(\.bitPattern))
    #endif
  }
}
