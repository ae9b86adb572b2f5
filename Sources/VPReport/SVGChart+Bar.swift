extension SVGChart {
  /// A grouped bar chart: one group per category, one bar per series in each group, optional error bars
  /// (± a half-width such as a standard deviation). The y axis always includes 0.
  public struct Bar: Sendable, Hashable {
    /// One colour of bars across the groups.
    public struct Series: Sendable, Hashable {
      /// The legend name.
      public var name: String
      /// One value per category; a non-finite value draws no bar.
      public var values: [Double]
      /// Error-bar half-widths, one per category, or nil.
      public var errors: [Double]?

      /// Creates a series.
      public init(name: String, values: [Double], errors: [Double]? = nil) {
        self.name = name
        self.values = values
        self.errors = errors
      }
    }

    /// The group labels along the x axis.
    public var categories: [String]
    /// The bar series.
    public var series: [Series]
    /// The x axis title.
    public var xLabel: String
    /// The y axis title.
    public var yLabel: String
    /// The accessible name of the chart.
    public var title: String
    /// A fixed y range, or nil to fit 0, the values and error bars.
    public var yDomain: ClosedRange<Double>?
    /// The viewBox width.
    public var width: Double
    /// The viewBox height.
    public var height: Double

    /// Creates a bar chart.
    public init(
      categories: [String], series: [Series], xLabel: String = "", yLabel: String = "",
      title: String = "",
      yDomain: ClosedRange<Double>? = nil, width: Double = 640, height: Double = 360
    ) {
      self.categories = categories
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
      var low = 0.0
      var high = 0.0
      for s in series {
        for (i, value) in s.values.enumerated() where value.isFinite {
          let error = errorValue(s, i)
          low = min(low, value - error)
          high = max(high, value + error)
        }
      }
      if let yDomain {
        low = yDomain.lowerBound
        high = yDomain.upperBound
      }
      let yTicks = SVGChart.ticks(lower: low, upper: high, maxCount: 8)
      let names = series.map(\.name)
      let legend =
        series.count > 1 || names.contains { !$0.isEmpty } ? SVGChart.legendWidth(names) : 0
      let yLabelWidth = yTicks.labels.map { SVGChart.textWidth($0) }.max() ?? 0
      let left = (yLabel.isEmpty ? 8 : 28) + yLabelWidth + 8
      let right = width - 12 - (legend > 0 ? legend + 12 : 0)
      let groupWidth = (right - left) / Double(max(1, categories.count))
      let longest = categories.map { SVGChart.textWidth($0) }.max() ?? 0
      let rotate = longest > groupWidth - 4
      let labelHeight = rotate ? longest * 0.58 + 14 : 20
      let plot = PlotArea(
        left: left, top: 12, right: right,
        bottom: height - 8 - labelHeight - (xLabel.isEmpty ? 0 : 20))
      let yScale = LinearScale(domain: (yTicks.lower, yTicks.upper), range: (plot.bottom, plot.top))
      func clampY(_ value: Double) -> Double { min(plot.bottom, max(plot.top, yScale(value))) }

      var svg = SVGWriter(
        width: width, height: height, title: title.isEmpty ? yLabel : title, kind: "bar")
      SVGChart.drawYAxis(&svg, plot: plot, ticks: yTicks, scale: yScale, title: yLabel)

      let inner = groupWidth * 0.8
      let barWidth = inner / Double(max(1, series.count))
      let baseline = clampY(0)
      let valueDecimals = yTicks.decimals + 2
      for (seriesIndex, s) in series.enumerated() {
        svg.open([("class", "vp-series"), ("fill", SVGChart.colour(seriesIndex))])
        for (category, value) in s.values.enumerated()
        where category < categories.count && value.isFinite {
          let x =
            plot.left + Double(category) * groupWidth + groupWidth * 0.1 + Double(seriesIndex)
            * barWidth
          let top = clampY(value)
          var tip = categories[category] + (s.name.isEmpty ? "" : " – " + s.name) + ": "
          tip += NumberFormat.fixed(value, decimals: valueDecimals)
          if let errors = s.errors, category < errors.count, errors[category].isFinite {
            tip += " ± " + NumberFormat.fixed(abs(errors[category]), decimals: valueDecimals)
          }
          svg.rect(
            x: x + barWidth * 0.05, y: min(top, baseline), width: barWidth * 0.9,
            height: abs(baseline - top), fill: SVGChart.colour(seriesIndex), tooltip: tip)
        }
        svg.close()
      }
      svg.open([("class", "vp-error-bars"), ("stroke", "#222222"), ("stroke-width", "1.2")])
      for (seriesIndex, s) in series.enumerated() {
        for (category, value) in s.values.enumerated()
        where category < categories.count && value.isFinite {
          let error = errorValue(s, category)
          guard error > 0 else { continue }
          let centre =
            plot.left + Double(category) * groupWidth + groupWidth * 0.1
            + (Double(seriesIndex) + 0.5) * barWidth
          let cap = min(barWidth * 0.25, 6)
          let (y1, y2) = (clampY(value - error), clampY(value + error))
          svg.line(centre, y1, centre, y2)
          svg.line(centre - cap, y1, centre + cap, y1)
          svg.line(centre - cap, y2, centre + cap, y2)
        }
      }
      svg.close()

      svg.line(plot.left, baseline, plot.right, baseline, extra: [("stroke", "#444444")])
      svg.open([("class", "vp-x-labels"), ("fill", "currentColor")])
      for (index, category) in categories.enumerated() {
        let x = plot.left + (Double(index) + 0.5) * groupWidth
        let y = plot.bottom + 16
        if rotate {
          svg.text(
            category, x: x, y: y, anchor: "end",
            extra: [
              (
                "transform",
                "rotate(-35 \(NumberFormat.coordinate(x)) \(NumberFormat.coordinate(y)))"
              )
            ])
        } else {
          svg.text(category, x: x, y: y)
        }
      }
      svg.close()
      SVGChart.drawXTitle(&svg, plot: plot, title: xLabel, y: height - 10)
      if legend > 0 {
        SVGChart.drawLegend(&svg, x: plot.right + 12, y: plot.top + 8, names: names, swatch: "box")
      }
      return svg.finish()
    }

    private func errorValue(_ series: Series, _ index: Int) -> Double {
      guard let errors = series.errors, index < errors.count, errors[index].isFinite else {
        return 0
      }
      return abs(errors[index])
    }
  }
}
