/// The reference's split of cleaned text, the regular expression
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` (case-insensitive)
/// applied left to right: at each position the first alternative that matches wins; whitespace between
/// pieces is dropped. Runs over Unicode scalars, or over the bytes of ASCII text.
enum PreTokenizer {
  enum Piece {
    case startOfText
    case endOfText
    /// A word, a contraction, one digit or a run of other characters.
    case text(Range<Int>)
  }

  enum Kind { case space, letter, number, other }

  private static let startMarker = Array("<|startoftext|>".unicodeScalars).map(\.value)
  private static let endMarker = Array("<|endoftext|>".unicodeScalars).map(\.value)

  static func forEachPiece<Text: RandomAccessCollection>(of text: Text, _ body: (Piece) -> Void)
  where Text.Element: PreTokenizable, Text.Index == Int {
    var i = text.startIndex
    let end = text.endIndex
    while i < end {
      let c = text[i].scalarValue
      if c == 0x3C {  // <
        if hasPrefix(text, i, startMarker) {
          body(.startOfText)
          i += startMarker.count
          continue
        }
        if hasPrefix(text, i, endMarker) {
          body(.endOfText)
          i += endMarker.count
          continue
        }
      }
      if c == 0x27, let length = contractionLength(text, i) {  // '
        body(.text(i..<(i + length)))
        i += length
        continue
      }
      let kind = text[i].tokenizerKind
      switch kind {
      case .space:
        i += 1
      case .number:
        body(.text(i..<(i + 1)))
        i += 1
      case .letter, .other:
        var runEnd = i + 1
        while runEnd < end && text[runEnd].tokenizerKind == kind { runEnd += 1 }
        body(.text(i..<runEnd))
        i = runEnd
      }
    }
  }

  private static func hasPrefix<Text: RandomAccessCollection>(_ text: Text, _ start: Int, _ marker: [UInt32]) -> Bool
  where Text.Element: PreTokenizable, Text.Index == Int {
    guard start + marker.count <= text.endIndex else { return false }
    for (offset, c) in marker.enumerated() where text[start + offset].scalarValue != c { return false }
    return true
  }

  /// `'s|'t|'re|'ve|'m|'ll|'d` at `start`, case-insensitively (the text is lower-case already; `ſ` folds to
  /// `s`).
  private static func contractionLength<Text: RandomAccessCollection>(_ text: Text, _ start: Int) -> Int?
  where Text.Element: PreTokenizable, Text.Index == Int {
    guard start + 1 < text.endIndex else { return nil }
    let next = text[start + 1].scalarValue
    switch next {
    case 0x73, 0x74, 0x6D, 0x64, 0x17F: return 2  // s t m d ſ
    default: break
    }
    guard start + 2 < text.endIndex else { return nil }
    switch (next, text[start + 2].scalarValue) {
    case (0x72, 0x65), (0x76, 0x65), (0x6C, 0x6C): return 3  // re ve ll
    default: return nil
    }
  }

  /// The class of an ASCII character.
  static func asciiKind(_ value: UInt32) -> Kind {
    switch value {
    case 0x41...0x5A, 0x61...0x7A: return .letter
    case 0x30...0x39: return .number
    case 0x09...0x0D, 0x20: return .space
    default: return .other
    }
  }
}

/// A character of cleaned text: a Unicode scalar, or a byte of ASCII text.
protocol PreTokenizable {
  var scalarValue: UInt32 { get }
  /// `\p{L}`, `\p{N}`, `\s` (White_Space) or anything else.
  var tokenizerKind: PreTokenizer.Kind { get }
}

extension UInt8: PreTokenizable {
  var scalarValue: UInt32 { UInt32(self) }
  var tokenizerKind: PreTokenizer.Kind { PreTokenizer.asciiKind(UInt32(self)) }
}

extension Unicode.Scalar: PreTokenizable {
  var scalarValue: UInt32 { value }
  var tokenizerKind: PreTokenizer.Kind {
    if value < 0x80 { return PreTokenizer.asciiKind(value) }
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return properties.isWhitespace ? .space : .other
    }
  }
}
