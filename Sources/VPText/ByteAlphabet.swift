/// GPT-2's reversible map from the 256 byte values to printable Unicode characters (`bytes_to_unicode` in
/// OpenAI's `simple_tokenizer.py`).
///
/// The printable bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for themselves; the other 68 bytes (controls, space,
/// U+007F–U+00A0, U+00AD) take the characters U+0100, U+0101, … in byte order. The vocabulary's first 256
/// entries are these characters in that order: the printable bytes first, then the others.
enum ByteAlphabet {
  /// The byte of vocabulary entry `i` (and of entry `256 + i`, the same character with `</w>`).
  static let bytesInVocabularyOrder: [UInt8] = {
    var order = [UInt8]()
    for range in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] { order += range.map { UInt8($0) } }
    for byte in 0...255 where !order.contains(UInt8(byte)) { order.append(UInt8(byte)) }
    return order
  }()

  /// The character that stands for each byte, indexed by byte value.
  static let characterOfByte: [Unicode.Scalar] = {
    var characters = [Unicode.Scalar](repeating: "\0", count: 256)
    var next: UInt32 = 256
    for byte in bytesInVocabularyOrder {
      let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
      if printable {
        characters[Int(byte)] = Unicode.Scalar(byte)
      } else {
        characters[Int(byte)] = Unicode.Scalar(next)!
        next += 1
      }
    }
    return characters
  }()

  /// The byte a character stands for, or nil for a character outside the alphabet.
  static func byte(of character: Unicode.Scalar) -> UInt8? {
    let value = character.value
    if value < 256 {
      let byte = UInt8(value)
      return characterOfByte[Int(byte)] == character ? byte : nil
    }
    guard value < 256 + 68 else { return nil }
    // The non-printable bytes, in byte order, took U+0100, U+0101, …
    return nonPrintableBytes[Int(value - 256)]
  }

  private static let nonPrintableBytes: [UInt8] = Array(bytesInVocabularyOrder[188...])
}
