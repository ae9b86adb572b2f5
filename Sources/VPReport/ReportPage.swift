/// The whole report: one self-contained HTML document (inline CSS, no scripts, no external resources).
public struct ReportPage: Sendable, Hashable {
  /// The document title (`<title>` and the header's `<h1>`).
  public var title: String
  /// The authors, shown under the title.
  public var authors: [String]
  /// A one-paragraph description, shown under the authors.
  public var description: String?
  /// The headings for the table of contents (levels 1–3 are listed; none is shown for fewer than two).
  public var toc: [Heading]
  /// The body HTML (trusted): `NotebookSource.render(outputs:)`.
  public var bodyHTML: String
  /// The appendix HTML (trusted), shown under an "Appendix" heading, or nil.
  public var appendixHTML: String?
  /// A banner at the top (trusted HTML, see `errorBanner`), or nil.
  public var bannerHTML: String?
  /// Written to `<meta name="generator">`.
  public var generator: String

  /// Creates a page.
  public init(
    title: String, authors: [String] = [], description: String? = nil, toc: [Heading] = [],
    bodyHTML: String, appendixHTML: String? = nil, bannerHTML: String? = nil,
    generator: String = "vpbook"
  ) {
    self.title = title
    self.authors = authors
    self.description = description
    self.toc = toc
    self.bodyHTML = bodyHTML
    self.appendixHTML = appendixHTML
    self.bannerHTML = bannerHTML
    self.generator = generator
  }

  /// An error banner for the top of the page that links to the failing step's anchor.
  ///
  /// - Parameters:
  ///   - message: what failed (escaped), e.g. `step 3 (line 42) failed: …`.
  ///   - anchor: the failing output's id (`NotebookSource.Step.anchor`).
  public static func errorBanner(message: String, anchor: String) -> String {
    "<div class=\"vp-banner\" role=\"alert\"><strong>This report is incomplete.</strong> "
      + "\(HTML.escape(message)) <a href=\"#\(HTML.escape(anchor))\">Go to the failed step</a></div>\n"
  }

  /// The complete HTML document.
  public func html() -> String {
    var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    html += "<meta name=\"generator\" content=\"\(HTML.escape(generator))\">\n"
    if !authors.isEmpty {
      html += "<meta name=\"author\" content=\"\(HTML.escape(authors.joined(separator: ", ")))\">\n"
    }
    if let description, !description.isEmpty {
      html += "<meta name=\"description\" content=\"\(HTML.escape(description))\">\n"
    }
    html +=
      "<title>\(HTML.escape(title))</title>\n<style>\n\(ReportPage.css)</style>\n</head>\n<body>\n"
    html += "<main class=\"vp-page\">\n"
    if let bannerHTML { html += bannerHTML + (bannerHTML.hasSuffix("\n") ? "" : "\n") }
    html += "<header class=\"vp-header\">\n<h1 class=\"vp-title\">\(HTML.escape(title))</h1>\n"
    if !authors.isEmpty {
      html += "<p class=\"vp-authors\">\(authors.map(HTML.escape).joined(separator: ", "))</p>\n"
    }
    if let description, !description.isEmpty {
      html += "<p class=\"vp-description\">\(HTML.escape(description))</p>\n"
    }
    html += "</header>\n"
    html += tocHTML()
    html +=
      "<article class=\"vp-body\">\n" + bodyHTML + (bodyHTML.hasSuffix("\n") ? "" : "\n")
      + "</article>\n"
    if let appendixHTML {
      html += "<section class=\"vp-appendix\">\n<h2 id=\"appendix\">Appendix</h2>\n" + appendixHTML
      html += (appendixHTML.hasSuffix("\n") ? "" : "\n") + "</section>\n"
    }
    html += "</main>\n</body>\n</html>\n"
    return html
  }

  /// The table of contents as nested ordered lists, or "" for fewer than two entries.
  public func tocHTML() -> String {
    let entries = toc.filter { $0.level <= 3 }
    guard entries.count >= 2 else { return "" }
    var html =
      "<nav class=\"vp-toc\" aria-label=\"Contents\">\n<p class=\"vp-toc-title\">Contents</p>\n"
    var levels: [Int] = []
    for entry in entries {
      if levels.isEmpty || entry.level > levels.last! {
        html += "<ol>"
        levels.append(entry.level)
      } else {
        html += "</li>\n"
        while levels.count > 1, entry.level < levels.last! {
          html += "</ol></li>\n"
          levels.removeLast()
        }
      }
      html += "<li><a href=\"#\(HTML.escape(entry.id))\">\(HTML.escape(entry.text))</a>"
    }
    html += "</li>"
    while !levels.isEmpty {
      html += "</ol>"
      levels.removeLast()
      if !levels.isEmpty { html += "</li>" }
    }
    return html + "\n</nav>\n"
  }
}
