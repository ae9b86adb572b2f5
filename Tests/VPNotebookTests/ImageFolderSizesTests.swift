import Foundation
import VPEngine
import VPImage
import XCTest

/// Photos of any size load: an image folder is resized to the side the run needs as it is read (issue #13,
/// item 4: mixed sizes and a 1×1 image used to be refused with "pass a size to resize", which nothing could).
final class ImageFolderSizesTests: XCTestCase {
  func testAnImageFolderOfMixedSizesLoadsAtTheRunsSide() throws {
    let scratch = try Scratch()
    let sizes = [("cat", [(64, 48), (1, 1), (40, 40)]), ("dog", [(17, 90), (300, 200), (8, 8)])]
    for (label, shapes) in sizes {
      for (index, (width, height)) in shapes.enumerated() {
        let pixels = (0..<(width * height * 3)).map { Float(($0 * 37 + index) % 255) / 255 }
        let image = Image(width: width, height: height, channels: 3, pixels: pixels)
        let path = scratch.path("photos/\(label)/\(index).png")
        try FileManager.default.createDirectory(
          atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try Data(image.pngData()).write(to: URL(fileURLWithPath: path))
      }
    }
    let split = try DataCatalog.prepare(
      DataSpec(name: "imagefolder:" + scratch.path("photos"), perClass: 2, test: 1), side: 24)
    XCTAssertEqual(split.train.count, 4)
    XCTAssertEqual(split.test.count, 2)
    XCTAssertEqual(split.train.source.width, 24)
    XCTAssertEqual(split.train.source.height, 24)
    // The 1×1 image became a flat 24×24 image of its one colour.
    let one = try Image(contentsOfFile: scratch.path("photos/cat/1.png"))
    let flat = split.train.pixels([1])
    XCTAssertEqual(flat.count, 24 * 24 * 3)
    for c in 0..<3 { XCTAssertEqual(flat[3 * 100 + c], one.pixels[c], accuracy: 1e-6) }
    // Each photo equals its own antialiased resize (the documented filter), whatever its size.
    let big = try Image(contentsOfFile: scratch.path("photos/dog/1.png"))
    let expected = big.resized(to: ImageSize(square: 24), method: .antialiasedBilinear)
    let got = split.train.pixels([3])
    XCTAssertEqual(got, expected.pixels)
  }
}
