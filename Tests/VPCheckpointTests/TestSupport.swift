import Foundation
import VPCheckpoint
import VPTestSupport
import XCTest

// MARK: - Assets

/// The real checkpoints that setup installs under `models/` (see `TestAssets`).
enum Checkpoints {
  /// The path of `models/<name>`, or a failure (or skip) explaining how to provide it.
  static func path(_ name: String) throws -> String { try TestAssets.path("models/" + name) }

  static func bytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: try path(name))))
  }
}

// MARK: - Temporary files

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("vpcheckpoint-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}

/// Writes `bytes` to `name` in `directory` and returns the path.
func writeFile(_ bytes: [UInt8], _ name: String, in directory: URL) throws -> String {
  let url = directory.appendingPathComponent(name)
  try Data(bytes).write(to: url)
  return url.path
}

/// Asserts that `body` throws a `CheckpointError` whose description contains every one of `fragments`
/// (which should include the file name and the specific problem), and returns it.
@discardableResult
func assertCheckpointError<T>(
  _ fragments: [String], kind: CheckpointError.Kind? = nil, file: StaticString = #filePath,
  line: UInt = #line,
  _ body: () throws -> T
) -> CheckpointError? {
  do {
    _ = try body()
    XCTFail("expected an error containing \(fragments)", file: file, line: line)
    return nil
  } catch let error as CheckpointError {
    for fragment in fragments {
      XCTAssertTrue(
        error.description.contains(fragment), "'\(error)' does not contain '\(fragment)'", file: file,
        line: line)
    }
    if let kind { XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line) }
    return error
  } catch {
    XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
    return nil
  }
}

// MARK: - Deterministic randomness

/// SplitMix64, for reproducible fuzzing.
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

// MARK: - Byte helpers

extension Array where Element == UInt8 {
  mutating func le<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }
}

func littleEndianBytes(_ floats: [Float]) -> [UInt8] {
  var out: [UInt8] = []
  for f in floats { out.le(f.bitPattern) }
  return out
}

func littleEndianBytes(_ ints: [Int64]) -> [UInt8] {
  var out: [UInt8] = []
  for i in ints { out.le(i) }
  return out
}

/// The table-driven CRC-32 (IEEE), independent of zlib.
func crc32(_ bytes: [UInt8]) -> UInt32 {
  var table = [UInt32](repeating: 0, count: 256)
  for i in 0..<256 {
    var c = UInt32(i)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    table[i] = c
  }
  var crc: UInt32 = 0xFFFF_FFFF
  for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
  return crc ^ 0xFFFF_FFFF
}

/// A raw deflate stream made of stored (uncompressed) blocks.
func storedDeflate(_ data: [UInt8]) -> [UInt8] {
  var out: [UInt8] = []
  var start = 0
  repeat {
    let chunk = Swift.min(65535, data.count - start)
    let final = start + chunk == data.count
    out.append(final ? 1 : 0)
    out.le(UInt16(chunk))
    out.le(~UInt16(chunk))
    out += data[start..<(start + chunk)]
    start += chunk
  } while start < data.count
  return out
}
