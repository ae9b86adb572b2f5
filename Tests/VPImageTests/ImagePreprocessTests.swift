import VPImage
import VPTestSupport
import XCTest

private struct PreprocessFixture: Decodable {
  struct Resized: Decodable {
    var width: Int
    var height: Int
    var top: Int
    var left: Int
  }
  struct Case: Decodable {
    var transform: String
    var resize: String
    var count: Int
    var sum: Double
    var sumAbs: Double
    var indices: [Int]
    var values: [Double]
  }
  var resized: Resized
  var cases: [Case]
}

final class ImagePreprocessTests: XCTestCase {
  func testChelseaMatchesNumpyReference() throws {
    let fixture = try loadFixture("preprocess", as: PreprocessFixture.self, in: .module)
    let image = try Image(contentsOfFile: TestAssets.path("images/chelsea.png"))
    XCTAssertEqual(
      image.shortSideSize(256),
      ImageSize(width: fixture.resized.width, height: fixture.resized.height))
    XCTAssertEqual(fixture.cases.count, 4)
    for test in fixture.cases {
      let method: ResizeMethod = test.resize == "pilBilinear" ? .pilBilinear : .antialiasedBilinear
      let tensor =
        test.transform == "torchvision"
        ? torchvisionPreprocess(image, resize: method)
        : efficientNetPreprocess(image, resize: method)
      let label = "\(test.transform)/\(test.resize)"
      XCTAssertEqual(tensor.count, test.count, label)
      let sum = tensor.reduce(0.0) { $0 + Double($1) }
      XCTAssertEqual(sum, test.sum, accuracy: 1e-5 * test.sumAbs, label)
      assertClose(
        test.indices.map { tensor[$0] }, test.values, tolerance: 1e-5, relativeTo: .eachExpected(floor: 1), label)
    }
  }

  func testGreyInputIsRepeatedToRGB() {
    let grey = Image(
      width: 300, height: 260, channels: 1, pixels: [Float](repeating: 0.5, count: 300 * 260))
    let tensor = torchvisionPreprocess(grey)
    XCTAssertEqual(tensor.count, 224 * 224 * 3)
    XCTAssertEqual(tensor[0], (Float(128) / 255 - 0.485) / 0.229, accuracy: 1e-6)
    XCTAssertEqual(tensor[2], (Float(128) / 255 - 0.406) / 0.225, accuracy: 1e-6)
    XCTAssertEqual(efficientNetPreprocess(grey)[1], 1 / 128)
  }
}
