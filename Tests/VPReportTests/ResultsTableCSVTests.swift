import Foundation
import VPReport
import XCTest

final class ResultsTableCSVTests: XCTestCase {
  func testMeasurementsGetStdAndCountColumnsAndTextIsQuoted() {
    let table = ResultsTable(
      columns: [
        ResultsTable.Column("Method", better: .none), ResultsTable.Column("Test acc.", unit: "%"),
        ResultsTable.Column("Time", unit: "s", better: .none),
      ],
      rows: [
        [.text("ilm, m=1"), .measurement(.init(mean: 61.25, std: 0.5, n: 3)), .value(12)],
        [.text("say \"hi\""), .measurement(.init(mean: 40)), .empty],
        [.text("short row")],
      ])
    XCTAssertEqual(
      table.csv(),
      #"""
      Method,Test acc. (%),Test acc. (%) std,Test acc. (%) n,Time (s)
      "ilm, m=1",61.25,0.5,3,12
      "say ""hi""",40,,,
      short row,,,,

      """#)
  }

  func testAColumnWithoutStdHasOneColumn() {
    let table = ResultsTable(
      columns: [ResultsTable.Column("a"), ResultsTable.Column("b")], rows: [[.value(1), .text("x\ny")]])
    XCTAssertEqual(table.csv(), "a,b\n1,\"x\ny\"\n")
  }
}
