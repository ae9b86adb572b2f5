import Foundation
import XCTest

/// A fresh temporary directory, removed by the test's teardown.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent(
    "vpdata-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url.path
}

func write(_ bytes: [UInt8], to path: String) throws {
  try FileManager.default.createDirectory(
    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Builds gzip files by hand (stored deflate blocks), independently of zlib.
enum GzipWriter {
  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for n in 0..<256 {
      var c = UInt32(n)
      for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
      table[n] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }

  static func littleEndian(_ value: UInt32) -> [UInt8] {
    [
      UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF),
      UInt8(value >> 24),
    ]
  }

  static func gzip(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
    var offset = 0
    repeat {
      let count = min(65535, data.count - offset)
      let final: UInt8 = offset + count == data.count ? 1 : 0
      out += [
        final, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF),
        UInt8((~count >> 8) & 0xFF),
      ]
      out += data[offset..<offset + count]
      offset += count
    } while offset < data.count
    return out + littleEndian(crc32(data)) + littleEndian(UInt32(truncatingIfNeeded: data.count))
  }
}

/// Asserts that `body` throws a `DataError` whose description starts with `prefix` and contains
/// `text`.
func assertDataError<T>(
  _ body: @autoclosure () throws -> T, prefix: String, contains text: String,
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertThrowsError(try body(), file: file, line: line) { error in
    let description = "\(error)"
    XCTAssertTrue(
      description.hasPrefix(prefix) && (text.isEmpty || description.contains(text)),
      "got \"\(description)\", wanted prefix \"\(prefix)\" and \"\(text)\"", file: file, line: line)
  }
}
