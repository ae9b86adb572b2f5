import CZlib
import Foundation
import VPTestSupport
import VPText
import XCTest

/// `Fixtures/tokenizer.json`, written by `Reference/make_tokenizer_fixture.py` from OpenAI's tokenizer.
struct TokenizerFixture: Decodable {
  struct Case: Decodable {
    var group: String
    var text: String
    var ids: [Int]
    var ftfy_unchanged: Bool
  }
  struct Mojibake: Decodable {
    var text: String
    var ids: [Int]
    var ids_without_mojibake_repair: [Int]
  }
  struct Row: Decodable {
    var text: String
    var context_length: Int
    var truncate: Bool
    var row: [Int]
  }
  struct TooLong: Decodable {
    var text: String
    var context_length: Int
    var token_count: Int
  }
  struct Decoded: Decodable {
    var ids: [Int]
    var text: String
  }
  struct Vocabulary: Decodable {
    var size: Int
  }
  var vocabulary: Vocabulary
  var cases: [Case]
  var mojibake: [Mojibake]
  var tokenize: [Row]
  var too_long: [TooLong]
  var decode: [Decoded]

  static func load() throws -> TokenizerFixture {
    try loadFixture("tokenizer", as: TokenizerFixture.self, in: .module)
  }
}

/// The real vocabulary, read once; a missing one fails the test (see `TestAssets`).
enum InstalledTokenizer {
  private static let result = Result { try CLIPTokenizer(vocabularyPath: TestAssets.path(CLIPTokenizer.assetPath)) }
  static func get() throws -> CLIPTokenizer { try result.get() }
}

final class CLIPTokenizerTests: XCTestCase {
  func testVocabularyHas49408EntriesWithTheSpecialTokensLast() throws {
    let tokenizer = try InstalledTokenizer.get()
    XCTAssertEqual(tokenizer.vocabularySize, 49_408)
    XCTAssertEqual(try TokenizerFixture.load().vocabulary.size, 49_408)
    XCTAssertEqual(CLIPTokenizer.startOfText, 49_406)
    XCTAssertEqual(CLIPTokenizer.endOfText, 49_407)
    XCTAssertEqual(
      tokenizer.decode([CLIPTokenizer.startOfText, CLIPTokenizer.endOfText]), "<|startoftext|><|endoftext|>")
    // The first byte character (`!`), the last (U+0143 for byte 0xAD, alone not UTF-8), `!</w>`.
    XCTAssertEqual(tokenizer.decode([0, 255, 256]), "!\u{FFFD}! ")
  }

  func testEveryFixtureStringEncodesToTheReferenceIDs() throws {
    let tokenizer = try InstalledTokenizer.get()
    let fixture = try TokenizerFixture.load()
    XCTAssertGreaterThan(fixture.cases.count, 1300)
    var mismatches = [String]()
    for item in fixture.cases {
      let ids = tokenizer.encode(item.text)
      if ids != item.ids {
        mismatches.append("[\(item.group)] \(item.text.debugDescription): expected \(item.ids), got \(ids)")
      }
    }
    XCTAssert(
      mismatches.isEmpty,
      "\(mismatches.count) of \(fixture.cases.count) differ:\n" + mismatches.prefix(20).joined(separator: "\n"))
    // Every group is there: the class names of every data set, the templates, and the edge cases.
    let groups = Set(fixture.cases.map(\.group))
    for group in [
      "fashion-mnist", "digits", "animal-mnist", "cifar10", "imagenet", "template", "filled", "edge", "entities",
    ] {
      XCTAssert(groups.contains(group), group)
    }
    XCTAssertEqual(fixture.cases.filter { $0.group == "imagenet" }.count, 1000)
  }

  /// ftfy's mojibake repair is not reproduced: the class names and prompts vpbook tokenizes never need it,
  /// and mojibake is tokenized as written.
  func testOrdinaryTextNeedsNoMojibakeRepair() throws {
    let tokenizer = try InstalledTokenizer.get()
    let fixture = try TokenizerFixture.load()
    let ordinary = fixture.cases.filter { $0.group != "edge" && $0.group != "entities" }
    XCTAssertGreaterThan(ordinary.count, 1200)
    for item in ordinary {
      XCTAssert(item.ftfy_unchanged, "ftfy changes \(item.text.debugDescription)")
    }
    for item in fixture.mojibake {
      let ids = tokenizer.encode(item.text)
      XCTAssertEqual(ids, item.ids_without_mojibake_repair, item.text)
      XCTAssertNotEqual(ids, item.ids, item.text)
    }
  }

  func testTokenizeAddsStartAndEndTokensAndPadsWithZeros() throws {
    let tokenizer = try InstalledTokenizer.get()
    for row in try TokenizerFixture.load().tokenize {
      let tokens = try tokenizer.tokenize(row.text, contextLength: row.context_length, truncate: row.truncate)
      XCTAssertEqual(tokens, row.row, row.text)
    }
    let tokens = try tokenizer.tokenize("a photo of a dog.")
    XCTAssertEqual(tokens.count, 77)
    XCTAssertEqual(tokens.first, 49_406)
    XCTAssertEqual(Array(tokens[1...7]), tokenizer.encode("a photo of a dog.") + [49_407])
    XCTAssert(tokens[8...].allSatisfy { $0 == 0 })
    XCTAssertEqual(try tokenizer.tokenize(""), [49_406, 49_407] + [Int](repeating: 0, count: 75))
  }

  func testTooLongTextThrowsNamingItsLengthOrIsTruncatedWithTheEndTokenLast() throws {
    let tokenizer = try InstalledTokenizer.get()
    for item in try TokenizerFixture.load().too_long {
      XCTAssertThrowsError(try tokenizer.tokenize(item.text, contextLength: item.context_length)) { error in
        guard let error = error as? ContextLengthError else { return XCTFail("\(error)") }
        XCTAssertEqual(error.tokenCount, item.token_count)
        XCTAssertEqual(error.contextLength, item.context_length)
        XCTAssert("\(error)".contains("\(item.token_count) tokens"), "\(error)")
        XCTAssert("\(error)".contains("context length \(item.context_length)"), "\(error)")
      }
      let cut = try tokenizer.tokenize(item.text, contextLength: item.context_length, truncate: true)
      XCTAssertEqual(cut.count, item.context_length)
      XCTAssertEqual(cut.last, CLIPTokenizer.endOfText)
      XCTAssertEqual(
        Array(cut.dropLast()), Array(([49_406] + tokenizer.encode(item.text)).prefix(item.context_length - 1)))
    }
    // Exactly full: 75 tokens of text fit.
    let seventyFive = Array(repeating: "a", count: 75).joined(separator: " ")
    XCTAssertEqual(tokenizer.encode(seventyFive).count, 75)
    XCTAssertEqual(try tokenizer.tokenize(seventyFive).last, CLIPTokenizer.endOfText)
    XCTAssertThrowsError(try tokenizer.tokenize(seventyFive + " a"))
    XCTAssertThrowsError(try tokenizer.tokenize("a", contextLength: 1, truncate: true))
  }

  func testDecodeIsTheReferencesAndInvertsEncodeForOrdinaryText() throws {
    let tokenizer = try InstalledTokenizer.get()
    let fixture = try TokenizerFixture.load()
    for item in fixture.decode {
      XCTAssertEqual(tokenizer.decode(item.ids), item.text)
    }
    XCTAssertEqual(tokenizer.decode(tokenizer.encode("A photo of a dog.")), "a photo of a dog . ")
    // Round trip up to case and spacing, for every class name and prompt in the fixture.
    func squeezed(_ s: String) -> String { s.lowercased().filter { !$0.isWhitespace } }
    for item in fixture.cases
    where ["imagenet", "template", "filled", "fashion-mnist", "animal-mnist"].contains(item.group) {
      XCTAssertEqual(squeezed(tokenizer.decode(tokenizer.encode(item.text))), squeezed(item.text), item.text)
    }
    XCTAssertEqual(tokenizer.decode([-1, 49_408]), "\u{FFFD}\u{FFFD}")
  }

  func testCopiesEncodeConcurrentlyLikeOneThread() throws {
    let tokenizer = try InstalledTokenizer.get()
    let texts = try TokenizerFixture.load().cases.map(\.text)
    let serial = texts.map { tokenizer.encode($0) }
    let results = LockedResults(count: texts.count)
    let shared = try CLIPTokenizer(vocabularyPath: TestAssets.path(CLIPTokenizer.assetPath))  // empty cache
    DispatchQueue.concurrentPerform(iterations: texts.count) { i in results.set(i, shared.encode(texts[i])) }
    XCTAssertEqual(results.values, serial)
  }

  /// 81 templates × 1000 ImageNet class names, as ILM-VP's CLIP text side needs them. Prints the time; asserts
  /// only the count.
  func testTokenizingEveryTemplateAndImageNetClassPrintsItsSpeed() throws {
    let fixture = try TokenizerFixture.load()
    let templates = ["This is a photo of a {}."] + fixture.cases.filter { $0.group == "template" }.map(\.text)
    let names = fixture.cases.filter { $0.group == "imagenet" }.map(\.text)
    XCTAssertEqual(templates.count, 81)
    let texts = templates.flatMap { template in
      names.map { template.replacingOccurrences(of: "{}", with: $0) }
    }
    let tokenizer = try CLIPTokenizer(vocabularyPath: TestAssets.path(CLIPTokenizer.assetPath))  // cold cache
    let start = Date()
    var count = 0
    for text in texts { count += try tokenizer.tokenize(text).count }
    let seconds = Date().timeIntervalSince(start)
    XCTAssertEqual(count, 81 * 1000 * 77)
    print(String(format: "tokenized %d texts in %.3f s (%.0f texts/s)", 81_000, seconds, 81_000 / seconds))
  }
}

/// Results written from several threads.
private final class LockedResults: @unchecked Sendable {
  private let lock = NSLock()
  private var storage: [[Int]]
  init(count: Int) { storage = Array(repeating: [], count: count) }
  func set(_ index: Int, _ value: [Int]) { lock.withLock { storage[index] = value } }
  var values: [[Int]] { lock.withLock { storage } }
}

final class VocabularyFileTests: XCTestCase {
  private var folder = ""

  override func setUpWithError() throws {
    folder = NSTemporaryDirectory() + "vptext-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: folder)
  }

  /// The real vocabulary's text (inflated).
  private func realText() throws -> String {
    let path = try TestAssets.path(CLIPTokenizer.assetPath)
    guard let file = gzopen(path, "rb") else { throw TestAssets.Missing(description: "cannot open \(path)") }
    defer { gzclose_r(file) }
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
      guard count > 0 else { break }
      bytes += chunk[0..<Int(count)]
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  private func writeGzip(_ text: String, _ name: String) throws -> String {
    let path = folder + "/" + name
    guard let file = gzopen(path, "wb") else { throw TestAssets.Missing(description: "cannot write \(path)") }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
    XCTAssertEqual(Int(written), bytes.count)
    XCTAssertEqual(gzclose_w(file), Z_OK)
    return path
  }

  private func assertVocabularyError(
    _ path: String, atLine line: Int? = nil, containing words: String, file: StaticString = #filePath,
    line testLine: UInt = #line
  ) {
    XCTAssertThrowsError(try CLIPTokenizer(vocabularyPath: path), file: file, line: testLine) { error in
      guard let error = error as? VocabularyError else { return XCTFail("\(error)", file: file, line: testLine) }
      XCTAssertEqual(error.file, path, file: file, line: testLine)
      XCTAssertEqual(error.line, line, "\(error)", file: file, line: testLine)
      XCTAssert("\(error)".hasPrefix(path), "\(error)", file: file, line: testLine)
      XCTAssert(error.message.contains(words), "\(error)", file: file, line: testLine)
    }
  }

  func testTheRealFileRewrittenReadsTheSame() throws {
    let path = try writeGzip(try realText(), "copy.txt.gz")
    let copy = try CLIPTokenizer(vocabularyPath: path)
    let real = try InstalledTokenizer.get()
    XCTAssertEqual(copy.vocabularySize, 49_408)
    XCTAssertEqual(
      copy.encode("a photo of a tench, a type of fish."), real.encode("a photo of a tench, a type of fish."))
  }

  func testTruncatedGzipNamesTheFile() throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: TestAssets.path(CLIPTokenizer.assetPath)))
    let path = folder + "/truncated.txt.gz"
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
    assertVocabularyError(path, containing: "truncated")
    let corrupt = folder + "/corrupt.txt.gz"
    var damaged = bytes
    for i in stride(from: 1000, to: 1100, by: 1) { damaged[i] ^= 0x5A }
    try damaged.write(to: URL(fileURLWithPath: corrupt))
    assertVocabularyError(corrupt, containing: "gzip")
  }

  func testMissingAndUncompressedFilesNameTheFile() throws {
    assertVocabularyError(folder + "/absent.txt.gz", containing: "cannot open")
    let plain = folder + "/plain.txt"
    try realText().write(toFile: plain, atomically: false, encoding: .utf8)
    assertVocabularyError(plain, containing: "not a gzip file")
    assertVocabularyError(try writeGzip("", "empty.txt.gz"), containing: "empty")
  }

  func testWrongMergeLinesNameTheFileAndLine() throws {
    var lines = try realText().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let original = lines[999]
    lines[999] = "i n t"
    assertVocabularyError(
      try writeGzip(lines.joined(separator: "\n"), "three.txt.gz"), atLine: 1000, containing: "two symbols")
    lines[999] = "int"
    assertVocabularyError(
      try writeGzip(lines.joined(separator: "\n"), "one.txt.gz"), atLine: 1000, containing: "two symbols")
    lines[999] = "qqzzqq xx"
    assertVocabularyError(
      try writeGzip(lines.joined(separator: "\n"), "unknown.txt.gz"), atLine: 1000, containing: "not a symbol")
    lines[999] = "a\u{263A} b"
    assertVocabularyError(
      try writeGzip(lines.joined(separator: "\n"), "alien.txt.gz"), atLine: 1000, containing: "U+263A")
    lines[999] = original
    let short = lines.prefix(30_000).joined(separator: "\n")
    assertVocabularyError(try writeGzip(short, "short.txt.gz"), containing: "29999 merge lines")
  }
}
