/// HTML character references, decoded the way Python's `html.unescape` does for the entities in ``named``
/// (and the way ftfy's `unescape_html` does for their `;`-terminated forms).
///
/// Handled: every numeric reference (`&#NNN;`, `&#xHH;`, with or without `;`, including Python's
/// replacements for NUL, CR, the Windows-1252 range 0x80–0x9F, surrogates, out-of-range and
/// non-character code points), and the 252 named references of HTML 4 plus `&apos;` (`&amp;` `&lt;` `&gt;`
/// `&quot;` `&nbsp;` `&eacute;` `&mdash;` `&hellip;` `&alpha;` `&euro;` …), with HTML5's code points; the
/// Latin-1 names, `amp` `lt` `gt` `quot` and `AMP` `LT` `GT` `QUOT` `COPY` `REG` also without `;` (`&amp`,
/// `&copy`), as HTML5 allows. Python knows all 2,231 names of HTML5: a name outside this table (`&hearts;` is
/// in it, `&check;` is not) stays as written.
enum HTMLEntities {
  /// Named references: name (without `&` and `;`) → replacement, and whether HTML5 also accepts the name
  /// without its `;` (the "legacy" names).
  static let named: [String: (value: String, legacy: Bool)] = {
    var table = [String: (value: String, legacy: Bool)]()
    // HTML 4's 252 entities and `apos`, with HTML5's code points (`lang`, `rang`: U+27E8, U+27E9).
    let html4: [(String, UInt32)] = [
      ("quot", 0x22), ("amp", 0x26), ("apos", 0x27), ("lt", 0x3C), ("gt", 0x3E), ("nbsp", 0xA0), ("iexcl", 0xA1),
      ("cent", 0xA2), ("pound", 0xA3), ("curren", 0xA4), ("yen", 0xA5), ("brvbar", 0xA6), ("sect", 0xA7),
      ("uml", 0xA8), ("copy", 0xA9), ("ordf", 0xAA), ("laquo", 0xAB), ("not", 0xAC), ("shy", 0xAD), ("reg", 0xAE),
      ("macr", 0xAF), ("deg", 0xB0), ("plusmn", 0xB1), ("sup2", 0xB2), ("sup3", 0xB3), ("acute", 0xB4),
      ("micro", 0xB5), ("para", 0xB6), ("middot", 0xB7), ("cedil", 0xB8), ("sup1", 0xB9), ("ordm", 0xBA),
      ("raquo", 0xBB), ("frac14", 0xBC), ("frac12", 0xBD), ("frac34", 0xBE), ("iquest", 0xBF), ("Agrave", 0xC0),
      ("Aacute", 0xC1), ("Acirc", 0xC2), ("Atilde", 0xC3), ("Auml", 0xC4), ("Aring", 0xC5), ("AElig", 0xC6),
      ("Ccedil", 0xC7), ("Egrave", 0xC8), ("Eacute", 0xC9), ("Ecirc", 0xCA), ("Euml", 0xCB), ("Igrave", 0xCC),
      ("Iacute", 0xCD), ("Icirc", 0xCE), ("Iuml", 0xCF), ("ETH", 0xD0), ("Ntilde", 0xD1), ("Ograve", 0xD2),
      ("Oacute", 0xD3), ("Ocirc", 0xD4), ("Otilde", 0xD5), ("Ouml", 0xD6), ("times", 0xD7), ("Oslash", 0xD8),
      ("Ugrave", 0xD9), ("Uacute", 0xDA), ("Ucirc", 0xDB), ("Uuml", 0xDC), ("Yacute", 0xDD), ("THORN", 0xDE),
      ("szlig", 0xDF), ("agrave", 0xE0), ("aacute", 0xE1), ("acirc", 0xE2), ("atilde", 0xE3), ("auml", 0xE4),
      ("aring", 0xE5), ("aelig", 0xE6), ("ccedil", 0xE7), ("egrave", 0xE8), ("eacute", 0xE9), ("ecirc", 0xEA),
      ("euml", 0xEB), ("igrave", 0xEC), ("iacute", 0xED), ("icirc", 0xEE), ("iuml", 0xEF), ("eth", 0xF0),
      ("ntilde", 0xF1), ("ograve", 0xF2), ("oacute", 0xF3), ("ocirc", 0xF4), ("otilde", 0xF5), ("ouml", 0xF6),
      ("divide", 0xF7), ("oslash", 0xF8), ("ugrave", 0xF9), ("uacute", 0xFA), ("ucirc", 0xFB), ("uuml", 0xFC),
      ("yacute", 0xFD), ("thorn", 0xFE), ("yuml", 0xFF), ("OElig", 0x152), ("oelig", 0x153), ("Scaron", 0x160),
      ("scaron", 0x161), ("Yuml", 0x178), ("fnof", 0x192), ("circ", 0x2C6), ("tilde", 0x2DC), ("Alpha", 0x391),
      ("Beta", 0x392), ("Gamma", 0x393), ("Delta", 0x394), ("Epsilon", 0x395), ("Zeta", 0x396), ("Eta", 0x397),
      ("Theta", 0x398), ("Iota", 0x399), ("Kappa", 0x39A), ("Lambda", 0x39B), ("Mu", 0x39C), ("Nu", 0x39D),
      ("Xi", 0x39E), ("Omicron", 0x39F), ("Pi", 0x3A0), ("Rho", 0x3A1), ("Sigma", 0x3A3), ("Tau", 0x3A4),
      ("Upsilon", 0x3A5), ("Phi", 0x3A6), ("Chi", 0x3A7), ("Psi", 0x3A8), ("Omega", 0x3A9), ("alpha", 0x3B1),
      ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7),
      ("theta", 0x3B8), ("iota", 0x3B9), ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD),
      ("xi", 0x3BE), ("omicron", 0x3BF), ("pi", 0x3C0), ("rho", 0x3C1), ("sigmaf", 0x3C2), ("sigma", 0x3C3),
      ("tau", 0x3C4), ("upsilon", 0x3C5), ("phi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9),
      ("thetasym", 0x3D1), ("upsih", 0x3D2), ("piv", 0x3D6), ("ensp", 0x2002), ("emsp", 0x2003),
      ("thinsp", 0x2009), ("zwnj", 0x200C), ("zwj", 0x200D), ("lrm", 0x200E), ("rlm", 0x200F), ("ndash", 0x2013),
      ("mdash", 0x2014), ("lsquo", 0x2018), ("rsquo", 0x2019), ("sbquo", 0x201A), ("ldquo", 0x201C),
      ("rdquo", 0x201D), ("bdquo", 0x201E), ("dagger", 0x2020), ("Dagger", 0x2021), ("bull", 0x2022),
      ("hellip", 0x2026), ("permil", 0x2030), ("prime", 0x2032), ("Prime", 0x2033), ("lsaquo", 0x2039),
      ("rsaquo", 0x203A), ("oline", 0x203E), ("frasl", 0x2044), ("euro", 0x20AC), ("image", 0x2111),
      ("weierp", 0x2118), ("real", 0x211C), ("trade", 0x2122), ("alefsym", 0x2135), ("larr", 0x2190),
      ("uarr", 0x2191), ("rarr", 0x2192), ("darr", 0x2193), ("harr", 0x2194), ("crarr", 0x21B5), ("lArr", 0x21D0),
      ("uArr", 0x21D1), ("rArr", 0x21D2), ("dArr", 0x21D3), ("hArr", 0x21D4), ("forall", 0x2200), ("part", 0x2202),
      ("exist", 0x2203), ("empty", 0x2205), ("nabla", 0x2207), ("isin", 0x2208), ("notin", 0x2209), ("ni", 0x220B),
      ("prod", 0x220F), ("sum", 0x2211), ("minus", 0x2212), ("lowast", 0x2217), ("radic", 0x221A),
      ("prop", 0x221D), ("infin", 0x221E), ("ang", 0x2220), ("and", 0x2227), ("or", 0x2228), ("cap", 0x2229),
      ("cup", 0x222A), ("int", 0x222B), ("there4", 0x2234), ("sim", 0x223C), ("cong", 0x2245), ("asymp", 0x2248),
      ("ne", 0x2260), ("equiv", 0x2261), ("le", 0x2264), ("ge", 0x2265), ("sub", 0x2282), ("sup", 0x2283),
      ("nsub", 0x2284), ("sube", 0x2286), ("supe", 0x2287), ("oplus", 0x2295), ("otimes", 0x2297),
      ("perp", 0x22A5), ("sdot", 0x22C5), ("lceil", 0x2308), ("rceil", 0x2309), ("lfloor", 0x230A),
      ("rfloor", 0x230B), ("loz", 0x25CA), ("spades", 0x2660), ("clubs", 0x2663), ("hearts", 0x2665),
      ("diams", 0x2666), ("lang", 0x27E8), ("rang", 0x27E9),
    ]
    for (name, code) in html4 {
      // HTML5 accepts the Latin-1 names and `amp`, `lt`, `gt`, `quot` without their `;`.
      let legacy = (0xA0...0xFF).contains(code) || ["amp", "lt", "gt", "quot"].contains(name)
      table[name] = (String(Unicode.Scalar(code)!), legacy)
    }
    for (name, value) in [("AMP", "&"), ("LT", "<"), ("GT", ">"), ("QUOT", "\""), ("COPY", "©"), ("REG", "®")] {
      table[name] = (value, true)
    }
    return table
  }()

  /// The longest name in ``named``.
  private static let longestName = named.keys.map(\.count).max() ?? 0

  // MARK: - Python's html.unescape

  /// `html.unescape(text)`: every `&` followed by a numeric reference (`#` digits or `#x` hex digits, `;`
  /// optional) or by 1–32 characters other than tab, LF, FF, space, `<`, `&`, `#`, `;` (then an optional
  /// `;`) is replaced, as Python does, when it names a reference; unknown names stay as written.
  static func unescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard text.contains("&") else { return text }
    var output = [Unicode.Scalar]()
    output.reserveCapacity(text.count)
    var i = 0
    while i < text.count {
      guard text[i] == "&", i + 1 < text.count else {
        output.append(text[i])
        i += 1
        continue
      }
      if let (replacement, end) = numericReference(text, at: i + 1, semicolonOptional: true) {
        output += replacement
        i = end
        continue
      }
      // A name: 1–32 characters outside the excluded set, greedy, then an optional ';'.
      var end = i + 1
      while end < text.count && end - (i + 1) < 32 && !isNameTerminator(text[end]) { end += 1 }
      guard end > i + 1 else {
        output.append(text[i])
        i += 1
        continue
      }
      let name = String(String.UnicodeScalarView(text[(i + 1)..<end]))
      let hasSemicolon = end < text.count && text[end] == ";"
      let matchEnd = hasSemicolon ? end + 1 : end
      if let entry = named[name], hasSemicolon || entry.legacy {
        output += entry.value.unicodeScalars
      } else if let (value, length) = longestLegacyPrefix(of: Array(text[(i + 1)..<matchEnd])) {
        output += value.unicodeScalars
        output += text[(i + 1 + length)..<matchEnd]
      } else {
        output += text[i..<matchEnd]
      }
      i = matchEnd
    }
    return output
  }

  private static func isNameTerminator(_ c: Unicode.Scalar) -> Bool {
    c == "\t" || c == "\n" || c == "\u{0C}" || c == " " || c == "<" || c == "&" || c == "#" || c == ";"
  }

  /// Python's fallback for a name it does not know: the longest proper prefix (at least 2 characters, never the
  /// whole matched text) that is a legacy name.
  private static func longestLegacyPrefix(of matched: [Unicode.Scalar]) -> (String, Int)? {
    var length = min(matched.count - 1, longestName)
    while length >= 2 {
      let prefix = String(String.UnicodeScalarView(matched[0..<length]))
      if let entry = named[prefix], entry.legacy { return (entry.value, length) }
      length -= 1
    }
    return nil
  }

  /// A numeric reference starting at `start` (just after the `&`): `#` and decimal digits, or `#x`/`#X` and hex
  /// digits, then `;` (optional when `semicolonOptional`). Returns the replacement and the index after it.
  static func numericReference(_ text: [Unicode.Scalar], at start: Int, semicolonOptional: Bool)
    -> ([Unicode.Scalar], Int)?
  {
    guard start < text.count, text[start] == "#" else { return nil }
    var i = start + 1
    var radix: UInt32 = 10
    if i < text.count, text[i] == "x" || text[i] == "X" {
      radix = 16
      i += 1
    }
    let digitsStart = i
    var value: UInt32 = 0
    while i < text.count, let digit = digitValue(text[i], radix: radix) {
      value = value > 0x11_0000 ? value : value * radix + digit  // saturates above the Unicode range
      i += 1
    }
    guard i > digitsStart else { return nil }
    if i < text.count && text[i] == ";" {
      i += 1
    } else if !semicolonOptional {
      return nil
    }
    return (character(forReference: value), i)
  }

  private static func digitValue(_ c: Unicode.Scalar, radix: UInt32) -> UInt32? {
    switch c.value {
    case 0x30...0x39: return c.value - 0x30
    case 0x41...0x46 where radix == 16: return c.value - 0x41 + 10
    case 0x61...0x66 where radix == 16: return c.value - 0x61 + 10
    default: return nil
    }
  }

  /// What Python's `html.unescape` puts for the code point `value`.
  static func character(forReference value: UInt32) -> [Unicode.Scalar] {
    if value == 0 { return ["\u{FFFD}"] }
    if value == 0x0D { return ["\r"] }
    if (0x80...0x9F).contains(value) { return [windows1252(UInt8(value))] }
    if (0xD800...0xDFFF).contains(value) || value > 0x10_FFFF { return ["\u{FFFD}"] }
    if isInvalidCodePoint(value) { return [] }
    return [Unicode.Scalar(value)!]
  }

  /// Python's `_invalid_codepoints`: C0 controls but tab, LF, FF, CR; DEL and C1; the non-characters.
  private static func isInvalidCodePoint(_ value: UInt32) -> Bool {
    switch value {
    case 0x1...0x8, 0xB, 0xE...0x1F, 0x7F...0x9F, 0xFDD0...0xFDEF: return true
    default: return value & 0xFFFE == 0xFFFE
    }
  }

  /// Windows-1252's character for a byte in 0x80…0x9F; its five undefined bytes stand for themselves (as in
  /// Python's `html` replacement table and ftfy's "sloppy" Windows-1252).
  static func windows1252(_ byte: UInt8) -> Unicode.Scalar {
    let table: [UInt32] = [
      0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D,
      0x17D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A,
      0x153, 0x9D, 0x17E, 0x178,
    ]
    return Unicode.Scalar(table[Int(byte) - 0x80])!
  }

  // MARK: - ftfy's unescape_html

  /// ftfy's `unescape_html`: `&`, an optional `#`, 1–24 ASCII letters or digits and `;`. Names in ``named``
  /// (and, for all-lower-case names, their upper-case spelling, as ftfy does: `&EACUTE;` → `É`) and numeric
  /// references (when Python's decoding consumes the `;` and does not give one: `&#59;` stays) are replaced; anything else stays.
  static func unescapeSemicolonTerminated(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard text.contains("&") else { return text }
    var output = [Unicode.Scalar]()
    output.reserveCapacity(text.count)
    var i = 0
    while i < text.count {
      guard text[i] == "&" else {
        output.append(text[i])
        i += 1
        continue
      }
      var j = i + 1
      let numeric = j < text.count && text[j] == "#"
      if numeric { j += 1 }
      let bodyStart = j
      while j < text.count && j - bodyStart < 24 && isASCIIAlphanumeric(text[j]) { j += 1 }
      guard j > bodyStart, j < text.count, text[j] == ";" else {
        output.append(text[i])
        i += 1
        continue
      }
      let end = j + 1
      if numeric {
        if let (replacement, referenceEnd) = numericReference(text, at: i + 1, semicolonOptional: true),
          referenceEnd == end, !replacement.contains(";")
        {
          output += replacement
        } else {
          output += text[i..<end]
        }
      } else if let value = ftfyNamed(String(String.UnicodeScalarView(text[bodyStart..<j]))) {
        output += value.unicodeScalars
      } else {
        output += text[i..<end]
      }
      i = end
    }
    return output
  }

  private static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
    (0x30...0x39).contains(c.value) || (0x41...0x5A).contains(c.value) || (0x61...0x7A).contains(c.value)
  }

  /// ftfy's table: the `;`-terminated names, and the upper-case spelling of all-lower-case names that Python
  /// would not decode itself, mapped to the upper-case character.
  private static func ftfyNamed(_ name: String) -> String? {
    if let entry = named[name] { return entry.value }
    let lower = name.lowercased()
    guard lower != name, name == lower.uppercased(), let entry = named[lower] else { return nil }
    // Python decodes `&UPPER;` itself through a legacy prefix: ftfy then leaves it to Python.
    let scalars = Array((name + ";").unicodeScalars)
    if longestLegacyPrefix(of: scalars) != nil { return nil }
    return entry.value.uppercased()
  }
}
