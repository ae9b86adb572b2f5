import Foundation
import VPImage
import VPTestSupport
import XCTest

private struct ImagesFixture: Decodable {
  struct Entry: Decodable {
    var file: String
    var width: Int
    var height: Int
    var channels: Int
    var sum: Int?
    var weightedSum: Int?
    var indices: [Int]?
    var bytes: [Int]?
    var channelMeans: [Double]?
  }
  var images: [Entry]
}

final class ImageDecodingTests: XCTestCase {
  private func fixture(_ file: String) throws -> ImagesFixture.Entry {
    try XCTUnwrap(loadFixture("images", as: ImagesFixture.self, in: .module).images.first { $0.file == file })
  }

  func testRealPNGsDecodeExactly() throws {
    for name in ["chelsea.png", "coffee.png", "astronaut.png"] {
      let expected = try fixture(name)
      let image = try Image(contentsOfFile: TestAssets.path("images/" + name))
      XCTAssertEqual(image.width, expected.width, name)
      XCTAssertEqual(image.height, expected.height, name)
      XCTAssertEqual(image.channels, expected.channels, name)
      let bytes = image.bytes
      XCTAssertEqual(bytes.reduce(0) { $0 + Int($1) }, expected.sum, name)
      var weighted = 0
      for (i, b) in bytes.enumerated() { weighted += Int(b) * (i % 9973 + 1) }
      XCTAssertEqual(weighted, expected.weightedSum, name)
      for (i, b) in zip(expected.indices ?? [], expected.bytes ?? []) {
        XCTAssertEqual(Int(bytes[i]), b, "\(name)[\(i)]")
      }
    }
    let chelsea = try Image(contentsOfFile: TestAssets.path("images/chelsea.png"))
    XCTAssertEqual(chelsea.size, ImageSize(width: 451, height: 300))
  }

  func testRealJPEGDecodesWithRightSizeAndMean() throws {
    let expected = try fixture("rocket.jpg")
    let image = try Image(contentsOfFile: TestAssets.path("images/rocket.jpg"))
    XCTAssertEqual(image.width, expected.width)
    XCTAssertEqual(image.height, expected.height)
    XCTAssertEqual(image.channels, 3)
    let means = try XCTUnwrap(expected.channelMeans)
    for c in 0..<3 {
      var total = 0.0
      for i in stride(from: c, to: image.pixels.count, by: 3) { total += Double(image.pixels[i]) }
      let mean = total / Double(image.width * image.height) * 255
      XCTAssertEqual(mean, means[c], accuracy: 1, "channel \(c) mean")
    }
  }

  func testFormatIsSniffedNotTakenFromTheExtension() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("vpimage-sniff-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let png = Image(width: 2, height: 1, channels: 1, bytes: [10, 200]).pngData()
    let path = directory.appendingPathComponent("really-a-png.jpg").path
    _ = FileManager.default.createFile(atPath: path, contents: Data(png))
    XCTAssertEqual(try Image(contentsOfFile: path).bytes, [10, 200])
    XCTAssertEqual(ImageFormat.sniff(png), .png)
    XCTAssertEqual(ImageFormat.sniff([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg)
    XCTAssertNil(ImageFormat.sniff([0xFF, 0xD8]))
  }

  // MARK: PNG variants

  func testPNGGrey8AndGrey16() throws {
    let grey8 = PNGBuilder.png(
      width: 3, height: 1, bitDepth: 8, colorType: 0, rows: [[0, 128, 255]])
    XCTAssertEqual(try Image(decoding: grey8).pixels, [0, 128 / 255, 1])
    let grey16 = PNGBuilder.png(
      width: 2, height: 1, bitDepth: 16, colorType: 0, rows: [[0x12, 0x34, 0xFF, 0xFF]])
    let image = try Image(decoding: grey16)
    XCTAssertEqual(image.channels, 1)
    XCTAssertEqual(image.pixels, [Float(0x1234) / 65535, 1])
  }

  func testPNGGrey1Bit() throws {
    let png = PNGBuilder.png(
      width: 10, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000, 0b1100_0000]])
    XCTAssertEqual(try Image(decoding: png).bytes, [255, 0, 255, 0, 0, 0, 0, 0, 255, 255])
  }

  func testPNGAlphaIsDropped() throws {
    let greyAlpha = PNGBuilder.png(
      width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[7, 0, 9, 255]])
    let grey = try Image(decoding: greyAlpha)
    XCTAssertEqual(grey.channels, 1)
    XCTAssertEqual(grey.bytes, [7, 9])
    let rgba = PNGBuilder.png(
      width: 2, height: 1, bitDepth: 8, colorType: 6, rows: [[1, 2, 3, 0, 4, 5, 6, 128]])
    let rgb = try Image(decoding: rgba)
    XCTAssertEqual(rgb.channels, 3)
    XCTAssertEqual(rgb.bytes, [1, 2, 3, 4, 5, 6])
  }

  func testPNGRGB16() throws {
    let png = PNGBuilder.png(
      width: 1, height: 2, bitDepth: 16, colorType: 2,
      rows: [[0, 0, 0x80, 0x00, 0xFF, 0xFF], [0x01, 0x00, 0, 1, 0, 2]])
    let image = try Image(decoding: png)
    XCTAssertEqual(image.channels, 3)
    XCTAssertEqual(
      image.pixels, [0, Float(0x8000) / 65535, 1, Float(0x100) / 65535, 1 / 65535, 2 / 65535])
  }

  func testPNGPaletteExpands() throws {
    let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
    let png8 = PNGBuilder.png(
      width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[2, 0, 1]], palette: palette,
      transparency: [0, 255, 255])
    XCTAssertEqual(try Image(decoding: png8).bytes, [0, 0, 255, 255, 0, 0, 0, 255, 0])
    let png4 = PNGBuilder.png(
      width: 3, height: 1, bitDepth: 4, colorType: 3, rows: [[0x12, 0x00]], palette: palette)
    XCTAssertEqual(try Image(decoding: png4).bytes, [0, 255, 0, 0, 0, 255, 255, 0, 0])
  }

  // MARK: Corrupt input

  private func assertFails(
    _ bytes: [UInt8], name: String, kind: ImageError.Kind, containing text: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    do {
      _ = try Image(decoding: bytes, name: name)
      XCTFail("\(name) decoded unexpectedly", file: file, line: line)
    } catch {
      XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
      XCTAssertEqual(error.file, name, file: file, line: line)
      XCTAssertTrue(
        error.description.hasPrefix(name + ": ") && error.description.contains(text),
        "unexpected message: \(error)", file: file, line: line)
    }
  }

  func testGarbageIsNotAnImage() {
    var generator = SystemRandomNumberGenerator()
    let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
    var fixed = garbage
    fixed[0] = 0x42  // make sure it is not an accidental signature
    assertFails(fixed, name: "x.png", kind: .unknownFormat, containing: "not a PNG or JPEG file")
    assertFails([], name: "empty.png", kind: .unknownFormat, containing: "not a PNG or JPEG file")
    let error = ImageError(file: "x.png", kind: .unknownFormat)
    XCTAssertEqual(error.description, "x.png: not a PNG or JPEG file")
  }

  func testTruncatedAndCorruptPNGFail() throws {
    let bytes = try FileIO.readAll(TestAssets.path("images/chelsea.png"))
    for cut in [8, 20, 33, 100, bytes.count / 2, bytes.count - 13, bytes.count - 1] {
      assertFails(
        Array(bytes.prefix(cut)), name: "x.png", kind: .corruptPNG, containing: "corrupt PNG data")
    }
    // A signature followed by garbage, and a flipped byte inside IDAT (CRC mismatch).
    var generator = SystemRandomNumberGenerator()
    let signature = Array(bytes.prefix(8))
    for _ in 0..<20 {
      let tail = (0..<Int.random(in: 0...3000, using: &generator)).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      assertFails(
        signature + tail, name: "g.png", kind: .corruptPNG, containing: "corrupt PNG data")
    }
    var flipped = bytes
    flipped[bytes.count / 2] ^= 0x5A
    assertFails(flipped, name: "crc.png", kind: .corruptPNG, containing: "CRC")
  }

  func testTruncatedAndCorruptJPEGFail() throws {
    let bytes = try FileIO.readAll(TestAssets.path("images/rocket.jpg"))
    for cut in [3, 4, 100, 700, 2000, bytes.count / 2, bytes.count - 3] {
      assertFails(
        Array(bytes.prefix(cut)), name: "x.jpg", kind: .corruptJPEG,
        containing: "corrupt JPEG data: ")
    }
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<20 {
      let tail = (0..<Int.random(in: 0...3000, using: &generator)).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      assertFails(
        [0xFF, 0xD8, 0xFF] + tail, name: "g.jpg", kind: .corruptJPEG,
        containing: "corrupt JPEG data")
    }
    // Random damage in the entropy-coded data must never crash (it may still decode).
    for _ in 0..<10 {
      var damaged = bytes
      for _ in 0..<20 {
        damaged[Int.random(in: 1000..<bytes.count - 2, using: &generator)] = UInt8.random(
          in: 0...255, using: &generator)
      }
      _ = try? Image(decoding: damaged, name: "damaged.jpg")
    }
  }

  func testMissingFileNamesThePath() {
    XCTAssertThrowsError(try Image(contentsOfFile: "/nonexistent/dir/x.png")) { error in
      let error = error as! ImageError
      XCTAssertEqual(error.kind, .unreadable)
      XCTAssertEqual(
        error.description, "/nonexistent/dir/x.png: cannot read file: No such file or directory")
    }
  }
}
