import VPData
import XCTest

final class CSVTests: XCTestCase {
  private func csvFile(_ text: String, gzip: Bool = true) throws -> String {
    let path = try makeTemporaryDirectory(self) + (gzip ? "/data.csv.gz" : "/data.csv")
    let bytes = Array(text.utf8)
    try write(gzip ? GzipWriter.gzip(bytes) : bytes, to: path)
    return path
  }

  private func load(_ path: String) throws -> LabeledImages {
    try LabeledImages.csv(
      file: path, height: 2, width: 2, maxValue: 16, classNames: ["a", "b", "c"], name: "tiny")
  }

  func testParsesRowsScalesAndLabels() throws {
    let set = try load(csvFile("0,4,8,16,2\n16, 0 ,1,2,0\n"))
    XCTAssertEqual(set.count, 2)
    XCTAssertEqual(set.labels, [2, 0])
    XCTAssertEqual(set.images, [0, 0.25, 0.5, 1, 1, 0, 1.0 / 16, 2.0 / 16])
    XCTAssertEqual(set.classNames, ["a", "b", "c"])
  }

  func testHeaderCRLFBlankLinesAndIntegralFloats() throws {
    let set = try load(
      csvFile("p0,p1,p2,p3,label\r\n\r\n1.0,2,3.00,4,1\r\n  \n5,6,7,8,2", gzip: false))
    XCTAssertEqual(set.count, 2)
    XCTAssertEqual(set.labels, [1, 2])
    XCTAssertEqual(set.images[0], 1.0 / 16)
  }

  func testNonIntegerFieldNamesFileAndLine() throws {
    let path = try csvFile("0,1,2,3,0\n0,1,2,3,1\n0,1,x7,3,2\n")
    assertDataError(
      try load(path), prefix: path + ":3: field 3: \"x7\" is not an integer", contains: "")
    let fractional = try csvFile("0,1,2,3,0\n0,1.5,2,3,1\n")
    assertDataError(
      try load(fractional), prefix: fractional + ":2: field 2: \"1.5\"", contains: "not an integer")
  }

  func testWrongFieldCountRangeAndLabel() throws {
    let short = try csvFile("0,1,2,3,0\n0,1,2,0\n")
    assertDataError(try load(short), prefix: short + ":2: expected 5 fields", contains: "found 4")
    let range = try csvFile("0,1,2,17,0\n")
    assertDataError(
      try load(range), prefix: range + ":1: field 4: pixel value 17 outside 0...16", contains: "")
    let label = try csvFile("0,1,2,3,0\n0,1,2,3,3\n")
    assertDataError(try load(label), prefix: label + ":2: label 3 outside 0..<3", contains: "")
    let empty = try csvFile("\n\n")
    assertDataError(try load(empty), prefix: empty + ": no data lines", contains: "")
  }

  func testTruncatedGzipCSV() throws {
    let directory = try makeTemporaryDirectory(self)
    let full = GzipWriter.gzip(Array("0,1,2,3,0\n0,1,2,3,1\n".utf8))
    let path = directory + "/cut.csv.gz"
    try write(Array(full.prefix(full.count - 5)), to: path)
    assertDataError(try load(path), prefix: path + ": truncated gzip data", contains: "")
  }
}
