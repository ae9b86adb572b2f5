import Foundation
import VPAssets

/// CLIP's byte-pair tokenizer: OpenAI's `SimpleTokenizer` (`clip/simple_tokenizer.py`) and `clip.tokenize`,
/// on the vocabulary that ships with them (`bpe_simple_vocab_16e6.txt.gz`, 49,408 entries).
///
/// `encode` cleans the text (``TextCleaning``: the parts of ftfy that change ordinary text, HTML entities
/// twice, whitespace collapsed, lower case), splits it into words, contractions, single digits and runs of
/// punctuation, maps each piece's UTF-8 bytes to the byte alphabet and merges them by rank, `</w>` marking
/// the end of each piece.
///
/// ```swift
/// let tokenizer = try CLIPTokenizer()                       // the installed vocabulary
/// tokenizer.encode("a photo of a dog.")                     // [320, 1125, 539, 320, 1929, 269]
/// try tokenizer.tokenize("a photo of a dog.")               // [49406, 320, …, 269, 49407, 0, …] (77)
/// ```
public struct CLIPTokenizer: Sendable {
  /// Where `scripts/setup.sh` puts the vocabulary, under the asset folder.
  public static let assetPath = "text/bpe_simple_vocab_16e6.txt.gz"
  /// `<|startoftext|>`.
  public static let startOfText = BPEVocabulary.startOfText
  /// `<|endoftext|>`.
  public static let endOfText = BPEVocabulary.endOfText

  private let vocabulary: BPEVocabulary
  private let cache = PieceCache()

  /// Reads the gzip'd merges file at `vocabularyPath`; a missing, truncated or damaged file throws a
  /// ``VocabularyError`` naming it (and the line, for a bad merge line).
  public init(vocabularyPath: String) throws {
    vocabulary = try BPEVocabulary(path: vocabularyPath)
  }

  /// Reads the vocabulary that `scripts/setup.sh` installed (``assetPath`` under `VPAssets.Assets`).
  public init() throws {
    try self.init(vocabularyPath: try Assets.path(Self.assetPath))
  }

  /// The number of entries: 49,408.
  public var vocabularySize: Int { vocabulary.symbolBytes.count }

  /// The token ids of `text`, without start and end tokens (the reference's `encode`).
  public func encode(_ text: String) -> [Int] {
    var ids = [Int]()
    encode(text, appendingTo: &ids)
    return ids
  }

  /// `clip.tokenize` for one text: `[49406] + encode(text) + [49407]`, zero-padded to `contextLength`.
  ///
  /// A text that needs more than `contextLength` tokens throws ``ContextLengthError`` (its token count), or,
  /// with `truncate`, is cut to `contextLength` tokens whose last is replaced by the end token.
  public func tokenize(_ text: String, contextLength: Int = 77, truncate: Bool = false) throws -> [Int] {
    var tokens = [Int]()
    tokens.reserveCapacity(max(contextLength, 2))
    tokens.append(Self.startOfText)
    encode(text, appendingTo: &tokens)
    tokens.append(Self.endOfText)
    guard contextLength >= 2 else {
      throw ContextLengthError(tokenCount: tokens.count, contextLength: contextLength, text: text)
    }
    if tokens.count > contextLength {
      guard truncate else {
        throw ContextLengthError(tokenCount: tokens.count, contextLength: contextLength, text: text)
      }
      tokens.removeLast(tokens.count - contextLength)
      tokens[contextLength - 1] = Self.endOfText
    }
    tokens.append(contentsOf: repeatElement(0, count: contextLength - tokens.count))
    return tokens
  }

  /// Appends the ids of `text` to `ids`. Plain ASCII text (no `&`, no controls) is cleaned and split as bytes;
  /// anything else goes through ``TextCleaning/clean(_:)`` as Unicode scalars.
  private func encode(_ text: String, appendingTo ids: inout [Int]) {
    var text = text
    let plain = text.withUTF8 { utf8 -> [UInt8]? in
      TextCleaning.isPlainASCII(utf8) ? TextCleaning.cleanPlainASCII(utf8) : nil
    }
    if let plain {
      PreTokenizer.forEachPiece(of: plain) { piece in
        switch piece {
        case .startOfText: ids.append(Self.startOfText)
        case .endOfText: ids.append(Self.endOfText)
        case .text(let range): appendASCIIPiece(plain[range], to: &ids)
        }
      }
      return
    }
    let cleaned = TextCleaning.clean(text)
    PreTokenizer.forEachPiece(of: cleaned) { piece in
      switch piece {
      case .startOfText: ids.append(Self.startOfText)
      case .endOfText: ids.append(Self.endOfText)
      case .text(let range):
        var bytes = [UInt8]()
        for scalar in cleaned[range] { bytes += UTF8.encode(scalar)! }
        if bytes.allSatisfy({ $0 < 0x80 }) {
          appendASCIIPiece(bytes[...], to: &ids)
        } else {
          ids += mergedEntries(bytes[...])
        }
      }
    }
  }

  /// An ASCII piece's entries, through the cache.
  private func appendASCIIPiece(_ bytes: ArraySlice<UInt8>, to ids: inout [Int]) {
    let key = String(decoding: bytes, as: UTF8.self)
    if let cached = cache[key] {
      ids += cached
      return
    }
    let entries = mergedEntries(bytes)
    cache[key] = entries
    ids += entries
  }

  /// The text of `ids` (the reference's `decode`): the entries' bytes as UTF-8 (invalid sequences become
  /// U+FFFD), each `</w>` a space. Ids outside the vocabulary become U+FFFD (the reference fails on them).
  public func decode(_ ids: [Int]) -> String {
    var bytes = [UInt8]()
    for id in ids {
      if id >= 0 && id < vocabulary.symbolBytes.count {
        bytes += vocabulary.symbolBytes[id]
      } else {
        bytes += [0xEF, 0xBF, 0xBD]
      }
    }
    return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "</w>", with: " ")
  }

  // MARK: - Byte-pair merging

  /// The entries of one piece: its bytes as entries (the last with `</w>`), then, while some adjacent pair
  /// is a merge, every occurrence (left to right) of the lowest-ranked one merged.
  func mergedEntries(_ bytes: ArraySlice<UInt8>) -> [Int] {
    var word = [Int32]()
    word.reserveCapacity(bytes.count)
    for byte in bytes.dropLast() { word.append(vocabulary.byteEntry[Int(byte)]) }
    word.append(vocabulary.finalByteEntry[Int(bytes[bytes.endIndex - 1])])
    var merged = [Int32]()
    merged.reserveCapacity(word.count)
    while word.count > 1 {
      var best: (rank: Int32, merged: Int32)?
      var first: Int32 = 0
      var second: Int32 = 0
      for i in 0..<(word.count - 1) {
        if let merge = vocabulary.merges[BPEVocabulary.key(word[i], word[i + 1])],
          best == nil || merge.rank < best!.rank
        {
          best = merge
          first = word[i]
          second = word[i + 1]
        }
      }
      guard let best else { break }
      merged.removeAll(keepingCapacity: true)
      var i = 0
      while i < word.count {
        if i + 1 < word.count && word[i] == first && word[i + 1] == second {
          merged.append(best.merged)
          i += 2
        } else {
          merged.append(word[i])
          i += 1
        }
      }
      swap(&word, &merged)
    }
    return word.map(Int.init)
  }
}

/// The merged entries of the ASCII pieces seen so far, shared by copies of a tokenizer (the reference's
/// `cache`; pieces with other characters, rare in prompts, are merged each time). Bounded: emptied when it
/// reaches 100,000 pieces.
final class PieceCache: @unchecked Sendable {
  private let lock = NSLock()
  private var entries = [String: [Int]]()
  private static let capacity = 100_000

  subscript(piece: String) -> [Int]? {
    get { lock.withLock { entries[piece] } }
    set {
      lock.withLock {
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[piece] = newValue
      }
    }
  }
}
