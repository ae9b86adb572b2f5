/// A numbered figure: `<figure id="fig-acc"><svg…/><figcaption>Figure 1: …</figcaption></figure>`.
public struct Figure: Sendable, Hashable {
  /// The element id (the block's label).
  public var id: String?
  /// The figure's number, from the cross-reference numbering.
  public var number: Int?
  /// The caption text (escaped when rendered).
  public var caption: String?
  /// The figure's content: trusted HTML such as an `SVGChart` or an `<img>`.
  public var content: String

  /// Creates a figure.
  public init(id: String? = nil, number: Int? = nil, caption: String? = nil, content: String) {
    self.id = id
    self.number = number
    self.caption = caption
    self.content = content
  }

  /// The `<figure>` element; the caption is left out when there is neither number nor caption.
  public func html() -> String {
    var html =
      "<figure class=\"vp-figure\"" + (id.map { " id=\"\(HTML.escape($0))\"" } ?? "") + ">\n"
    html += content.hasSuffix("\n") ? content : content + "\n"
    if number != nil || caption != nil {
      html += "<figcaption>"
      if let number {
        html += "<span class=\"vp-label\">Figure \(number)\(caption == nil ? "" : ":")</span>"
        if caption != nil { html += " " }
      }
      html += HTML.escape(caption ?? "") + "</figcaption>\n"
    }
    return html + "</figure>\n"
  }

  /// An `<img>` for PNG bytes, embedded as a data URI.
  public static func image(png bytes: [UInt8], alt: String, width: Int? = nil) -> String {
    "<img src=\"\(DataURI.png(bytes))\" alt=\"\(HTML.escape(alt))\""
      + (width.map { " width=\"\($0)\"" } ?? "") + ">"
  }
}
