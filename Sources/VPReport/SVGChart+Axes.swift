extension SVGChart {
  /// Draws horizontal grid lines with y tick labels, the left axis line and the rotated y title.
  static func drawYAxis(
    _ svg: inout SVGWriter, plot: PlotArea, ticks: Ticks, scale: LinearScale, title: String
  ) {
    svg.open([("class", "vp-grid"), ("stroke", "#dddddd"), ("stroke-width", "1")])
    for value in ticks.values { svg.line(plot.left, scale(value), plot.right, scale(value)) }
    svg.close()
    svg.open([("class", "vp-y-ticks"), ("fill", "currentColor")])
    for (value, label) in zip(ticks.values, ticks.labels) {
      svg.text(label, x: plot.left - 6, y: scale(value), anchor: "end", extra: [("dy", "0.32em")])
    }
    svg.close()
    svg.line(plot.left, plot.top, plot.left, plot.bottom, extra: [("stroke", "#444444")])
    if !title.isEmpty {
      let x = 14.0
      let y = (plot.top + plot.bottom) / 2
      svg.text(
        title, x: x, y: y,
        extra: [
          ("transform", "rotate(-90 \(NumberFormat.coordinate(x)) \(NumberFormat.coordinate(y)))"),
          ("dy", "0.32em"), ("fill", "currentColor"), ("class", "vp-axis-title"),
        ])
    }
  }

  /// Draws the bottom axis line with numeric tick marks and labels.
  static func drawXAxis(
    _ svg: inout SVGWriter, plot: PlotArea, ticks: Ticks, scale: LinearScale
  ) {
    svg.line(plot.left, plot.bottom, plot.right, plot.bottom, extra: [("stroke", "#444444")])
    svg.open([("class", "vp-x-ticks"), ("stroke", "#444444")])
    for value in ticks.values { svg.line(scale(value), plot.bottom, scale(value), plot.bottom + 5) }
    svg.close()
    svg.open([("class", "vp-x-labels"), ("fill", "currentColor")])
    for (value, label) in zip(ticks.values, ticks.labels) {
      svg.text(label, x: scale(value), y: plot.bottom + 18)
    }
    svg.close()
  }

  /// Draws the x title centred under the plot.
  static func drawXTitle(_ svg: inout SVGWriter, plot: PlotArea, title: String, y: Double) {
    guard !title.isEmpty else { return }
    svg.text(
      title, x: (plot.left + plot.right) / 2, y: y,
      extra: [("fill", "currentColor"), ("class", "vp-axis-title")])
  }

  /// The width a legend of `names` needs (0 when there is nothing to show).
  static func legendWidth(_ names: [String]) -> Double {
    guard names.contains(where: { !$0.isEmpty }) else { return 0 }
    return min(220, 34 + (names.map { textWidth($0) }.max() ?? 0))
  }

  /// Draws a legend at (x, y): one row per entry with a swatch (`line` or `box`) and the name.
  static func drawLegend(
    _ svg: inout SVGWriter, x: Double, y: Double, names: [String], swatch: String,
    bands: [Bool] = []
  ) {
    svg.open([("class", "vp-legend")])
    for (index, name) in names.enumerated() {
      let rowY = y + Double(index) * 18
      let colour = SVGChart.colour(index)
      if swatch == "line" {
        if index < bands.count, bands[index] {
          svg.rect(
            x: x, y: rowY - 5, width: 20, height: 10, fill: colour, extra: [("fill-opacity", "0.2")]
          )
        }
        svg.line(x, rowY, x + 20, rowY, extra: [("stroke", colour), ("stroke-width", "2")])
      } else {
        svg.rect(x: x + 4, y: rowY - 6, width: 12, height: 12, fill: colour)
      }
      svg.text(
        name, x: x + 26, y: rowY, anchor: "start",
        extra: [("dy", "0.32em"), ("fill", "currentColor")])
    }
    svg.close()
  }
}
