/// Small HTML helpers. Everything that comes from data goes through `escape`.
public enum HTML {
  /// Escapes `&`, `<`, `>`, `"` and `'` so that `text` is safe in element content and in quoted attributes.
  public static func escape(_ text: String) -> String {
    guard
      text.utf8.contains(where: {
        $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27
      })
    else { return text }
    var result = ""
    result.reserveCapacity(text.utf8.count + 16)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      case "'": result += "&#39;"
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  /// A code listing: `<pre><code class="language-…">…</code></pre>`, the code escaped.
  public static func codeBlock(_ code: String, language: String? = nil) -> String {
    let attribute = language.map { " class=\"language-\(escape($0))\"" } ?? ""
    return "<pre><code\(attribute)>\(escape(code))</code></pre>\n"
  }

  /// A box that reports a failed step where its output would be: the id lets a banner link to it.
  public static func errorBox(id: String, title: String, message: String) -> String {
    "<div class=\"vp-error\" id=\"\(escape(id))\" role=\"alert\"><p class=\"vp-error-title\">"
      + "\(escape(title))</p><pre>\(escape(message))</pre></div>\n"
  }
}
