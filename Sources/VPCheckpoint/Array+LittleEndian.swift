extension Array where Element == UInt8 {
  /// Loads a little-endian integer at `offset`; the caller has checked `offset + size <= count`.
  @inline(__always)
  func loadLE<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
    withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
  }

  /// Whether `offset ..< offset + length` lies inside the array (overflow-safe, false for negatives).
  @inline(__always)
  func contains(offset: Int, length: Int) -> Bool {
    offset >= 0 && length >= 0 && offset <= count && length <= count - offset
  }

  /// Appends `value` as little-endian bytes.
  mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }
}

/// `a * b`, or nil on overflow or when either is negative.
@inline(__always)
func checkedProduct(_ a: Int, _ b: Int) -> Int? {
  guard a >= 0, b >= 0 else { return nil }
  let (p, overflow) = a.multipliedReportingOverflow(by: b)
  return overflow ? nil : p
}

/// `a + b`, or nil on overflow.
@inline(__always)
func checkedSum(_ a: Int, _ b: Int) -> Int? {
  let (s, overflow) = a.addingReportingOverflow(b)
  return overflow ? nil : s
}

/// The product of `values`, or nil on overflow or when any is negative (1 for an empty list).
func checkedProduct(_ values: [Int]) -> Int? {
  var p = 1
  for v in values {
    guard let next = checkedProduct(p, v) else { return nil }
    p = next
  }
  return p
}
