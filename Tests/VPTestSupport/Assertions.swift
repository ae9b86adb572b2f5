import Foundation
import XCTest

/// What the tolerance of ``assertClose(_:_:tolerance:relativeTo:_:file:line:)`` is relative to.
public enum ToleranceScale: Sendable, Equatable {
  /// `|a − b| ≤ tolerance` for every element.
  case absolute
  /// `|a − b| ≤ tolerance · max(floor, |b|)` for every element: relative to each expected value, absolute
  /// below `floor`.
  case eachExpected(floor: Double)
  /// `max |a − b| / max(1, max |b|) ≤ tolerance`: relative to the largest expected magnitude, one check for
  /// the whole array.
  case largestExpected
}

/// Asserts that `actual` matches `expected` within `tolerance` (absolute unless `scale` says otherwise),
/// naming the first few offending indices. The arithmetic is done in `Expected`'s type.
public func assertClose<Actual: BinaryFloatingPoint, Expected: BinaryFloatingPoint>(
  _ actual: [Actual], _ expected: [Expected], tolerance: Expected, relativeTo scale: ToleranceScale = .absolute,
  _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.count, expected.count, "\(message): lengths differ", file: file, line: line)
  let pairs = zip(actual, expected).map { (Expected($0), $1) }
  let floor: Expected
  switch scale {
  case .absolute: floor = 0
  case .eachExpected(let value): floor = Expected(value)
  case .largestExpected:
    var largest: Expected = 1
    var difference: Expected = 0
    for (a, b) in pairs {
      largest = max(largest, abs(b))
      difference = max(difference, abs(a - b))
    }
    XCTAssertLessThanOrEqual(
      difference / largest, tolerance, "\(message): max relative difference \(difference / largest)", file: file,
      line: line)
    return
  }
  var failures = 0
  for (i, (a, b)) in pairs.enumerated() {
    let bound = scale == .absolute ? tolerance : tolerance * max(floor, abs(b))
    if !(abs(a - b) <= bound) {
      failures += 1
      if failures <= 5 {
        XCTFail("\(message) [\(i)]: \(a) vs expected \(b) (tolerance \(bound))", file: file, line: line)
      }
    }
  }
  if failures > 5 { XCTFail("\(message): \(failures) mismatches in all", file: file, line: line) }
}

/// ``assertClose(_:_:tolerance:relativeTo:_:file:line:)`` for one value.
public func assertClose<Actual: BinaryFloatingPoint, Expected: BinaryFloatingPoint>(
  _ actual: Actual, _ expected: Expected, tolerance: Expected, relativeTo scale: ToleranceScale = .absolute,
  _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
  assertClose([actual], [expected], tolerance: tolerance, relativeTo: scale, message, file: file, line: line)
}

/// Runs `body`, expecting an error whose description (`"\(error)"`) is `expected`.
public func assertThrowsDescription(
  _ expected: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) {
  do {
    try body()
    XCTFail("expected an error: \(expected)", file: file, line: line)
  } catch {
    XCTAssertEqual("\(error)", expected, file: file, line: line)
  }
}

/// `max |a − b| / max |b|` over two arrays of the same length (the largest difference itself when `expected`
/// is all zeros): the error measure of the kernel and model tests that compare two computations.
public func maxRelativeError(_ actual: [Float], _ expected: [Float]) -> Float {
  precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count) values")
  var largest: Float = 0
  var difference: Float = 0
  for (a, b) in zip(actual, expected) {
    largest = max(largest, abs(b))
    difference = max(difference, abs(a - b))
  }
  return largest > 0 ? difference / largest : difference
}
