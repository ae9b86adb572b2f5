import VPEngine
import VPModels
import XCTest

/// SemanticMap without CLIP: WordNet (Debian's wordnet-base) Wu–Palmer similarity between target class names
/// and the ImageNet synsets, assigned round-robin.
final class SemanticMapTests: XCTestCase {
  static let wordNet: WordNet? = try? WordNet()

  func wordNet() throws -> WordNet {
    guard let w = Self.wordNet else {
      XCTFail("WordNet database missing: install Debian's wordnet-base (make setup does)")
      throw EngineError("no WordNet")
    }
    return w
  }

  func testWuPalmerPrefersTheRightImageNetClasses() throws {
    let wn = try wordNet()
    let synsets = try ImageNetClasses.wordNetSynsets()
    let names = try ImageNetClasses.names()
    // Hand-checked: "cat" (its first sense, the feline) is closer to class 285 "Egyptian cat" than to class
    // 504 "coffee mug"; "dog" is closer to 207 "golden retriever" than to 285.
    let cat = wn.synsets(forClassName: "cat")
    XCTAssertFalse(cat.isEmpty)
    XCTAssertGreaterThan(wn.similarity(cat[0], synsets[285]), wn.similarity(cat[0], synsets[504]))
    let dog = wn.synsets(forClassName: "dog")
    XCTAssertGreaterThan(wn.similarity(dog[0], synsets[207]), wn.similarity(dog[0], synsets[285]))
    XCTAssertEqual(wn.similarity(synsets[285], synsets[285]), 1)
    // Lemma lookup of data-set class names.
    XCTAssertFalse(wn.synsets(forClassName: "Ankle boot").isEmpty)
    XCTAssertFalse(wn.synsets(forClassName: "T-shirt/top").isEmpty)
    XCTAssertFalse(wn.synsets(forClassName: "animal:zebra").isEmpty)
    XCTAssertFalse(wn.synsets(forClassName: "7").isEmpty, "digits are looked up as number words")
    // Animal-MNIST's zebra maps to ImageNet's zebra (class 340).
    let sim = SemanticSimilarity.matrix(targetNames: ["zebra"], imageNetSynsets: synsets, wordNet: wn)
    let best = sim.indices.max { sim[$0] < sim[$1] }!
    XCTAssertEqual(names[best], "zebra")
  }

  func testRoundRobinGivesEachTargetDistinctSources() {
    // 4 sources × 2 targets, sim[s·K + t]: both targets prefer source 0; target 0 goes first and takes it.
    let sim: [Double] = [0.9, 0.8, 0.1, 0.7, 0.5, 0.2, 0.3, 0.6]
    XCTAssertEqual(SemanticSimilarity.roundRobin(sim, sources: 4, targets: 2, m: 1), [[0], [1]])
    XCTAssertEqual(SemanticSimilarity.roundRobin(sim, sources: 4, targets: 2, m: 2), [[0, 2], [1, 3]])
  }

  /// SemanticMap with `text=clip`: both sides embedded with "This is a photo of a {name}.", similarity the
  /// cosine, then the same round-robin. A made-up text tower (each text a unit vector chosen by a word in it)
  /// makes the answer checkable by hand.
  func testCLIPTextSimilarityEmbedsBothSidesWithThePhotoTemplate() throws {
    let axes = [
      "cat": [1.0, 0, 0], "dog": [0, 1.0, 0], "car": [0, 0, 1.0], "tabby": [0.8, 0.6, 0], "truck": [0, 0.6, 0.8],
    ]
    let seen = SeenTexts()
    let embed: TextEmbedder = { texts in
      seen.append(texts)
      return texts.flatMap { text in
        axes.first { text.contains(" \($0.key).") }.map { $0.value.map(Float.init) } ?? [0.6, 0, 0.8]
      }
    }
    let sim = try SemanticSimilarity.textMatrix(
      targetNames: ["Cat", "car"], sourceNames: ["tabby", "truck", "dog"], embed: embed)
    XCTAssertEqual(
      seen.texts,
      [
        "This is a photo of a cat.", "This is a photo of a car.", "This is a photo of a tabby.",
        "This is a photo of a truck.", "This is a photo of a dog.",
      ])
    // sim[s·K + t]: tabby·cat 0.8, tabby·car 0, truck·cat 0, truck·car 0.8, dog·cat 0, dog·car 0.
    let expected: [Double] = [0.8, 0, 0, 0.8, 0, 0]
    for (a, b) in zip(sim, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    let context = MappingContext(
      targetNames: ["cat", "car"], sourceNames: ["tabby", "truck", "dog"], embedTexts: embed
    ) { throw EngineError("WordNet is not read with text=clip") }
    let mapping = try LabelMapping(
      MappingConfig(.semantic, text: .clip), sources: 3, targets: 2, seed: 0, context: context)
    XCTAssertEqual(mapping.sources, [[0], [1]])
    XCTAssertEqual(mapping.config.label, "semantic/clip")
    XCTAssertEqual(MappingConfig(.semantic, sourcesPerTarget: 2, text: .wordnet).label, "semantic(m=2)")
    XCTAssertNil(MappingConfig(.semantic, text: .wordnet).text, "wordnet is the default, stored as nil")
    // Without a text tower, a clear error.
    XCTAssertThrowsError(
      try LabelMapping(
        MappingConfig(.semantic, text: .clip), sources: 3, targets: 2, seed: 0,
        context: MappingContext(targetNames: ["cat", "car"], sourceNames: ["a", "b", "c"]) { [] })
    ) { XCTAssertTrue("\($0)".contains("text_encoder=PATH"), "\($0)") }
  }
}

/// The texts a made-up text tower was asked for.
private final class SeenTexts: @unchecked Sendable {
  private(set) var texts: [String] = []
  func append(_ more: [String]) { texts += more }
}
