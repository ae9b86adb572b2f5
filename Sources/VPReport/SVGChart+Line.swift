extension SVGChart {
  /// A line chart: several series over a numeric x axis (epochs), each with an optional ± band drawn as a
  /// translucent polygon, grid lines, nice ticks, axis titles and a legend.
  public struct Line: Sendable, Hashable {
    /// One line.
    public struct Series: Sendable, Hashable {
      /// The legend name.
      public var name: String
      /// The x values (same count as `y`).
      public var x: [Double]
      /// The y values; a non-finite value breaks the line.
      public var y: [Double]
      /// Half-widths of the band around `y` (e.g. standard deviations), or nil for no band.
      public var band: [Double]?

      /// A series with explicit x values.
      public init(name: String, x: [Double], y: [Double], band: [Double]? = nil) {
        self.name = name
        self.x = x
        self.y = y
        self.band = band
      }

      /// A series over x = 1, 2, … (epochs).
      public init(name: String, y: [Double], band: [Double]? = nil) {
        self.init(name: name, x: y.indices.map { Double($0 + 1) }, y: y, band: band)
      }
    }

    /// The lines, drawn in palette order.
    public var series: [Series]
    /// The x axis title.
    public var xLabel: String
    /// The y axis title.
    public var yLabel: String
    /// The accessible name of the chart (`aria-label`, `<title>`).
    public var title: String
    /// A fixed y range (e.g. 0…1 for accuracy), or nil to fit the data and bands.
    public var yDomain: ClosedRange<Double>?
    /// The viewBox width.
    public var width: Double
    /// The viewBox height.
    public var height: Double

    /// Creates a line chart.
    public init(
      series: [Series], xLabel: String = "epoch", yLabel: String = "accuracy", title: String = "",
      yDomain: ClosedRange<Double>? = nil, width: Double = 640, height: Double = 360
    ) {
      self.series = series
      self.xLabel = xLabel
      self.yLabel = yLabel
      self.title = title
      self.yDomain = yDomain
      self.width = width
      self.height = height
    }

    /// The chart as one `<svg>` element.
    public func svg() -> String {
      let points = series.flatMap { s in
        s.x.indices.compactMap { i -> (Double, Double, Double)? in
          guard i < s.y.count, s.x[i].isFinite, s.y[i].isFinite else { return nil }
          let band = s.band.flatMap { i < $0.count && $0[i].isFinite ? abs($0[i]) : nil } ?? 0
          return (s.x[i], s.y[i] - band, s.y[i] + band)
        }
      }
      let xs = points.map(\.0)
      let integerX = xs.allSatisfy { $0 == $0.rounded() }
      let xTicks = SVGChart.ticks(
        lower: xs.min() ?? 0, upper: xs.max() ?? 1, maxCount: 10, integer: integerX)
      let yTicks = SVGChart.ticks(
        lower: yDomain?.lowerBound ?? points.map(\.1).min() ?? 0,
        upper: yDomain?.upperBound ?? points.map(\.2).max() ?? 1, maxCount: 8)

      let names = series.map(\.name)
      let legend = SVGChart.legendWidth(names)
      let yLabelWidth = yTicks.labels.map { SVGChart.textWidth($0) }.max() ?? 0
      let plot = PlotArea(
        left: (yLabel.isEmpty ? 8 : 28) + yLabelWidth + 8, top: 12,
        right: width - 12 - (legend > 0 ? legend + 12 : 0),
        bottom: height - (xLabel.isEmpty ? 28 : 48))
      let xScale = LinearScale(domain: (xTicks.lower, xTicks.upper), range: (plot.left, plot.right))
      let yScale = LinearScale(domain: (yTicks.lower, yTicks.upper), range: (plot.bottom, plot.top))
      func clampY(_ value: Double) -> Double { min(plot.bottom, max(plot.top, yScale(value))) }

      var svg = SVGWriter(
        width: width, height: height, title: title.isEmpty ? yLabel : title, kind: "line")
      SVGChart.drawYAxis(&svg, plot: plot, ticks: yTicks, scale: yScale, title: yLabel)
      SVGChart.drawXAxis(&svg, plot: plot, ticks: xTicks, scale: xScale)
      SVGChart.drawXTitle(&svg, plot: plot, title: xLabel, y: height - 10)

      for (index, s) in series.enumerated() {
        guard let band = s.band else { continue }
        for segment in segments(of: s) {
          let upper = segment.map { i in (xScale(s.x[i]), clampY(s.y[i] + bandValue(band, i))) }
          let lower = segment.reversed().map { i in
            (xScale(s.x[i]), clampY(s.y[i] - bandValue(band, i)))
          }
          let polygon = (upper + lower).map {
            NumberFormat.coordinate($0.0) + "," + NumberFormat.coordinate($0.1)
          }
          svg.element(
            "polygon",
            [
              ("class", "vp-band"), ("points", polygon.joined(separator: " ")),
              ("fill", SVGChart.colour(index)), ("fill-opacity", "0.2"), ("stroke", "none"),
            ])
        }
      }
      let valueDecimals = yTicks.decimals + 2
      for (index, s) in series.enumerated() {
        let colour = SVGChart.colour(index)
        let path = segments(of: s).map { segment in
          segment.enumerated().map { offset, i in
            (offset == 0 ? "M" : "L") + NumberFormat.coordinate(xScale(s.x[i])) + " "
              + NumberFormat.coordinate(clampY(s.y[i]))
          }.joined(separator: " ")
        }.joined(separator: " ")
        svg.open([("class", "vp-series"), ("stroke", colour), ("fill", colour)])
        if !path.isEmpty {
          svg.element(
            "path",
            [("d", path), ("fill", "none"), ("stroke-width", "2"), ("stroke-linejoin", "round")])
        }
        let finite = segments(of: s).flatMap { $0 }
        if finite.count <= 60 {
          for i in finite {
            var tip = s.name.isEmpty ? "" : s.name + ": "
            tip += xLabel.isEmpty ? "" : xLabel + " "
            tip += NumberFormat.fixed(s.x[i], decimals: integerX ? 0 : xTicks.decimals + 1) + ", "
            tip += NumberFormat.fixed(s.y[i], decimals: valueDecimals)
            if let band = s.band, i < band.count, band[i].isFinite {
              tip += " ± " + NumberFormat.fixed(abs(band[i]), decimals: valueDecimals)
            }
            svg.element(
              "circle",
              [
                ("cx", NumberFormat.coordinate(xScale(s.x[i]))),
                ("cy", NumberFormat.coordinate(clampY(s.y[i]))), ("r", "2.5"), ("stroke", "none"),
              ], child: "<title>\(HTML.escape(tip))</title>")
          }
        }
        svg.close()
      }
      if legend > 0 {
        SVGChart.drawLegend(
          &svg, x: plot.right + 12, y: plot.top + 8, names: names, swatch: "line",
          bands: series.map { $0.band != nil })
      }
      return svg.finish()
    }

    /// Runs of consecutive indices with finite x and y.
    private func segments(of series: Series) -> [[Int]] {
      var result: [[Int]] = []
      var current: [Int] = []
      for i in series.x.indices {
        if i < series.y.count, series.x[i].isFinite, series.y[i].isFinite {
          current.append(i)
        } else if !current.isEmpty {
          result.append(current)
          current = []
        }
      }
      if !current.isEmpty { result.append(current) }
      return result
    }

    private func bandValue(_ band: [Double], _ i: Int) -> Double {
      i < band.count && band[i].isFinite ? abs(band[i]) : 0
    }
  }
}
