import VPData
import XCTest

final class CIFARTests: XCTestCase {
  /// A record whose pixel bytes are `(plane * 7 + p + seed) % 256` (CHW).
  private func record(labels: [UInt8], seed: Int) -> [UInt8] {
    var bytes = labels
    for plane in 0..<3 {
      for p in 0..<1024 { bytes.append(UInt8((plane * 7 + p + seed) % 256)) }
    }
    return bytes
  }

  func testCIFAR10BatchesAndMeta() throws {
    let directory = try makeTemporaryDirectory(self)
    for batch in 1...5 {
      try write(
        record(labels: [UInt8(batch)], seed: batch) + record(labels: [0], seed: 100 + batch),
        to: "\(directory)/data_batch_\(batch).bin")
    }
    try write(record(labels: [9], seed: 0) + record(labels: [1], seed: 1), to: directory + "/test_batch.bin")
    let train = try LabeledImages.cifar10(directory: directory, partition: .train)
    XCTAssertEqual(train.count, 10)
    XCTAssertEqual(train.labels, [1, 0, 2, 0, 3, 0, 4, 0, 5, 0])
    XCTAssertEqual(train.classNames, cifar10ClassNames)
    XCTAssertEqual(train.height, 32)
    XCTAssertEqual(train.channels, 3)
    // CHW → HWC: pixel (x: 5, y: 1) of image 2 (batch 2, first record, seed 2).
    let image = train.image(at: 2)
    let p = 1 * 32 + 5
    XCTAssertEqual(
      [0, 1, 2].map { image.bytes[3 * p + $0] }, [0, 1, 2].map { UInt8(($0 * 7 + p + 2) % 256) })

    try write(
      Array("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\nlorry\n\n".utf8),
      to: directory + "/batches.meta.txt")
    let test = try LabeledImages.cifar10(directory: directory, partition: .test)
    XCTAssertEqual(test.classNames[test.labels[0]], "lorry")
    XCTAssertEqual(test.name, "cifar10/test")
  }

  func testCIFAR100UsesFineLabels() throws {
    let directory = try makeTemporaryDirectory(self)
    try write(
      record(labels: [3, 99], seed: 1) + record(labels: [19, 42], seed: 2),
      to: directory + "/train.bin")
    let set = try LabeledImages.cifar100(directory: directory, partition: .train)
    XCTAssertEqual(set.labels, [99, 42])
    XCTAssertEqual(set.classNames.count, 100)
    XCTAssertEqual(set.classNames[99], "worm")
    XCTAssertEqual(Set(cifar100ClassNames).count, 100)
    XCTAssertEqual(cifar100ClassNames, cifar100ClassNames.sorted())
  }

  func testMalformed() throws {
    let directory = try makeTemporaryDirectory(self)
    let path = directory + "/test.bin"
    try write(Array(record(labels: [1, 2], seed: 0).dropLast()), to: path)
    assertDataError(
      try LabeledImages.cifar100(directory: directory, partition: .test),
      prefix: path + ": size 3073 is not a positive multiple of the CIFAR-100 record size 3074",
      contains: "")
    try write(record(labels: [1, 100], seed: 0), to: path)
    assertDataError(
      try LabeledImages.cifar100(directory: directory, partition: .test),
      prefix: path + ": record 0: label 100 outside 0..<100", contains: "")
    try write(record(labels: [10], seed: 0), to: directory + "/test_batch.bin")
    assertDataError(
      try LabeledImages.cifar10(directory: directory, partition: .test),
      prefix: directory + "/test_batch.bin: record 0: label 10", contains: "")
    try write(Array("a\nb\n".utf8), to: directory + "/batches.meta.txt")
    assertDataError(
      try LabeledImages.cifar10(directory: directory, partition: .test),
      prefix: directory + "/batches.meta.txt: expected 10 class names, found 2", contains: "")
  }

  /// A batch cut short at a record boundary is an error naming it, not silently fewer images.
  func testATruncatedBatchIsAnError() throws {
    let directory = try makeTemporaryDirectory(self)
    for batch in 1...5 {
      let records = batch == 3 ? 1 : 2
      try write(
        (0..<records).flatMap { record(labels: [UInt8($0)], seed: batch + $0) },
        to: "\(directory)/data_batch_\(batch).bin")
    }
    try write(record(labels: [9], seed: 0) + record(labels: [8], seed: 1), to: directory + "/test_batch.bin")
    assertDataError(
      try LabeledImages.cifar10(directory: directory, partition: .train),
      prefix: directory + "/data_batch_3.bin: holds 1 records but data_batch_1.bin holds 2", contains: "truncated")
    XCTAssertEqual(try LabeledImages.cifar10(directory: directory, partition: .test).count, 2)
  }
}
