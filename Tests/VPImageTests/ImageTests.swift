import VPImage
import XCTest

final class ImageTests: XCTestCase {
  func testBytesRoundTrip() {
    let bytes = (0..<(4 * 3 * 3)).map { UInt8(($0 * 23) % 256) }
    let image = Image(width: 4, height: 3, channels: 3, bytes: bytes)
    XCTAssertEqual(image.bytes, bytes)
    XCTAssertEqual(image[x: 1, y: 0, c: 2], Float(bytes[5]) / 255)
    XCTAssertEqual(image.size, ImageSize(width: 4, height: 3))
  }

  func testQuantizeClampsAndRoundsHalfUp() {
    let image = Image(
      width: 5, height: 1, channels: 1, pixels: [-0.5, 2, .nan, 0.5 / 255, 1.5 / 255])
    XCTAssertEqual(image.bytes, [0, 255, 0, 1, 2])
  }

  func testGreyToRGBRepeats() {
    let grey = Image(width: 2, height: 1, channels: 1, pixels: [0.25, 0.75])
    let rgb = grey.toRGB()
    XCTAssertEqual(rgb.channels, 3)
    XCTAssertEqual(rgb.pixels, [0.25, 0.25, 0.25, 0.75, 0.75, 0.75])
    XCTAssertEqual(rgb.toRGB(), rgb)
  }
}
