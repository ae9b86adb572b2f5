import Foundation
import VPImage
import VPTestSupport
import XCTest

final class ImagePNGEncodingTests: XCTestCase {
  func testRoundTripRGBAndGrey() throws {
    var generator = SystemRandomNumberGenerator()
    for channels in [1, 3] {
      for (width, height) in [(1, 1), (7, 5), (64, 33)] {
        // Smooth gradients plus noise, so every filter type gets picked somewhere.
        let bytes = (0..<(width * height * channels)).map { i -> UInt8 in
          i % 5 == 0
            ? UInt8.random(in: 0...255, using: &generator) : UInt8((i * 3 / channels) % 256)
        }
        let image = Image(width: width, height: height, channels: channels, bytes: bytes)
        let decoded = try Image(decoding: image.pngData())
        XCTAssertEqual(decoded.size, image.size)
        XCTAssertEqual(decoded.channels, channels)
        XCTAssertEqual(decoded.bytes, bytes)
      }
    }
  }

  func testRealImageRoundTrip() throws {
    let image = try Image(contentsOfFile: TestAssets.path("images/chelsea.png"))
    let encoded = image.pngData()
    XCTAssertEqual(try Image(decoding: encoded), image)
    XCTAssertLessThan(encoded.count, 451 * 300 * 3)
  }

  func testDataURI() {
    let uri = Image(width: 1, height: 1, channels: 3, bytes: [1, 2, 3]).pngDataURI()
    XCTAssertTrue(uri.hasPrefix("data:image/png;base64,iVBORw0KGgo"))
  }

  func testAtomicWrite() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("vpimage-write-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("out.png").path
    let first = Image(width: 2, height: 2, channels: 1, bytes: [0, 1, 2, 3])
    try first.writePNG(toFile: path)
    let second = Image(width: 3, height: 1, channels: 3, bytes: Array(0..<9))
    try second.writePNG(toFile: path)
    XCTAssertEqual(try Image(contentsOfFile: path), second)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["out.png"])

    XCTAssertThrowsError(try first.writePNG(toFile: directory.path + "/missing/out.png")) { error in
      let error = error as! ImageError
      XCTAssertEqual(error.kind, .unwritable)
      XCTAssertTrue(
        error.description.hasPrefix(directory.path + "/missing/out.png: cannot write file"))
    }
  }
}
