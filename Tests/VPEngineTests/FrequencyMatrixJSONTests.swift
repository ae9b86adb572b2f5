import Foundation
import VPEngine
import XCTest

/// The frequency matrix in JSON (results, manifests, caches, trial states): its non-zero cells only.
final class FrequencyMatrixJSONTests: XCTestCase {
  func testOnlyTheNonZeroCellsAreWrittenAndTheMatrixComesBack() throws {
    var d = FrequencyMatrix(sources: 1000, targets: 30)
    d[3, 0] = 2
    d[999, 29] = 0.25
    d[500, 7] = 1
    let data = try ResultsJSON.encoder().encode(d)
    let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    XCTAssertEqual(object["indices"] as? [Int], [3 * 30, 500 * 30 + 7, 999 * 30 + 29])
    XCTAssertEqual(object["values"] as? [Double], [2, 1, 0.25])
    XCTAssertNil(object["counts"])
    XCTAssertLessThan(data.count, 200)
    XCTAssertEqual(try ResultsJSON.decoder().decode(FrequencyMatrix.self, from: data), d)
  }

  func testTheDenseFormOfEarlierFilesIsStillRead() throws {
    let dense = Data(#"{"sources": 2, "targets": 3, "counts": [0, 1, 0, 0, 0, 4.5]}"#.utf8)
    let d = try ResultsJSON.decoder().decode(FrequencyMatrix.self, from: dense)
    XCTAssertEqual(d.counts, [0, 1, 0, 0, 0, 4.5])
    XCTAssertEqual(d[1, 2], 4.5)
  }

  func testCellsOutsideTheMatrixAreAnError() {
    for text in [
      #"{"sources": 2, "targets": 3, "indices": [6], "values": [1]}"#,
      #"{"sources": 2, "targets": 3, "indices": [0, 1], "values": [1]}"#,
      #"{"sources": 2, "targets": 3, "counts": [1, 2]}"#,
      #"{"sources": -1, "targets": 3, "indices": [], "values": []}"#,
    ] {
      XCTAssertThrowsError(try ResultsJSON.decoder().decode(FrequencyMatrix.self, from: Data(text.utf8)), text)
    }
  }
}
