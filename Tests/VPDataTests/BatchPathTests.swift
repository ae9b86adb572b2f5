import Foundation
import VPData
import VPTestSupport
import XCTest

/// The batch-wise data path (bytes at their stored size, resized to RGB floats one batch at a time) gives
/// exactly the pixels of the whole-set float path it replaced, for every reader, and keeps bytes in memory.
final class BatchPathTests: XCTestCase {
  /// Checks `set` stores bytes (when `bytes`), and that resizing any batch of its images, in any order, gives
  /// bit for bit what converting the whole set to floats and resizing it gives.
  private func checkBatches(
    _ set: LabeledImages, side: Int, bytes: Bool, file: StaticString = #filePath, line: UInt = #line
  ) {
    if case .bytes = set.samples {
      XCTAssertTrue(bytes, "\(set.name) unexpectedly stores bytes", file: file, line: line)
      XCTAssertEqual(set.storedBytes, set.count * set.imageSize, file: file, line: line)
    } else {
      XCTAssertFalse(bytes, "\(set.name) stores floats, expected bytes", file: file, line: line)
    }
    // The path it replaced: every sample as a float, the whole set resized at once.
    let whole = LabeledImages(
      name: set.name, images: set.images, count: set.count, height: set.height, width: set.width,
      channels: set.channels, labels: set.labels, classNames: set.classNames
    ).resizeBilinear(toSide: side)
    let stride = side * side * 3
    // A scattered, repeatable choice of images (with repeats when the set is small).
    let picks = (0..<min(set.count, 50)).map { ($0 * 7919 + 13) % set.count }
    for batch in [picks, Array(picks.prefix(1)), Array(picks.reversed())] {
      let pixels = set.resized(batch, toSide: side)
      XCTAssertEqual(pixels.count, batch.count * stride, file: file, line: line)
      for (k, index) in batch.enumerated() {
        let expected = whole.images[(index * stride)..<((index + 1) * stride)]
        let got = pixels[(k * stride)..<((k + 1) * stride)]
        if !expected.elementsEqual(got) {
          XCTFail("\(set.name): image \(index) differs from the whole-set path", file: file, line: line)
          return
        }
      }
    }
  }

  func testFashionMNISTKeepsBytesAndResizesPerBatch() throws {
    let set = try LabeledImages.fashionMNIST(directory: TestAssets.fashionMNISTDirectory(), partition: .test)
    XCTAssertEqual(set.storedBytes, 10_000 * 784)
    checkBatches(set, side: 64, bytes: true)
    checkBatches(set.prefix(100), side: 192, bytes: true)
  }

  func testCSVReadersKeepBytes() throws {
    checkBatches(try LabeledImages.mnistCSV(file: TestAssets.path("data/mnist_5k.csv.gz")), side: 32, bytes: true)
    checkBatches(try LabeledImages.digitsCSV(file: TestAssets.path("data/digits.csv.gz")), side: 16, bytes: true)
  }

  func testAnimalMNISTKeepsBytes() throws {
    let set = try LabeledImages.animalMNIST(
      dataFile: TestAssets.path("data/animal-mnist/animal_data_version_3.gz"),
      labelFile: TestAssets.path("data/animal-mnist/animal_label_version_3.gz"))
    checkBatches(set.prefix(500), side: 48, bytes: true)
  }

  func testCIFARAndNPYKeepBytesImageFoldersFloats() throws {
    let directory = try makeTemporaryDirectory(self)
    var record: [UInt8] = []
    for r in 0..<4 {
      record.append(UInt8(r))
      for p in 0..<3072 { record.append(UInt8((p * 31 + r * 7) % 256)) }
    }
    try write(record, to: directory + "/test_batch.bin")
    checkBatches(try LabeledImages.cifar10(directory: directory, partition: .test), side: 40, bytes: true)

    try write(
      NPYArray(shape: [3, 5, 4], storage: .uint8((0..<60).map { UInt8($0 * 4) })).npyBytes,
      to: directory + "/x.npy")
    try write(NPYArray(shape: [3], storage: .int64([0, 1, 0])).npyBytes, to: directory + "/y.npy")
    let npy = try LabeledImages.npy(imagesFile: directory + "/x.npy", labelsFile: directory + "/y.npy", name: "n")
    checkBatches(npy, side: 9, bytes: true)
    try write(
      NPYArray(shape: [3, 5, 4], storage: .float32((0..<60).map { Float($0) / 60 })).npyBytes,
      to: directory + "/f.npy")
    let floats = try LabeledImages.npy(
      imagesFile: directory + "/f.npy", labelsFile: directory + "/y.npy", name: "f")
    checkBatches(floats, side: 9, bytes: false)
  }

  /// The batch path against the independent numpy reference (bilinear 28 → 64, grey repeated).
  func testBatchPathMatchesNumpyBilinear() throws {
    struct Resize: Decodable {
      var image: Int
      var side: Int
      var indices: [Int]
      var values: [Double]
    }
    struct Reference: Decodable { var vpResize: Resize }
    let expected = try loadFixture("reference", as: Reference.self, in: .module).vpResize
    let full = try LabeledImages.fashionMNIST(directory: TestAssets.fashionMNISTDirectory(), partition: .train)
    let pixels = full.resized([expected.image], toSide: expected.side)
    for (i, v) in zip(expected.indices, expected.values) {
      XCTAssertEqual(Double(pixels[3 * i]), v, accuracy: 1e-5 * max(1, abs(v)))
      XCTAssertEqual(pixels[3 * i], pixels[3 * i + 2])
    }
  }
}
