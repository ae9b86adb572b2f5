import VPData
import VPImage
import XCTest

final class LabeledImagesTests: XCTestCase {
  private func sample(count: Int, side: Int = 5, channels: Int = 1) -> LabeledImages {
    let size = side * side * channels
    return LabeledImages(
      name: "s", images: (0..<(count * size)).map { Float($0 % 97) / 96 }, count: count,
      height: side,
      width: side, channels: channels, labels: (0..<count).map { $0 % 3 },
      classNames: ["a", "b", "c"])
  }

  func testSubsetAndPrefix() {
    let set = sample(count: 4)
    let picked = set.subset([3, 1, 3])
    XCTAssertEqual(picked.count, 3)
    XCTAssertEqual(picked.labels, [0, 1, 0])
    XCTAssertEqual(picked.image(at: 0), set.image(at: 3))
    XCTAssertEqual(picked.image(at: 1), set.image(at: 1))
    XCTAssertEqual(set.prefix(2).labels, [0, 1])
    XCTAssertEqual(set.prefix(10).count, 4)
    XCTAssertEqual(set.subset([]).count, 0)
  }

  func testResizeForVPMatchesPerImageResizeForAnyChunking() {
    for count in [1, 2, 3, 7] {
      let set = sample(count: count, side: 28)
      let resized = set.resizeBilinear(toSide: 64)
      XCTAssertEqual(resized.channels, 3)
      XCTAssertEqual(resized.labels, set.labels)
      for i in 0..<count {
        let expected = set.image(at: i).resizeBilinear(to: ImageSize(square: 64)).toRGB()
        XCTAssertEqual(resized.image(at: i), expected)
      }
    }
    let rgb = sample(count: 3, side: 6, channels: 3)
    let same = rgb.resizeBilinear(toSide: 9, rgb: true)
    XCTAssertEqual(same.image(at: 2), rgb.image(at: 2).resizeBilinear(to: ImageSize(square: 9)))
    let grey = sample(count: 2, side: 6).resizeBilinear(toSide: 12, rgb: false)
    XCTAssertEqual(grey.channels, 1)
  }
}
