import CZlib
import Foundation

/// The tables of CLIP's byte-pair vocabulary, read from `bpe_simple_vocab_16e6.txt.gz`.
///
/// The file is a header line, then one merge per line (`a b`: the symbols `a` and `b` become `ab`), most
/// frequent first. Like OpenAI's `SimpleTokenizer`, the tokenizer uses the merges on lines 2 … 48,895 (48,894
/// of them) and numbers the vocabulary: the 256 byte characters (``ByteAlphabet``), the same with `</w>`
/// (end of word), one symbol per merge, `<|startoftext|>` and `<|endoftext|>` — 49,408 entries.
final class BPEVocabulary: Sendable {
  /// 49,152 − 256 − 2: the merges the reference uses.
  static let mergeCount = 48_894
  static let size = 256 + 256 + mergeCount + 2
  static let startOfText = size - 2
  static let endOfText = size - 1

  /// Each entry's bytes (its characters through ``ByteAlphabet``; `</w>` is kept as its four ASCII bytes).
  let symbolBytes: [[UInt8]]
  /// A merge's rank (lower merges first) and the entry of the merged symbol, by pair of entries.
  let merges: [UInt64: (rank: Int32, merged: Int32)]
  /// The entry of each byte inside a word and at its end (with `</w>`).
  let byteEntry: [Int32]
  let finalByteEntry: [Int32]

  static func key(_ first: Int32, _ second: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: first)) << 32 | UInt64(UInt32(bitPattern: second))
  }

  init(path: String) throws(VocabularyError) {
    let bytes = try Self.readGzip(path)
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw VocabularyError(file: path, "the vocabulary is not valid UTF-8 text")
    }
    // Python's split('\n'): the lines between LF bytes.
    var lineStarts = [0]
    for (offset, byte) in bytes.enumerated() where byte == 0x0A { lineStarts.append(offset + 1) }
    let lineCount = lineStarts.count
    guard lineCount > Self.mergeCount else {
      throw VocabularyError(
        file: path,
        "the vocabulary has \(lineCount - 1) merge lines after its header; \(Self.mergeCount) are needed")
    }

    // Each symbol by its text (UTF-8 of the byte characters, as the reference's dictionary keys) and by its
    // bytes, in vocabulary order.
    var keys = [[UInt8]]()
    var decoded = [[UInt8]]()
    keys.reserveCapacity(Self.size)
    decoded.reserveCapacity(Self.size)
    for suffix in [[], Array("</w>".utf8)] as [[UInt8]] {
      for byte in ByteAlphabet.bytesInVocabularyOrder {
        keys.append(Array(String(ByteAlphabet.characterOfByte[Int(byte)]).utf8) + suffix)
        decoded.append([byte] + suffix)
      }
    }
    var pairs = [(first: [UInt8], second: [UInt8])]()
    pairs.reserveCapacity(Self.mergeCount)
    for lineIndex in 1...Self.mergeCount {
      let lineEnd = lineIndex + 1 < lineCount ? lineStarts[lineIndex + 1] - 1 : bytes.count
      let line = bytes[lineStarts[lineIndex]..<lineEnd]
      let parts = line.split(whereSeparator: Self.isASCIISpace)
      guard parts.count == 2 else {
        let found = String(decoding: line.prefix(60), as: UTF8.self)
        throw VocabularyError(
          file: path, line: lineIndex + 1, "expected two symbols separated by a space, found \"\(found)\"")
      }
      var partBytes = [UInt8]()
      for part in parts {
        var i = part.startIndex
        while i < part.endIndex {
          // The byte characters are U+0021…U+0143: one or two UTF-8 bytes.
          var scalar = UInt32(part[i])
          var length = 1
          if part[i] >= 0xC0, i + 1 < part.endIndex, part[i + 1] & 0xC0 == 0x80 {
            scalar = UInt32(part[i] & 0x1F) << 6 | UInt32(part[i + 1] & 0x3F)
            length = 2
          }
          guard part[i] < 0x80 || length == 2, let byte = ByteAlphabet.byte(of: Unicode.Scalar(scalar)!) else {
            let symbol = String(decoding: part, as: UTF8.self)
            let bad = String(decoding: part[i...], as: UTF8.self).unicodeScalars.first!.value
            throw VocabularyError(
              file: path, line: lineIndex + 1,
              "symbol \"\(symbol)\" has U+\(String(bad, radix: 16, uppercase: true)), which stands for no byte")
          }
          partBytes.append(byte)
          i += length
        }
      }
      pairs.append((Array(parts[0]), Array(parts[1])))
      keys.append(Array(parts[0]) + Array(parts[1]))
      decoded.append(partBytes)
    }
    for special in ["<|startoftext|>", "<|endoftext|>"] {
      keys.append(Array(special.utf8))
      decoded.append(Array(special.utf8))
    }

    // The entry of each symbol: the last one when a symbol repeats, as Python's dict(zip(vocab, …)) keeps it.
    var entry = [SymbolKey: Int32](minimumCapacity: keys.count)
    for (index, key) in keys.enumerated() { entry[SymbolKey(key)] = Int32(index) }
    var merges = [UInt64: (rank: Int32, merged: Int32)](minimumCapacity: pairs.count)
    for (rank, pair) in pairs.enumerated() {
      guard let a = entry[SymbolKey(pair.first)], let b = entry[SymbolKey(pair.second)] else {
        let unknown = String(decoding: entry[SymbolKey(pair.first)] == nil ? pair.first : pair.second, as: UTF8.self)
        throw VocabularyError(
          file: path, line: rank + 2, "\"\(unknown)\" is not a symbol of the vocabulary (a damaged merge line)")
      }
      merges[Self.key(a, b)] = (Int32(rank), entry[SymbolKey(pair.first + pair.second)]!)
    }
    self.merges = merges
    self.symbolBytes = decoded
    self.byteEntry = (0..<256).map { byte in entry[SymbolKey(keys[Self.alphabetIndex[byte]])]! }
    self.finalByteEntry = (0..<256).map { byte in entry[SymbolKey(keys[256 + Self.alphabetIndex[byte]])]! }
  }

  /// Python's `str.split()` separators among ASCII: tab, LF, VT, FF, CR, U+001C…U+001F and space.
  private static func isASCIISpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte)
  }

  /// The vocabulary index (0..<256) of each byte's character.
  private static let alphabetIndex: [Int] = {
    var index = [Int](repeating: 0, count: 256)
    for (position, byte) in ByteAlphabet.bytesInVocabularyOrder.enumerated() { index[Int(byte)] = position }
    return index
  }()

  /// The inflated contents of the gzip file at `path`; a missing, unreadable, non-gzip, truncated or corrupt
  /// file throws, naming it.
  static func readGzip(_ path: String) throws(VocabularyError) -> [UInt8] {
    guard let file = gzopen(path, "rb") else {
      let reason = errno == 0 ? "out of memory" : String(cString: strerror(errno))
      throw VocabularyError(file: path, "cannot open the vocabulary: \(reason)")
    }
    var output = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var failure: String?
    while true {
      let count = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
      if count < 0 {
        failure = gzipProblem(file)
        break
      }
      if count == 0 { break }
      if gzdirect(file) != 0 {
        failure = "not a gzip file (the vocabulary is bpe_simple_vocab_16e6.txt.gz, compressed)"
        break
      }
      output += chunk[0..<Int(count)]
    }
    if failure == nil {
      var code: Int32 = Z_OK
      gzerror(file, &code)
      if code != Z_OK { failure = gzipProblem(file) }
    }
    let closed = gzclose_r(file)
    if let failure { throw VocabularyError(file: path, failure) }
    if closed == Z_BUF_ERROR { throw VocabularyError(file: path, "truncated gzip data (unexpected end of file)") }
    if closed != Z_OK { throw VocabularyError(file: path, "cannot read the gzip data (zlib error \(closed))") }
    if output.isEmpty { throw VocabularyError(file: path, "the vocabulary is empty") }
    return output
  }

  private static func gzipProblem(_ file: gzFile) -> String {
    var code: Int32 = Z_OK
    let message = gzerror(file, &code).map { String(cString: $0) } ?? "zlib error \(code)"
    switch code {
    case Z_BUF_ERROR: return "truncated gzip data (\(message))"
    case Z_ERRNO: return "cannot read the file: \(String(cString: strerror(errno)))"
    default: return "corrupt gzip data: \(message)"
    }
  }
}

/// A symbol's text (UTF-8) as a dictionary key, hashed in one call rather than byte by byte.
private struct SymbolKey: Hashable {
  var bytes: [UInt8]
  init(_ bytes: [UInt8]) { self.bytes = bytes }
  func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}
