#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension CheckpointTensor {
  /// The values as `Float`, contiguous and row-major, with the storage offset and strides applied.
  ///
  /// Every dtype converts (integers and booleans numerically, float64 with rounding). For a contiguous
  /// float32 tensor this is a single bulk copy.
  public func floats() throws -> [Float] {
    guard count > 0 else { return [] }
    #if _endian(little)
      if dtype == .float32, isContiguous {
        return storage.bytes.withUnsafeBytes { raw in
          let source = raw.baseAddress! + storage.byteOffset + storageOffset * 4
          return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            memcpy(out.baseAddress!, source, count * 4)
            initialized = count
          }
        }
      }
    #endif
    switch dtype {
    case .float32: return gather { Float(bitPattern: Self.load($0, $1, UInt32.self)) }
    case .float64: return gather { Float(Double(bitPattern: Self.load($0, $1, UInt64.self))) }
    case .float16: return gather { Self.halfToFloat(Self.load($0, $1, UInt16.self)) }
    case .bfloat16: return gather { Float(bitPattern: UInt32(Self.load($0, $1, UInt16.self)) << 16) }
    case .int64: return gather { Float(Self.load($0, $1, Int64.self)) }
    case .int32: return gather { Float(Self.load($0, $1, Int32.self)) }
    case .int16: return gather { Float(Self.load($0, $1, Int16.self)) }
    case .int8: return gather { Float(Self.load($0, $1, Int8.self)) }
    case .uint8: return gather { Float(Self.load($0, $1, UInt8.self)) }
    case .bool: return gather { Self.load($0, $1, UInt8.self) != 0 ? 1 : 0 }
    }
  }

  /// The values as `Int64`, contiguous and row-major, with the storage offset and strides applied.
  ///
  /// Only for integer and boolean dtypes (e.g. `num_batches_tracked`); a floating-point tensor throws.
  public func int64s() throws -> [Int64] {
    switch dtype {
    case .int64: return gather { Self.load($0, $1, Int64.self) }
    case .int32: return gather { Int64(Self.load($0, $1, Int32.self)) }
    case .int16: return gather { Int64(Self.load($0, $1, Int16.self)) }
    case .int8: return gather { Int64(Self.load($0, $1, Int8.self)) }
    case .uint8: return gather { Int64(Self.load($0, $1, UInt8.self)) }
    case .bool: return gather { Self.load($0, $1, UInt8.self) != 0 ? 1 : 0 }
    case .float32, .float64, .float16, .bfloat16:
      throw CheckpointError(
        path: sourcePath, kind: .unsupported,
        problem: "tensor '\(name)' has dtype \(dtype); int64s() needs an integer dtype")
    }
  }

  /// The whole underlying storage as `Float`, in storage order (ignoring this view's offset and strides).
  ///
  /// Useful to check a strided view: element `i` of the view is storage element
  /// `storageOffset + Σ index[d]·strides[d]`.
  public func storageFloats() throws -> [Float] {
    guard
      let flat = try? CheckpointTensor(
        shape: [storage.elementCount], strides: [1], storageOffset: 0, storage: storage)
    else { return [] }
    return try flat.floats()
  }

  /// Loads element `index` of type `T` (little-endian) from `base`.
  @inline(__always)
  private static func load<T: FixedWidthInteger>(_ base: UnsafeRawPointer, _ index: Int, _ type: T.Type) -> T {
    T(littleEndian: base.loadUnaligned(fromByteOffset: index &* MemoryLayout<T>.size, as: T.self))
  }

  /// Decodes each addressed storage element in row-major order of the view.
  @inline(__always)
  private func gather<T>(_ decode: (UnsafeRawPointer, Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    return storage.bytes.withUnsafeBytes { raw in
      // `count > 0` and the validated layout guarantee a non-empty buffer.
      let base = UnsafeRawPointer(raw.baseAddress!) + storage.byteOffset
      return [T](unsafeUninitializedCapacity: count) { out, initialized in
        var o = 0
        forEachStorageIndex { index in
          out[o] = decode(base, index)
          o += 1
        }
        initialized = o
      }
    }
  }

  /// Calls `body` with the storage index of each element, in row-major order of the view.
  ///
  /// The layout was validated at creation, so every index passed is inside the storage; intermediate
  /// odometer sums may exceed it (size-1 dimensions can carry any stride), hence wrapping arithmetic.
  @inline(__always)
  private func forEachStorageIndex(_ body: (Int) -> Void) {
    guard let innerSize = shape.last, let innerStride = strides.last else {
      body(storageOffset)
      return
    }
    let outer = shape.count - 1
    var index = [Int](repeating: 0, count: outer)
    var base = storageOffset
    let rows = count / innerSize
    for _ in 0..<rows {
      var position = base
      for _ in 0..<innerSize {
        body(position)
        position = position &+ innerStride
      }
      var d = outer - 1
      while d >= 0 {
        index[d] += 1
        base = base &+ strides[d]
        if index[d] < shape[d] { break }
        base = base &- strides[d] &* shape[d]
        index[d] = 0
        d -= 1
      }
    }
  }

  /// Converts IEEE binary16 bits to `Float` (exactly; subnormals, infinities and NaNs included).
  static func halfToFloat(_ bits: UInt16) -> Float {
    let sign: Float = bits & 0x8000 != 0 ? -1 : 1
    let exponent = Int((bits >> 10) & 0x1f)
    let mantissa = UInt32(bits & 0x3ff)
    switch exponent {
    case 0:
      return sign * Float(mantissa) * 0x1p-24
    case 31:
      let signBit = UInt32(bits & 0x8000) << 16
      return Float(bitPattern: signBit | 0x7f80_0000 | (mantissa << 13))
    default:
      let signBit = UInt32(bits & 0x8000) << 16
      return Float(bitPattern: signBit | (UInt32(exponent + 112) << 23) | (mantissa << 13))
    }
  }
}
