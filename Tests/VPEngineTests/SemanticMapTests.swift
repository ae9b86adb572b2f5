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
}
