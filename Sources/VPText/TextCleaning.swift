import Foundation

/// The text clean-up that OpenAI's tokenizer applies before splitting: `ftfy.fix_text`, `html.unescape` twice,
/// `strip`, `re.sub(r'\s+', ' ', …)`, `strip`, `lower`.
///
/// ftfy is reproduced only in the parts that change ordinary text: its HTML-entity decoding (for the entities
/// of ``HTMLEntities``, and not in a line or after a line that contains `<`, as ftfy's "auto" rule says), C1
/// controls read as Windows-1252, Latin ligatures, full-width and half-width forms, curly quotes, line
/// breaks, ANSI terminal escapes, control characters and NFC, repeated until nothing changes. ftfy's mojibake
/// repair (`fix_encoding`: text that was UTF-8 decoded as Windows-1252 or Latin-1, like `cafÃ©`) is not: such
/// text is tokenized as written, where the reference would first repair it.
enum TextCleaning {
  /// The cleaned, lower-cased text as Unicode scalars.
  static func clean(_ text: String) -> [Unicode.Scalar] {
    var scalars = Array(text.unicodeScalars)
    var text = text
    if !text.withUTF8(isPlainASCII) { scalars = fixText(scalars) }
    scalars = HTMLEntities.unescape(HTMLEntities.unescape(scalars))
    scalars = strip(scalars)
    scalars = collapseWhitespace(scalars)
    return lowercased(strip(scalars))
  }

  /// Printable ASCII, tab, LF, FF, CR and no `&`: text that ftfy and `html.unescape` leave alone (up to line
  /// breaks, which the whitespace collapse makes irrelevant).
  static func isPlainASCII(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    for c in text where !((c >= 0x20 && c < 0x7F && c != 0x26) || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D) {
      return false
    }
    return true
  }

  /// ``clean(_:)`` for UTF-8 text that ``isPlainASCII(_:)``: strip, collapse whitespace, lower-case, in one
  /// pass over the bytes.
  static func cleanPlainASCII(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    var output = [UInt8]()
    output.reserveCapacity(text.count)
    var pendingSpace = false
    for byte in text {
      if byte == 0x20 || (0x09...0x0D).contains(byte) {
        pendingSpace = !output.isEmpty
      } else {
        if pendingSpace { output.append(0x20) }
        pendingSpace = false
        output.append((0x41...0x5A).contains(byte) ? byte + 0x20 : byte)
      }
    }
    return output
  }

  // MARK: - The reproduced part of ftfy.fix_text

  /// ftfy's `fix_text`, line by line (each line keeps its `\n`); HTML entities are decoded until the first
  /// line that contains `<`.
  static func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var output = [Unicode.Scalar]()
    output.reserveCapacity(text.count)
    var decodeEntities = true
    var start = 0
    while start < text.count {
      var end = start
      while end < text.count && text[end] != "\n" { end += 1 }
      if end < text.count { end += 1 }
      let segment = Array(text[start..<end])
      if decodeEntities && segment.contains("<") { decodeEntities = false }
      output += fixSegment(segment, decodeEntities: decodeEntities)
      start = end
    }
    return output
  }

  /// ftfy's `fix_and_explain` without `fix_encoding`: the fixers in ftfy's order, then NFC, until the text
  /// stops changing.
  private static func fixSegment(_ segment: [Unicode.Scalar], decodeEntities: Bool) -> [Unicode.Scalar] {
    var text = segment
    while true {
      let before = text
      if decodeEntities { text = HTMLEntities.unescapeSemicolonTerminated(text) }
      text = text.map { (0x80...0x9F).contains($0.value) ? HTMLEntities.windows1252(UInt8($0.value)) : $0 }
      text = text.flatMap(expandLigature)
      text = text.flatMap(normalWidth)
      text = text.map(uncurlQuote)
      text = unixLineBreaks(text)
      text = removeTerminalEscapes(text)
      text = text.filter { !isRemovedControl($0) }
      text = Array(String(String.UnicodeScalarView(text)).precomposedStringWithCanonicalMapping.unicodeScalars)
      if text == before { return text }
    }
  }

  /// ftfy's `fix_latin_ligatures`.
  private static func expandLigature(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
    let replacement: String
    switch c.value {
    case 0x132: replacement = "IJ"
    case 0x133: replacement = "ij"
    case 0x149: replacement = "\u{2BC}n"
    case 0x1F1: replacement = "DZ"
    case 0x1F2: replacement = "Dz"
    case 0x1F3: replacement = "dz"
    case 0x1C4: replacement = "D\u{17D}"
    case 0x1C5: replacement = "D\u{17E}"
    case 0x1C6: replacement = "d\u{17E}"
    case 0x1C7: replacement = "LJ"
    case 0x1C8: replacement = "Lj"
    case 0x1C9: replacement = "lj"
    case 0x1CA: replacement = "NJ"
    case 0x1CB: replacement = "Nj"
    case 0x1CC: replacement = "nj"
    case 0xFB00: replacement = "ff"
    case 0xFB01: replacement = "fi"
    case 0xFB02: replacement = "fl"
    case 0xFB03: replacement = "ffi"
    case 0xFB04: replacement = "ffl"
    case 0xFB05: replacement = "\u{17F}t"
    case 0xFB06: replacement = "st"
    default: return [c]
    }
    return Array(replacement.unicodeScalars)
  }

  /// ftfy's `fix_character_width`: U+3000 → space, U+FF01…U+FFEF → their NFKC form.
  private static func normalWidth(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
    if c.value == 0x3000 { return [" "] }
    guard (0xFF01...0xFFEF).contains(c.value) else { return [c] }
    return Array(String(c).precomposedStringWithCompatibilityMapping.unicodeScalars)
  }

  /// ftfy's `uncurl_quotes`: U+02BC and U+2018…U+201B → `'`, U+201C…U+201F → `"`.
  private static func uncurlQuote(_ c: Unicode.Scalar) -> Unicode.Scalar {
    switch c.value {
    case 0x2BC, 0x2018...0x201B: return "'"
    case 0x201C...0x201F: return "\""
    default: return c
    }
  }

  /// ftfy's `fix_line_breaks`: CR LF, CR, U+2028, U+2029 and U+0085 → LF.
  private static func unixLineBreaks(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var output = [Unicode.Scalar]()
    output.reserveCapacity(text.count)
    var i = 0
    while i < text.count {
      switch text[i].value {
      case 0x0D:
        output.append("\n")
        if i + 1 < text.count && text[i + 1] == "\n" { i += 1 }
      case 0x2028, 0x2029, 0x85: output.append("\n")
      default: output.append(text[i])
      }
      i += 1
    }
    return output
  }

  /// ftfy's `remove_terminal_escapes`: ESC `[`, decimal digits (Python's `\d`) and `;`, one ASCII letter.
  private static func removeTerminalEscapes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard text.contains("\u{1B}") else { return text }
    var output = [Unicode.Scalar]()
    var i = 0
    while i < text.count {
      if text[i] == "\u{1B}", i + 1 < text.count, text[i + 1] == "[" {
        var j = i + 2
        while j < text.count && (text[j] == ";" || text[j].properties.generalCategory == .decimalNumber) { j += 1 }
        if j < text.count && isASCIILetter(text[j]) {
          i = j + 1
          continue
        }
      }
      output.append(text[i])
      i += 1
    }
    return output
  }

  private static func isASCIILetter(_ c: Unicode.Scalar) -> Bool {
    (0x41...0x5A).contains(c.value) || (0x61...0x7A).contains(c.value)
  }

  /// ftfy's `remove_control_chars`.
  private static func isRemovedControl(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
    default: return false
    }
  }

  // MARK: - Whitespace and case, as Python does them

  /// Python's `str.isspace`: the Unicode White_Space characters and the separators U+001C…U+001F.
  static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
    (0x1C...0x1F).contains(c.value) || isRegexSpace(c)
  }

  /// `\s` of the `regex` module: the Unicode White_Space property.
  static func isRegexSpace(_ c: Unicode.Scalar) -> Bool {
    if c.value < 0x80 { return c.value == 0x20 || (0x09...0x0D).contains(c.value) }
    return c.properties.isWhitespace
  }

  static func strip(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard let first = text.firstIndex(where: { !isPythonSpace($0) }),
      let last = text.lastIndex(where: { !isPythonSpace($0) })
    else { return [] }
    return Array(text[first...last])
  }

  /// `re.sub(r'\s+', ' ', text)`.
  static func collapseWhitespace(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var output = [Unicode.Scalar]()
    output.reserveCapacity(text.count)
    var inSpace = false
    for c in text {
      if isRegexSpace(c) {
        if !inSpace { output.append(" ") }
        inSpace = true
      } else {
        output.append(c)
        inSpace = false
      }
    }
    return output
  }

  /// Python's `str.lower`: each character's full lower-case mapping, and U+03A3 Σ → ς at the end of a word
  /// (the Final_Sigma condition: a cased letter before it, none after it, case-ignorable characters skipped).
  static func lowercased(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var output = [Unicode.Scalar]()
    output.reserveCapacity(text.count)
    for (i, c) in text.enumerated() {
      if c.value < 0x80 {
        output.append((0x41...0x5A).contains(c.value) ? Unicode.Scalar(c.value + 0x20)! : c)
      } else if c.value == 0x3A3 {
        output.append(isFinalSigma(text, at: i) ? "\u{3C2}" : "\u{3C3}")
      } else {
        output += c.properties.lowercaseMapping.unicodeScalars
      }
    }
    return output
  }

  private static func isFinalSigma(_ text: [Unicode.Scalar], at i: Int) -> Bool {
    var j = i - 1
    while j >= 0 && text[j].properties.isCaseIgnorable { j -= 1 }
    guard j >= 0 && text[j].properties.isCased else { return false }
    j = i + 1
    while j < text.count && text[j].properties.isCaseIgnorable { j += 1 }
    return j == text.count || !text[j].properties.isCased
  }
}
