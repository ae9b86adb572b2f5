import Foundation
import VPData
import VPTestSupport
import XCTest

private struct Summary: Decodable {
  var count: Int
  var pixelsPerImage: Int
  var histogram: [Int]
  var firstLabel: Int
  var lastLabel: Int
  var firstImageSum: Int
  var totalSum: Int
}

private struct VPResizeReference: Decodable {
  var image: Int
  var side: Int
  var sum: Double
  var indices: [Int]
  var values: [Double]
}

private struct Reference: Decodable {
  var fashionTrain: Summary
  var fashionTest: Summary
  var mnist5k: Summary
  var digits: Summary
  var vpResize: VPResizeReference
  enum CodingKeys: String, CodingKey {
    case fashionTrain = "fashion-train"
    case fashionTest = "fashion-test"
    case mnist5k, digits, vpResize
  }
}

final class RealDataTests: XCTestCase {
  private func reference() throws -> Reference {
    try loadFixture("reference", as: Reference.self, in: .module)
  }

  /// Compares a loaded set with the numpy summary; `maxValue` maps samples back to integers.
  private func check(
    _ set: LabeledImages, _ expected: Summary, maxValue: Float, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(set.count, expected.count, file: file, line: line)
    XCTAssertEqual(set.imageSize, expected.pixelsPerImage, file: file, line: line)
    XCTAssertEqual(set.classHistogram, expected.histogram, file: file, line: line)
    XCTAssertEqual(set.labels.first, expected.firstLabel, file: file, line: line)
    XCTAssertEqual(set.labels.last, expected.lastLabel, file: file, line: line)
    let integers = set.images.map { Int(($0 * maxValue).rounded()) }
    XCTAssertEqual(
      integers[0..<set.imageSize].reduce(0, +), expected.firstImageSum, file: file, line: line)
    XCTAssertEqual(integers.reduce(0, +), expected.totalSum, file: file, line: line)
  }

  func testFashionMNIST() throws {
    let directory = try TestAssets.fashionMNISTDirectory()
    let start = Date()
    let train = try LabeledImages.fashionMNIST(directory: directory, partition: .train)
    let seconds = Date().timeIntervalSince(start)
    XCTAssertEqual(train.count, 60000)
    XCTAssertEqual(train.height, 28)
    XCTAssertEqual(train.width, 28)
    XCTAssertEqual(train.classHistogram, [Int](repeating: 6000, count: 10))
    XCTAssertEqual(train.labels[0], 9)
    XCTAssertEqual(train.classNames[train.labels[0]], "Ankle boot")
    XCTAssertEqual(train.classNames, fashionMNISTClassNames)
    let reference = try reference()
    check(train, reference.fashionTrain, maxValue: 255)
    let test = try LabeledImages.fashionMNIST(directory: directory, partition: .test)
    XCTAssertEqual(test.labels[0], 9)
    check(test, reference.fashionTest, maxValue: 255)
    // A time, not a test: speed is measured in benchmarks (a shared machine missed a 1 s bound here).
    print("Fashion-MNIST train (60000 images) loaded in \(seconds) s")
  }

  func testMNIST5kCSV() throws {
    let set = try LabeledImages.mnistCSV(file: TestAssets.path("data/mnist_5k.csv.gz"))
    XCTAssertEqual(set.count, 5000)
    XCTAssertEqual(set.height, 28)
    XCTAssertEqual(set.classNames, digitClassNames)
    check(set, try reference().mnist5k, maxValue: 255)
  }

  func testDigitsCSV() throws {
    let set = try LabeledImages.digitsCSV(file: TestAssets.path("data/digits.csv.gz"))
    XCTAssertEqual(set.count, 1797)
    XCTAssertEqual(set.height, 8)
    XCTAssertEqual(set.width, 8)
    XCTAssertEqual(set.images.max(), 1)
    check(set, try reference().digits, maxValue: 16)
  }

  func testVPResizeMatchesNumpyBilinear() throws {
    let expected = try reference().vpResize
    let full = try LabeledImages.fashionMNIST(
      directory: TestAssets.fashionMNISTDirectory(), partition: .train)
    let resized = full.subset([expected.image, 1, 2]).resizeBilinear(toSide: expected.side)
    XCTAssertEqual(resized.channels, 3)
    XCTAssertEqual(resized.height, 64)
    let first = resized.image(at: 0)
    var grey = [Float]()
    for i in stride(from: 0, to: first.pixels.count, by: 3) {
      XCTAssertEqual(first.pixels[i], first.pixels[i + 1])
      XCTAssertEqual(first.pixels[i], first.pixels[i + 2])
      grey.append(first.pixels[i])
    }
    XCTAssertEqual(
      grey.reduce(0.0) { $0 + Double($1) }, expected.sum, accuracy: 1e-5 * expected.sum)
    for (i, v) in zip(expected.indices, expected.values) {
      XCTAssertEqual(Double(grey[i]), v, accuracy: 1e-5 * max(1, abs(v)))
    }
  }
}
