/// Self-contained SVG charts for the report: `Line`, `Bar` and `HeatMap`.
///
/// Every chart is one `<svg>` element sized by its `viewBox` with `width="100%"`, so it scales with the page;
/// fonts are inherited from the page, text is real `<text>`, colours come from the colour-blind-safe
/// Okabe–Ito palette (sequential data: viridis), every label is escaped, and numbers are formatted with a
/// fixed precision so the output is byte-for-byte deterministic. No chart uses element ids, so any number
/// of them can share a page.
public enum SVGChart {
  /// The Okabe–Ito palette, in the order series use it (yellow late: it is faint on white).
  public static let palette = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
  ]

  /// The colour of series `index` (the palette repeats after eight series).
  public static func colour(_ index: Int) -> String { palette[index % palette.count] }

  /// The estimated width of `text` at `fontSize` (no font metrics are available; 0.58 em per character).
  public static func textWidth(_ text: String, fontSize: Double = 12) -> Double {
    Double(text.count) * fontSize * 0.58
  }
}

/// Collects SVG markup; attribute values and text are escaped here.
public struct SVGWriter {
  private(set) var markup = ""

  /// Opens the root element, with an accessible name (`aria-label` and `<title>`).
  public init(width: Double, height: Double, title: String, kind: String) {
    markup =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"vp-chart vp-\(kind)\" viewBox=\"0 0 "
      + "\(NumberFormat.coordinate(width)) \(NumberFormat.coordinate(height))\" width=\"100%\" "
      + "role=\"img\" aria-label=\"\(HTML.escape(title))\" font-family=\"inherit\" font-size=\"12\">\n"
      + "<title>\(HTML.escape(title))</title>\n"
  }

  /// Appends `<name a="v" …/>`, or `<name …>text</name>` with `text` escaped, or with `child` markup as is.
  mutating func element(
    _ name: String, _ attributes: [(String, String)], text: String? = nil, child: String? = nil
  ) {
    markup += "<" + name
    for (key, value) in attributes { markup += " \(key)=\"\(HTML.escape(value))\"" }
    if let text {
      markup += ">" + HTML.escape(text) + "</\(name)>\n"
    } else if let child {
      markup += ">" + child + "</\(name)>\n"
    } else {
      markup += "/>\n"
    }
  }

  /// Opens a `<g>` group.
  public mutating func open(_ attributes: [(String, String)]) {
    markup += "<g"
    for (key, value) in attributes { markup += " \(key)=\"\(HTML.escape(value))\"" }
    markup += ">\n"
  }

  /// Closes the innermost group.
  public mutating func close() { markup += "</g>\n" }

  /// A `<text>` at (x, y).
  public mutating func text(
    _ text: String, x: Double, y: Double, anchor: String = "middle", extra: [(String, String)] = []
  ) {
    element(
      "text",
      [
        ("x", NumberFormat.coordinate(x)), ("y", NumberFormat.coordinate(y)),
        ("text-anchor", anchor),
      ] + extra,
      text: text)
  }

  /// A `<line>` from (x1, y1) to (x2, y2).
  mutating func line(
    _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, extra: [(String, String)] = []
  ) {
    element(
      "line",
      [
        ("x1", NumberFormat.coordinate(x1)), ("y1", NumberFormat.coordinate(y1)),
        ("x2", NumberFormat.coordinate(x2)), ("y2", NumberFormat.coordinate(y2)),
      ] + extra)
  }

  /// A `<rect>`, with an optional tooltip.
  public mutating func rect(
    x: Double, y: Double, width: Double, height: Double, fill: String, tooltip: String? = nil,
    extra: [(String, String)] = []
  ) {
    element(
      "rect",
      [
        ("x", NumberFormat.coordinate(x)), ("y", NumberFormat.coordinate(y)),
        ("width", NumberFormat.coordinate(max(0, width))),
        ("height", NumberFormat.coordinate(max(0, height))),
        ("fill", fill),
      ] + extra, child: tooltip.map { "<title>\(HTML.escape($0))</title>" })
  }

  /// The finished `<svg>` element.
  public func finish() -> String { markup + "</svg>\n" }
}

/// A linear map from data values to SVG coordinates.
struct LinearScale {
  var domain: (lower: Double, upper: Double)
  var range: (start: Double, end: Double)

  func callAsFunction(_ value: Double) -> Double {
    let span = domain.upper - domain.lower
    guard span != 0 else { return (range.start + range.end) / 2 }
    return range.start + (value - domain.lower) / span * (range.end - range.start)
  }
}

/// The plotting rectangle of a chart.
struct PlotArea {
  var left: Double
  var top: Double
  var right: Double
  var bottom: Double
  var width: Double { right - left }
  var height: Double { bottom - top }
}
