import Foundation
import VPData
import VPEngine
import VPTestSupport
import XCTest

/// Animal-MNIST through the pickle reader that executes nothing, against
/// Reference/make_animal_mnist_fixture.py (gzip + a restricted `pickle.Unpickler`).
final class AnimalMNISTTests: XCTestCase {
  struct Reference: Decodable {
    var count: Int
    var height: Int
    var width: Int
    var classes: Int
    var histogram: [Int]
    var sampleIndices: [Int]
    var sampleLabels: [Int]
    var labelChecksum: Int
    var firstImageSum: Int
    var lastImageSum: Int
    var totalSum: Int
    var firstImageCenter: Int
  }

  private func files() throws -> (data: String, labels: String) {
    (
      try TestAssets.path("data/animal-mnist/animal_data_version_3.gz"),
      try TestAssets.path("data/animal-mnist/animal_label_version_3.gz")
    )
  }

  func testLoadsTenThousandImagesMatchingTheReference() throws {
    let reference = try loadFixture("animal_mnist", as: Reference.self)
    let (dataFile, labelFile) = try files()
    let set = try LabeledImages.animalMNIST(dataFile: dataFile, labelFile: labelFile)
    XCTAssertEqual(reference.count, 10_000)
    XCTAssertEqual(set.count, reference.count)
    XCTAssertEqual(set.height, 28)
    XCTAssertEqual(set.width, 28)
    XCTAssertEqual(set.height, reference.height)
    XCTAssertEqual(set.width, reference.width)
    XCTAssertEqual(set.channels, 1)
    XCTAssertEqual(set.classCount, reference.classes)
    XCTAssertEqual(set.classNames, animalMNISTClassNames)
    XCTAssertEqual(set.classNames.count, 10)
    var histogram = [Int](repeating: 0, count: 10)
    for l in set.labels { histogram[l] += 1 }
    XCTAssertEqual(histogram, reference.histogram)
    XCTAssertEqual(reference.sampleIndices.map { set.labels[$0] }, reference.sampleLabels)
    XCTAssertEqual(set.labels.enumerated().reduce(0) { $0 + $1.offset * $1.element }, reference.labelChecksum)
    // Pixels are u8 / 255.
    let pixels = 28 * 28
    XCTAssertEqual(set.images.count, 10_000 * pixels)
    func byteSum(_ range: Range<Int>) -> Int { set.images[range].reduce(0) { $0 + Int(($1 * 255).rounded()) } }
    XCTAssertEqual(byteSum(0..<pixels), reference.firstImageSum)
    XCTAssertEqual(byteSum((9_999 * pixels)..<(10_000 * pixels)), reference.lastImageSum)
    XCTAssertEqual(byteSum(0..<set.images.count), reference.totalSum)
    XCTAssertEqual(set.images[14 * 28 + 14], Float(reference.firstImageCenter) / 255)
    XCTAssertTrue(set.images.allSatisfy { $0 >= 0 && $0 <= 1 })
  }

  func testDataCatalogLoadsAnimalMNIST() throws {
    _ = try files()
    let (train, test) = try DataCatalog.load("animal-mnist")
    XCTAssertNil(test)
    XCTAssertEqual(train.count, 10_000)
    XCTAssertEqual(train.classCount, 10)
  }

  /// A pickle naming a forbidden global (`os.system`) is refused, and the error names the file.
  func testMaliciousPickleIsRefusedNamingTheFile() throws {
    let (dataFile, labelFile) = try files()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vpengine-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    // Hand-made, uncompressed: PROTO 2, GLOBAL 'os system', BINUNICODE 'echo', TUPLE1, REDUCE, STOP.
    let raw: [UInt8] =
      [0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x58, 4, 0, 0, 0] + Array("echo".utf8) + [0x85, 0x52, 0x2E]
    let rawFile = directory.appendingPathComponent("evil_data.pkl").path
    try Data(raw).write(to: URL(fileURLWithPath: rawFile))
    // The same pickle gzip'd (written by the reference script).
    let gzFile = try fixtureURL("malformed_os_system.pkl", "gz").path
    XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: gzFile)).prefix(2)), [0x1F, 0x8B])

    for (data, labels, culprit) in [
      (rawFile, labelFile, rawFile), (gzFile, labelFile, gzFile), (dataFile, gzFile, gzFile),
    ] {
      do {
        _ = try LabeledImages.animalMNIST(dataFile: data, labelFile: labels)
        XCTFail("\(culprit): a pickle calling os.system was accepted")
      } catch let error as DataError {
        XCTAssertEqual(error.file, culprit)
        XCTAssertTrue(error.description.contains(culprit), "error does not name the file: \(error)")
        XCTAssertTrue(error.description.contains("os.system"), "error does not name the global: \(error)")
      } catch {
        XCTFail("\(culprit): expected a DataError, got \(type(of: error)): \(error)")
      }
    }
  }

  /// A pickle that is not a numpy array, and a truncated gzip stream: errors naming the file.
  func testNonArrayAndTruncatedFilesAreErrorsNamingTheFile() throws {
    let (_, labelFile) = try files()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vpengine-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    // PROTO 2, BININT1 5, STOP: a plain int.
    let notArray = directory.appendingPathComponent("int.pkl").path
    try Data([0x80, 0x02, 0x4B, 0x05, 0x2E]).write(to: URL(fileURLWithPath: notArray))
    // The real label file, cut in half.
    let full = try Data(contentsOf: URL(fileURLWithPath: labelFile))
    let truncated = directory.appendingPathComponent("labels_truncated.gz").path
    try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: truncated))
    for bad in [notArray, truncated] {
      XCTAssertThrowsError(try LabeledImages.animalMNIST(dataFile: bad, labelFile: labelFile)) { error in
        XCTAssertTrue("\(error)".contains(bad), "\(error)")
      }
    }
  }
}
