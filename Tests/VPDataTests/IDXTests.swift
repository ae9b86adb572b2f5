import VPData
import XCTest

final class IDXTests: XCTestCase {
  private let pixels: [UInt8] = Array(0..<18).map { UInt8($0 * 15) }

  private func writeSet(_ directory: String, prefix: String = "train", labels: [UInt8] = [2, 0, 1])
    throws
  {
    try write(
      GzipWriter.gzip(IDXArray(dimensions: [3, 2, 3], data: pixels).bytes),
      to: "\(directory)/\(prefix)-images-idx3-ubyte.gz")
    try write(
      GzipWriter.gzip(IDXArray(dimensions: [labels.count], data: labels).bytes),
      to: "\(directory)/\(prefix)-labels-idx1-ubyte.gz")
  }

  func testReadsGzippedIDX() throws {
    let directory = try makeTemporaryDirectory(self)
    try writeSet(directory)
    let set = try LabeledImages.idx(
      imagesFile: directory + "/train-images-idx3-ubyte.gz",
      labelsFile: directory + "/train-labels-idx1-ubyte.gz", classNames: ["a", "b", "c"],
      name: "tiny")
    XCTAssertEqual(set.count, 3)
    XCTAssertEqual(set.height, 2)
    XCTAssertEqual(set.width, 3)
    XCTAssertEqual(set.channels, 1)
    XCTAssertEqual(set.labels, [2, 0, 1])
    XCTAssertEqual(set.images, pixels.map { Float($0) / 255 })
    XCTAssertEqual(set.image(at: 1).bytes, Array(pixels[6..<12]))
  }

  func testFashionMNISTDirectoryLayout() throws {
    let directory = try makeTemporaryDirectory(self)
    try writeSet(directory, prefix: "t10k", labels: [9, 0, 3])
    let set = try LabeledImages.fashionMNIST(directory: directory, partition: .test)
    XCTAssertEqual(set.classNames[set.labels[0]], "Ankle boot")
    XCTAssertEqual(set.name, "fashion-mnist/test")
    assertDataError(
      try LabeledImages.fashionMNIST(directory: directory, partition: .train),
      prefix: directory + "/train-images-idx3-ubyte.gz: cannot read file", contains: "No such file")
  }

  func testPlainUncompressedIDXIsAccepted() throws {
    let directory = try makeTemporaryDirectory(self)
    try write(IDXArray(dimensions: [2, 1, 1], data: [0, 255]).bytes, to: directory + "/i")
    try write(IDXArray(dimensions: [2], data: [1, 0]).bytes, to: directory + "/l")
    let set = try LabeledImages.idx(
      imagesFile: directory + "/i", labelsFile: directory + "/l", classNames: ["x", "y"],
      name: "plain")
    XCTAssertEqual(set.images, [0, 1])
  }

  func testMalformedFiles() throws {
    let directory = try makeTemporaryDirectory(self)
    let labels = directory + "/labels.gz"
    try write(GzipWriter.gzip(IDXArray(dimensions: [3], data: [0, 1, 2]).bytes), to: labels)

    // Bad magic: a 32-bit float array (type 0x0D).
    let badMagic = directory + "/bad-magic.gz"
    try write(
      GzipWriter.gzip([0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]), to: badMagic
    )
    assertDataError(
      try LabeledImages.idx(
        imagesFile: badMagic, labelsFile: labels, classNames: ["a", "b", "c"], name: "x"),
      prefix: badMagic + ": bad IDX magic 0xD03", contains: "expected 0x000008NN")

    // Payload shorter than the dimensions promise.
    let short = directory + "/short.gz"
    var bytes = IDXArray(dimensions: [3, 2, 3], data: pixels).bytes
    bytes.removeLast()
    try write(GzipWriter.gzip(bytes), to: short)
    assertDataError(
      try LabeledImages.idx(
        imagesFile: short, labelsFile: labels, classNames: ["a", "b", "c"], name: "x"),
      prefix: short + ": IDX payload has 17 bytes", contains: "3x2x3 need 18")

    // Label count differs from image count.
    let images = directory + "/images.gz"
    try write(GzipWriter.gzip(IDXArray(dimensions: [3, 2, 3], data: pixels).bytes), to: images)
    let twoLabels = directory + "/two-labels.gz"
    try write(GzipWriter.gzip(IDXArray(dimensions: [2], data: [0, 1]).bytes), to: twoLabels)
    assertDataError(
      try LabeledImages.idx(
        imagesFile: images, labelsFile: twoLabels, classNames: ["a", "b"], name: "x"),
      prefix: twoLabels + ": 2 labels for 3 images", contains: "images.gz")

    // Label outside the class names.
    assertDataError(
      try LabeledImages.idx(
        imagesFile: images, labelsFile: labels, classNames: ["a", "b"], name: "x"),
      prefix: labels + ": label 2 of item 2", contains: "outside 0..<2")

    // Images file handed as labels (wrong rank).
    assertDataError(
      try LabeledImages.idx(imagesFile: images, labelsFile: images, classNames: ["a"], name: "x"),
      prefix: images + ": expected a 1-dimensional IDX label file", contains: "3 dimensions")
  }

  func testTruncatedAndCorruptGzip() throws {
    let directory = try makeTemporaryDirectory(self)
    let labels = directory + "/labels.gz"
    try write(GzipWriter.gzip(IDXArray(dimensions: [3], data: [0, 1, 2]).bytes), to: labels)
    let full = GzipWriter.gzip(IDXArray(dimensions: [3, 2, 3], data: pixels).bytes)
    for cut in [2, 10, 20, full.count - 9, full.count - 1] {
      let path = directory + "/cut\(cut).gz"
      try write(Array(full.prefix(cut)), to: path)
      assertDataError(
        try LabeledImages.idx(
          imagesFile: path, labelsFile: labels, classNames: ["a", "b", "c"], name: "x"),
        prefix: path + ": ", contains: "gzip data")
    }
    var corrupt = full
    corrupt[full.count - 6] ^= 0xFF  // CRC mismatch
    let path = directory + "/crc.gz"
    try write(corrupt, to: path)
    assertDataError(
      try LabeledImages.idx(
        imagesFile: path, labelsFile: labels, classNames: ["a", "b", "c"], name: "x"),
      prefix: path + ": corrupt gzip data", contains: "check")
  }

  func testConcatenatedGzipMembers() throws {
    let directory = try makeTemporaryDirectory(self)
    let bytes = IDXArray(dimensions: [3, 2, 3], data: pixels).bytes
    let path = directory + "/multi.gz"
    try write(GzipWriter.gzip(Array(bytes[..<10])) + GzipWriter.gzip(Array(bytes[10...])), to: path)
    XCTAssertEqual(try IDXArray(contentsOfFile: path).data, pixels)
  }
}
