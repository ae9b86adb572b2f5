extension SVGChart {
  /// A heat map: a matrix of values with row and column labels, coloured with viridis, values written in
  /// the cells when they fit, and a colour scale legend on the right.
  public struct HeatMap: Sendable, Hashable {
    /// One label per row, top to bottom.
    public var rowLabels: [String]
    /// One label per column, left to right.
    public var columnLabels: [String]
    /// `values[row][column]`; a non-finite value is drawn as a grey cell.
    public var values: [[Double]]
    /// The title under the column labels.
    public var xLabel: String
    /// The title left of the row labels.
    public var yLabel: String
    /// The accessible name of the chart.
    public var title: String
    /// The value range the colours span, or nil for the data's range.
    public var valueRange: ClosedRange<Double>?
    /// Whether to write values in cells that are big enough.
    public var showValues: Bool
    /// Digits after the point for cell values.
    public var decimals: Int
    /// The viewBox width (the height follows from the number of rows).
    public var width: Double

    /// Creates a heat map.
    public init(
      rowLabels: [String], columnLabels: [String], values: [[Double]], xLabel: String = "",
      yLabel: String = "", title: String = "", valueRange: ClosedRange<Double>? = nil,
      showValues: Bool = true, decimals: Int = 2, width: Double = 640
    ) {
      self.rowLabels = rowLabels
      self.columnLabels = columnLabels
      self.values = values
      self.xLabel = xLabel
      self.yLabel = yLabel
      self.title = title
      self.valueRange = valueRange
      self.showValues = showValues
      self.decimals = decimals
      self.width = width
    }

    /// The chart as one `<svg>` element.
    public func svg() -> String {
      let rows = max(1, rowLabels.count)
      let columns = max(1, columnLabels.count)
      let finite = values.flatMap { $0 }.filter(\.isFinite)
      let low = valueRange?.lowerBound ?? finite.min() ?? 0
      let high = valueRange?.upperBound ?? finite.max() ?? 1
      let legendTicks = SVGChart.ticks(lower: low, upper: high, maxCount: 6)
      let shownTicks = legendTicks.values.filter {
        $0 >= low - 1e-9 * abs(high - low) && $0 <= high + 1e-9 * abs(high - low)
      }
      let legendLabelWidth = legendTicks.labels.map { SVGChart.textWidth($0) }.max() ?? 0
      let legendWidth = 16 + 6 + legendLabelWidth + 12

      let rowLabelWidth = rowLabels.map { SVGChart.textWidth($0) }.max() ?? 0
      let left = (yLabel.isEmpty ? 8 : 28) + rowLabelWidth + 8
      let right = width - 12 - legendWidth
      let cellWidth = (right - left) / Double(columns)
      let cellHeight = min(36, max(14, cellWidth))
      let columnLabelWidth = columnLabels.map { SVGChart.textWidth($0) }.max() ?? 0
      let rotate = columnLabelWidth > cellWidth - 2
      let labelHeight = rotate ? columnLabelWidth * 0.71 + 14 : 20
      let top = 12.0
      let gridBottom = top + Double(rows) * cellHeight
      let legendHeight = max(80, min(240, Double(rows) * cellHeight))
      let plot = PlotArea(left: left, top: top, right: right, bottom: gridBottom)
      let height = max(gridBottom, top + legendHeight) + labelHeight + (xLabel.isEmpty ? 0 : 20) + 8

      var svg = SVGWriter(
        width: width, height: height, title: title.isEmpty ? "heat map" : title, kind: "heatmap")
      let span = high - low
      func position(_ value: Double) -> Double {
        span > 0 ? min(1, max(0, (value - low) / span)) : 0.5
      }
      let showText = showValues && cellWidth >= 26 && cellHeight >= 14
      svg.open([("class", "vp-cells"), ("stroke", "#ffffff"), ("stroke-width", "1")])
      for row in 0..<rowLabels.count {
        for column in 0..<columnLabels.count {
          let value = row < values.count && column < values[row].count ? values[row][column] : .nan
          let x = left + Double(column) * cellWidth
          let y = top + Double(row) * cellHeight
          let label = rowLabels[row] + " × " + columnLabels[column] + ": "
          guard value.isFinite else {
            svg.rect(
              x: x, y: y, width: cellWidth, height: cellHeight, fill: "#eeeeee",
              tooltip: label + "–")
            continue
          }
          let colour = Viridis.colour(at: position(value))
          let text = NumberFormat.fixed(value, decimals: decimals)
          svg.rect(
            x: x, y: y, width: cellWidth, height: cellHeight, fill: colour.hex,
            tooltip: label + text)
          if showText {
            svg.text(
              text, x: x + cellWidth / 2, y: y + cellHeight / 2,
              extra: [
                ("dy", "0.32em"), ("font-size", "10"), ("stroke", "none"),
                ("fill", colour.luminance < 0.45 ? "#ffffff" : "#000000"),
              ])
          }
        }
      }
      svg.close()

      svg.open([("class", "vp-row-labels"), ("fill", "currentColor")])
      for (row, label) in rowLabels.enumerated() {
        svg.text(
          label, x: left - 6, y: top + (Double(row) + 0.5) * cellHeight, anchor: "end",
          extra: [("dy", "0.32em")])
      }
      svg.close()
      svg.open([("class", "vp-column-labels"), ("fill", "currentColor")])
      for (column, label) in columnLabels.enumerated() {
        let x = left + (Double(column) + 0.5) * cellWidth
        let y = gridBottom + 14
        if rotate {
          svg.text(
            label, x: x, y: y, anchor: "end",
            extra: [
              (
                "transform",
                "rotate(-45 \(NumberFormat.coordinate(x)) \(NumberFormat.coordinate(y)))"
              )
            ])
        } else {
          svg.text(label, x: x, y: y)
        }
      }
      svg.close()
      if !yLabel.isEmpty {
        let x = 14.0
        let y = (top + gridBottom) / 2
        svg.text(
          yLabel, x: x, y: y,
          extra: [
            (
              "transform", "rotate(-90 \(NumberFormat.coordinate(x)) \(NumberFormat.coordinate(y)))"
            ),
            ("dy", "0.32em"), ("fill", "currentColor"), ("class", "vp-axis-title"),
          ])
      }
      SVGChart.drawXTitle(&svg, plot: plot, title: xLabel, y: height - 10)

      let legendX = right + 12
      let steps = 32
      let stepHeight = legendHeight / Double(steps)
      svg.open([("class", "vp-colour-scale")])
      for step in 0..<steps {
        let t = (Double(step) + 0.5) / Double(steps)
        svg.rect(
          x: legendX, y: top + legendHeight - Double(step + 1) * stepHeight, width: 16,
          height: stepHeight + 0.5, fill: Viridis.colour(at: t).hex)
      }
      svg.element(
        "rect",
        [
          ("x", NumberFormat.coordinate(legendX)), ("y", NumberFormat.coordinate(top)),
          ("width", "16"),
          ("height", NumberFormat.coordinate(legendHeight)), ("fill", "none"),
          ("stroke", "#444444"),
        ])
      for (value, label) in zip(legendTicks.values, legendTicks.labels)
      where shownTicks.contains(value) {
        let y = top + legendHeight * (1 - position(value))
        svg.line(legendX + 16, y, legendX + 20, y, extra: [("stroke", "#444444")])
        svg.text(
          label, x: legendX + 23, y: y, anchor: "start",
          extra: [("dy", "0.32em"), ("fill", "currentColor")])
      }
      svg.close()
      return svg.finish()
    }
  }
}

/// The viridis colour map (perceptually uniform, colour-blind safe), interpolated between nine stops.
public enum Viridis {
  public struct Colour {
    public var red: Double
    public var green: Double
    public var blue: Double

    /// `#rrggbb`.
    public var hex: String {
      let digits = Array("0123456789abcdef")
      return "#"
        + [red, green, blue].map { channel -> String in
          let byte = Int((min(1, max(0, channel)) * 255).rounded())
          return String([digits[byte / 16], digits[byte % 16]])
        }.joined()
    }

    /// Relative luminance (sRGB approximation, no gamma), to pick black or white text.
    public var luminance: Double { 0.2126 * red + 0.7152 * green + 0.0722 * blue }
  }

  static let stops: [(Double, Double, Double)] = [
    (0x44, 0x01, 0x54), (0x47, 0x2c, 0x7a), (0x3b, 0x52, 0x8b), (0x2c, 0x72, 0x8e),
    (0x21, 0x91, 0x8c),
    (0x28, 0xae, 0x80), (0x5e, 0xc9, 0x62), (0xad, 0xdc, 0x30), (0xfd, 0xe7, 0x25),
  ]

  /// The colour at `t` in 0…1.
  public static func colour(at t: Double) -> Colour {
    let t = t.isFinite ? min(1, max(0, t)) : 0
    let scaled = t * Double(stops.count - 1)
    let index = min(stops.count - 2, Int(scaled))
    let f = scaled - Double(index)
    let (a, b) = (stops[index], stops[index + 1])
    return Colour(
      red: (a.0 + (b.0 - a.0) * f) / 255, green: (a.1 + (b.1 - a.1) * f) / 255,
      blue: (a.2 + (b.2 - a.2) * f) / 255)
  }
}
