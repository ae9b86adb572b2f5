import Foundation
import VPImage
import VPTestSupport
import XCTest

/// Huge images are refused from their header, before any pixel memory is allocated (issue #13, item 4).
final class ImageSizeLimitTests: XCTestCase {
  func testAHeaderOverTheLimitIsRefusedWithItsSize() throws {
    // A 16000×16000 grey PNG header with one row of data: decoding it would take 1 GB of floats per channel.
    let bomb = PNGBuilder.png(
      width: 16000, height: 16000, bitDepth: 8, colorType: 0, rows: [[UInt8](repeating: 0, count: 16000)])
    XCTAssertThrowsError(try Image(decoding: bomb, name: "bomb.png")) { error in
      XCTAssertEqual(
        "\(error)",
        "bomb.png: too large to decode: image is 16000x16000 (256.0 megapixels), more than the limit of 89.5 megapixels (VPBOOK_MAX_IMAGE_PIXELS raises it)"
      )
    }
  }

  func testTheLimitIsAdjustableAndAppliesToJPEGToo() throws {
    let png = try TestAssets.path("images/chelsea.png")  // 451 × 300 = 135 300 pixels
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png)))
    XCTAssertNoThrow(try Image(decoding: bytes, name: "chelsea.png", maxPixels: 135_300))
    XCTAssertThrowsError(try Image(decoding: bytes, name: "chelsea.png", maxPixels: 135_299)) {
      XCTAssertTrue("\($0)".contains("image is 451x300 (0.1 megapixels), more than the limit of 0.1"), "\($0)")
    }
    let jpeg = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try TestAssets.path("images/rocket.jpg"))))
    XCTAssertThrowsError(try Image(decoding: jpeg, name: "rocket.jpg", maxPixels: 1000)) {
      XCTAssertTrue("\($0)".contains("megapixels), more than the limit of 0.0 megapixels"), "\($0)")
    }
  }
}
