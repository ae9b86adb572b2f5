import VPReport
import VPTestSupport
import XCTest

final class SVGChartTests: XCTestCase {
  func testNiceTicks() {
    XCTAssertEqual(
      SVGChart.niceTicks(lower: 0.113, upper: 0.862), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    XCTAssertEqual(SVGChart.niceTicks(lower: 0.113, upper: 0.862, maxCount: 5), [0, 0.5, 1])
    XCTAssertEqual(SVGChart.niceTicks(lower: 0, upper: 100, maxCount: 6), [0, 20, 40, 60, 80, 100])
    XCTAssertEqual(SVGChart.niceTicks(lower: 1, upper: 6, integer: true), [1, 2, 3, 4, 5, 6])
    XCTAssertEqual(SVGChart.niceTicks(lower: 1, upper: 3, integer: true), [1, 2, 3])
    XCTAssertEqual(
      SVGChart.niceTicks(lower: -3.2, upper: 7.9, maxCount: 8), [-4, -2, 0, 2, 4, 6, 8])
    XCTAssertEqual(SVGChart.niceTicks(lower: 5, upper: 5, maxCount: 4), [4.5, 5, 5.5])
    XCTAssertEqual(SVGChart.niceTicks(lower: 0, upper: 0), [0, 0.2, 0.4, 0.6, 0.8, 1])
    XCTAssertEqual(
      SVGChart.niceTicks(lower: 1200, upper: 56000, maxCount: 7),
      [0, 10000, 20000, 30000, 40000, 50000, 60000])
    let ticks = SVGChart.ticks(lower: 0.0021, upper: 0.0137, maxCount: 8)
    XCTAssertEqual(ticks.labels, ["0.002", "0.004", "0.006", "0.008", "0.010", "0.012", "0.014"])
    XCTAssertEqual(SVGChart.ticks(lower: 0.113, upper: 0.862).labels.first, "0.1")
  }

  static let line = SVGChart.Line(
    series: [
      .init(name: "RLM", y: [0.21, 0.35, 0.41, 0.44], band: [0.02, 0.03, 0.02, 0.01]),
      .init(name: "ILM <b>&\"'", y: [0.25, 0.48, 0.6, 0.66]),
      .init(name: "gap", x: [1, 2, 3, 4], y: [0.3, .nan, 0.5, 0.52]),
    ],
    xLabel: "epoch", yLabel: "validation accuracy", title: "Accuracy per epoch")

  static let bar = SVGChart.Bar(
    categories: ["pad", "full <b>&\"'", "a very long category name"],
    series: [
      .init(name: "FLM", values: [0.61, 0.55, 0.7], errors: [0.02, 0.04, 0.01]),
      .init(name: "ILM", values: [0.68, 0.59, 0.74], errors: [0.01, 0.03, 0.02]),
    ],
    yLabel: "test accuracy", title: "Prompt ablation")

  static let heatMap = SVGChart.HeatMap(
    rowLabels: ["T-shirt", "Trouser", "<b>&\"'"],
    columnLabels: ["jersey", "miniskirt", "sandal", "sneaker"],
    values: [[0.8, 0.1, 0.05, 0.05], [0.02, 0.9, 0.03, 0.05], [0, 0.1, .nan, 0.6]],
    xLabel: "source class", yLabel: "target class", title: "Label mapping")

  func testLineChartGolden() { assertGolden(Self.line.svg(), named: "line-chart.svg") }
  func testBarChartGolden() { assertGolden(Self.bar.svg(), named: "bar-chart.svg") }
  func testHeatMapGolden() { assertGolden(Self.heatMap.svg(), named: "heat-map.svg") }

  func testChartsAreWellFormedXML() {
    for svg in [Self.line.svg(), Self.bar.svg(), Self.heatMap.svg()] { assertWellFormedXML(svg) }
    let empty = [
      SVGChart.Line(series: []).svg(), SVGChart.Bar(categories: [], series: []).svg(),
      SVGChart.HeatMap(rowLabels: [], columnLabels: [], values: []).svg(),
      SVGChart.Line(series: [.init(name: "", y: [.nan, .infinity])]).svg(),
    ]
    for svg in empty { assertWellFormedXML(svg) }
  }

  func testLabelsAreEscaped() {
    for svg in [Self.line.svg(), Self.bar.svg(), Self.heatMap.svg()] {
      XCTAssertTrue(svg.contains("&lt;b&gt;&amp;&quot;&#39;"))
      XCTAssertFalse(svg.contains("<b>"))
    }
  }

  func testChartStructure() {
    let line = Self.line.svg()
    XCTAssertTrue(
      line.hasPrefix(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"vp-chart vp-line\" viewBox=\"0 0 640 360\" width=\"100%\""
      ))
    XCTAssertEqual(line.components(separatedBy: "<polygon").count - 1, 1, "one band")
    XCTAssertEqual(line.components(separatedBy: "<path").count - 1, 3)
    XCTAssertTrue(line.contains(SVGChart.palette[0]) && line.contains(SVGChart.palette[2]))
    XCTAssertFalse(line.contains(" id=\""), "charts use no ids")
    let heat = Self.heatMap.svg()
    XCTAssertTrue(heat.contains(">0.80</text>"))
    XCTAssertTrue(heat.contains("fill=\"#eeeeee\""), "missing values are grey")
    XCTAssertEqual(Viridis.colour(at: 0).hex, "#440154")
    XCTAssertEqual(Viridis.colour(at: 1).hex, "#fde725")
    XCTAssertEqual(NumberFormat.coordinate(12.5), "12.5")
    XCTAssertEqual(NumberFormat.coordinate(-0.004), "0")
    XCTAssertEqual(NumberFormat.coordinate(3.05), "3.05")
    XCTAssertEqual(NumberFormat.fixed(-0.04, decimals: 1), "0.0")
  }
}
