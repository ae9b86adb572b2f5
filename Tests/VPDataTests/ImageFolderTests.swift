import Foundation
import VPData
import VPImage
import VPTestSupport
import XCTest

final class ImageFolderTests: XCTestCase {
  private func png(_ width: Int, _ height: Int, channels: Int, value: UInt8) -> [UInt8] {
    Image(
      width: width, height: height, channels: channels,
      bytes: [UInt8](repeating: value, count: width * height * channels)
    ).pngData()
  }

  func testClassesFilesOrderAndResize() throws {
    let root = try makeTemporaryDirectory(self)
    // Classes sorted by name: "Zebra" < "ant" < "bee" (byte order, capitals first).
    try write(png(4, 4, channels: 3, value: 10), to: root + "/bee/b.png")
    try write(png(6, 3, channels: 1, value: 20), to: root + "/bee/a.PNG")
    try write(png(4, 4, channels: 3, value: 30), to: root + "/ant/x.png")
    try write(png(4, 4, channels: 3, value: 40), to: root + "/ant/sub/y.png")
    try write(png(4, 4, channels: 3, value: 45), to: root + "/ant/sub-a/z.png")
    try write(Array("not an image".utf8), to: root + "/ant/notes.txt")
    try write(png(8, 8, channels: 3, value: 50), to: root + "/Zebra/z.png")
    try write(Array("stray".utf8), to: root + "/README")

    let set = try LabeledImages.imageFolder(root: root, size: ImageSize(square: 4))
    XCTAssertEqual(set.classNames, ["Zebra", "ant", "bee"])
    XCTAssertEqual(set.count, 6)
    XCTAssertEqual(set.labels, [0, 1, 1, 1, 2, 2])
    XCTAssertEqual(set.channels, 3)
    XCTAssertEqual(set.height, 4)
    // torchvision's order inside "ant": sorted os.walk roots "ant" < "ant/sub" < "ant/sub-a"
    // (a plain sort of full file paths would put "ant/sub-a/z.png" before "ant/sub/y.png").
    let firstSamples = (0..<set.count).map { set.image(at: $0).bytes[0] }
    XCTAssertEqual(firstSamples, [50, 30, 40, 45, 20, 10])
    XCTAssertEqual(set.name, URL(fileURLWithPath: root).lastPathComponent)
  }

  func testWithoutSizeImagesMustMatch() throws {
    let root = try makeTemporaryDirectory(self)
    try write(png(5, 3, channels: 1, value: 1), to: root + "/a/1.png")
    try write(png(5, 3, channels: 3, value: 2), to: root + "/b/2.png")
    let set = try LabeledImages.imageFolder(root: root)
    XCTAssertEqual(set.width, 5)
    XCTAssertEqual(set.height, 3)
    XCTAssertEqual(set.image(at: 0).bytes, [UInt8](repeating: 1, count: 45))

    try write(png(4, 3, channels: 3, value: 2), to: root + "/b/3.png")
    assertDataError(
      try LabeledImages.imageFolder(root: root),
      prefix: root + "/b/3.png: image is 4x3, expected 5x3", contains: "pass a size")
  }

  func testRealJPEGInAFolder() throws {
    let root = try makeTemporaryDirectory(self)
    let jpeg = try Data(contentsOf: URL(fileURLWithPath: TestAssets.path("images/rocket.jpg")))
    try write([UInt8](jpeg), to: root + "/rocket/r.jpeg")
    try write(png(10, 10, channels: 3, value: 99), to: root + "/square/s.png")
    let set = try LabeledImages.imageFolder(
      root: root, size: ImageSize(square: 16), method: .pilBilinear)
    XCTAssertEqual(set.count, 2)
    XCTAssertEqual(set.image(at: 1).bytes, [UInt8](repeating: 99, count: 16 * 16 * 3))
  }

  func testErrors() throws {
    let root = try makeTemporaryDirectory(self)
    assertDataError(
      try LabeledImages.imageFolder(root: root), prefix: root + ": no class directories",
      contains: "")
    assertDataError(
      try LabeledImages.imageFolder(root: root + "/missing"),
      prefix: root + "/missing: not a directory",
      contains: "")
    try write(png(2, 2, channels: 3, value: 0), to: root + "/a/ok.png")
    try FileManager.default.createDirectory(atPath: root + "/b", withIntermediateDirectories: true)
    assertDataError(
      try LabeledImages.imageFolder(root: root), prefix: root + "/b: class directory has no",
      contains: "")
    try write(Array(png(2, 2, channels: 3, value: 0).prefix(30)), to: root + "/b/broken.png")
    assertDataError(
      try LabeledImages.imageFolder(root: root), prefix: root + "/b/broken.png: corrupt PNG data",
      contains: "")
  }
}
