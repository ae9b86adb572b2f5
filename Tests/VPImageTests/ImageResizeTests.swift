import VPImage
import VPTestSupport
import XCTest

private struct ResizeFixture: Decodable {
  struct Source: Decodable {
    var width: Int
    var height: Int
    var channels: Int
    var bytes: [UInt8]
  }
  struct Case: Decodable {
    var method: String
    var width: Int
    var height: Int
    var values: [Double]?
    var bytes: [UInt8]?
  }
  var source: Source
  var cases: [Case]
}

final class ImageResizeTests: XCTestCase {
  /// 13 wide × 9 high RGB: `(x*37 + y*91 + c*53 + x*y*7) % 256`, as make_reference.py.
  private func testImage() -> Image {
    var bytes = [UInt8]()
    for y in 0..<9 {
      for x in 0..<13 {
        for c in 0..<3 { bytes.append(UInt8((x * 37 + y * 91 + c * 53 + x * y * 7) % 256)) }
      }
    }
    return Image(width: 13, height: 9, channels: 3, bytes: bytes)
  }

  func testAgainstNumpyReference() throws {
    let fixture = try loadFixture("resize", as: ResizeFixture.self, in: .module)
    let source = testImage()
    XCTAssertEqual(source.bytes, fixture.source.bytes)
    XCTAssertEqual(fixture.cases.count, 9)
    for test in fixture.cases {
      let size = ImageSize(width: test.width, height: test.height)
      let label = "\(test.method) → \(size)"
      switch test.method {
      case "bilinear":
        assertClose(
          source.resizeBilinear(to: size).pixels, try XCTUnwrap(test.values), tolerance: 1e-5,
          relativeTo: .eachExpected(floor: 1), label)
      case "antialiasedBilinear":
        assertClose(
          source.resizeBilinear(to: size, antialias: true).pixels, try XCTUnwrap(test.values), tolerance: 1e-5,
          relativeTo: .eachExpected(floor: 1), label)
      case "pilBilinear":
        XCTAssertEqual(
          source.resized(to: size, method: .pilBilinear).bytes, try XCTUnwrap(test.bytes), label)
      default:
        XCTFail("unknown method \(test.method)")
      }
    }
  }

  func testUpscaleByTwoMatchesTorchPattern() {
    // torch: interpolate([[0, 1]], size=4, bilinear, align_corners=False) = [0, .25, .75, 1].
    let image = Image(width: 2, height: 1, channels: 1, pixels: [0, 1])
    XCTAssertEqual(
      image.resizeBilinear(to: ImageSize(width: 4, height: 1)).pixels, [0, 0.25, 0.75, 1])
  }

  func testSameSizeIsIdentity() {
    let image = testImage()
    for method in [ResizeMethod.bilinear, .antialiasedBilinear, .pilBilinear] {
      XCTAssertEqual(image.resized(to: image.size, method: method), image)
    }
    // One axis unchanged: that axis must be reproduced exactly.
    let wide = image.resizeBilinear(to: ImageSize(width: 20, height: 9), antialias: true)
    XCTAssertEqual(wide.height, 9)
  }

  func testConstantImageStaysConstant() {
    let image = Image(
      width: 17, height: 11, channels: 3, pixels: [Float](repeating: 0.3, count: 17 * 11 * 3))
    for method in [ResizeMethod.bilinear, .antialiasedBilinear] {
      for size in [ImageSize(width: 3, height: 5), ImageSize(width: 40, height: 23)] {
        for v in image.resized(to: size, method: method).pixels {
          XCTAssertEqual(v, 0.3, accuracy: 1e-6)
        }
      }
    }
  }

  func testShortSideSizeFollowsTorchvision() {
    let chelsea = Image(width: 451, height: 300, channels: 3)
    XCTAssertEqual(chelsea.shortSideSize(256), ImageSize(width: 384, height: 256))
    let tall = Image(width: 300, height: 451, channels: 1)
    XCTAssertEqual(tall.shortSideSize(256), ImageSize(width: 256, height: 384))
    let square = Image(width: 28, height: 28, channels: 1)
    XCTAssertEqual(square.resizeShortSide(64).size, ImageSize(width: 64, height: 64))
    XCTAssertEqual(square.resizeShortSide(28), square)
  }

  func testCenterCropRoundsHalfToEven() {
    func marked(width: Int, height: Int) -> Image {
      var image = Image(width: width, height: height, channels: 1)
      for y in 0..<height { for x in 0..<width { image[x: x, y: y, c: 0] = Float(y * 1000 + x) } }
      return image
    }
    // (225 - 224) / 2 = 0.5 → 0; (227 - 224) / 2 = 1.5 → 2; (228 - 224) / 2 = 2.
    XCTAssertEqual(marked(width: 225, height: 227).centerCrop(224)[x: 0, y: 0, c: 0], 2 * 1000 + 0)
    XCTAssertEqual(marked(width: 228, height: 226).centerCrop(224)[x: 0, y: 0, c: 0], 1 * 1000 + 2)
    XCTAssertEqual(
      marked(width: 384, height: 256).centerCrop(224)[x: 0, y: 0, c: 0], 16 * 1000 + 80)
  }

  func testCenterCropPadsLikeTorchvision() {
    let image = Image(width: 2, height: 3, channels: 1, pixels: [1, 2, 3, 4, 5, 6])
    // Width 2 → 5: pad 1 left, 2 right; height 3 → 2: top = round(0.5) = 0.
    let cropped = image.centerCrop(ImageSize(width: 5, height: 2))
    XCTAssertEqual(cropped.pixels, [0, 1, 2, 0, 0, 0, 3, 4, 0, 0])
  }
}

private struct BicubicFixture: Decodable {
  struct Case: Decodable {
    var source: String
    var width: Int
    var height: Int
    var bytes: [UInt8]
  }
  var cases: [Case]
}

final class BicubicResizeTests: XCTestCase {
  private func image(_ w: Int, _ h: Int, _ f: (Int, Int, Int) -> Int) -> Image {
    var bytes = [UInt8]()
    for y in 0..<h {
      for x in 0..<w {
        for c in 0..<3 { bytes.append(UInt8(f(x, y, c) % 256)) }
      }
    }
    return Image(width: w, height: h, channels: 3, bytes: bytes)
  }

  /// `ResizeMethod.pilBicubic` equals Pillow's `Image.resize(BICUBIC)` byte for byte (make_bicubic_fixture.py).
  func testPILBicubicMatchesPillowExactly() throws {
    let fixture = try loadFixture("bicubic", as: BicubicFixture.self, in: .module)
    let sources = [
      "small": image(13, 9) { x, y, c in x * 37 + y * 91 + c * 53 + x * y * 7 },
      "large": image(37, 29) { x, y, c in x * x * 13 + y * 71 + c * 29 + x * y * 3 },
    ]
    XCTAssertEqual(fixture.cases.count, 9)
    for test in fixture.cases {
      let size = ImageSize(width: test.width, height: test.height)
      XCTAssertEqual(
        try XCTUnwrap(sources[test.source]).resized(to: size, method: .pilBicubic).bytes, test.bytes,
        "\(test.source) → \(size)")
    }
  }

  func testCLIPPreprocessCropsTheBicubicShortSideAndNormalises() {
    let source = image(37, 29) { x, y, c in x * x * 13 + y * 71 + c * 29 + x * y * 3 }
    let out = clipPreprocess(source, side: 16)
    XCTAssertEqual(out.count, 16 * 16 * 3)
    let expected = source.resized(to: ImageSize(width: 20, height: 16), method: .pilBicubic).centerCrop(16)
    for i in [0, 1, 2, 100, 767] {
      XCTAssertEqual(out[i], (expected.pixels[i] - clipMean[i % 3]) / clipStd[i % 3], accuracy: 1e-6)
    }
  }
}
