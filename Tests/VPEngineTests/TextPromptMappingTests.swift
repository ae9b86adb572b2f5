import VPData
import VPEngine
import VPModels
import XCTest

/// ILM-VP's text-prompt mapping on hand-made frequency matrices: the sources are the 81 prompts of every target
/// class (`CLIPPrompts.candidates`, class-major), and ILM gives each class one of them, one-to-one, every epoch.
final class TextPromptMappingTests: XCTestCase {
  let classes = ["cat", "dog", "fish"]

  /// The frequency matrix with `count` at (prompt `t` of class `k`, target `target`) for each entry.
  private func counts(_ entries: [(k: Int, t: Int, target: Int, count: Double)]) -> FrequencyMatrix {
    var d = FrequencyMatrix(sources: 81 * classes.count, targets: classes.count)
    for e in entries { d.counts[(81 * e.k + e.t) * classes.count + e.target] = e.count }
    return d
  }

  private func mapping(_ assignment: AssignmentMethod = .greedy) throws -> LabelMapping {
    var config = MappingConfig(.ilm)
    config.assignment = assignment
    return try LabelMapping(config, sources: 81 * classes.count, targets: classes.count, seed: 1)
  }

  private func prompts(_ m: LabelMapping) -> [String] {
    let names = CLIPPrompts.candidates(classNames: classes)
    return m.sourceMap!.map { names[$0[0]] }
  }

  func testTheCandidatesAreEveryTemplateWithEveryClassNameClassMajor() {
    let names = CLIPPrompts.candidates(classNames: ["Great_White-shark", "cat"])
    XCTAssertEqual(names.count, 162)
    XCTAssertEqual(names[0], "This is a photo of a great white shark.")
    XCTAssertEqual(names[81], "This is a photo of a cat.")
    XCTAssertEqual(Set(names[81..<162]).count, 81, "81 different prompts per class")
  }

  /// A class whose best prompt is already taken gets its next best; a class may end with a prompt of another
  /// class's name; and the greedy rule's global maximum goes first.
  func testAClassWhoseBestPromptIsTakenGetsItsNextBest() throws {
    let m = try mapping()
    let d = counts([
      (0, 5, 0, 9),  // cat images → "… cat" template 5 (the global maximum)
      (0, 5, 1, 8),  // dog images also prefer it, but it is taken
      (1, 2, 1, 6),  // … so dog gets its next best
      (1, 7, 2, 4),  // fish images prefer a *dog* prompt
      (2, 0, 2, 3),
    ])
    m.update(from: d)
    XCTAssertEqual(m.sourceMap!.map { $0[0] }, [5, 81 + 2, 81 + 7])
    XCTAssertEqual(prompts(m)[2], CLIPPrompts.prompt(CLIPPrompts.ensemble[7], className: "dog"))
  }

  /// Ties between prompts go to the lower source index (the first template, the first class).
  func testTiesGoToTheLowerPromptIndex() throws {
    let m = try mapping()
    m.update(from: counts([(0, 3, 0, 5), (0, 1, 0, 5), (1, 4, 1, 2), (2, 9, 2, 2), (2, 8, 2, 2)]))
    XCTAssertEqual(m.sourceMap!.map { $0[0] }, [1, 81 + 4, 162 + 8])
  }

  /// Re-estimated every epoch: a new matrix moves a class to another prompt and reports which classes changed.
  func testRemappingBetweenEpochsMovesAClassToAnotherPrompt() throws {
    let m = try mapping()
    m.update(from: counts([(0, 0, 0, 5), (1, 0, 1, 5), (2, 0, 2, 5)]))
    XCTAssertEqual(m.sourceMap!.map { $0[0] }, [0, 81, 162])
    let changed = m.update(from: counts([(0, 0, 0, 5), (1, 40, 1, 7), (2, 0, 2, 5)]))
    XCTAssertEqual(changed, [1])
    XCTAssertEqual(prompts(m)[1], CLIPPrompts.prompt(CLIPPrompts.ensemble[40], className: "dog"))
  }

  /// The exact (Hungarian) assignment maximises the total where the greedy rule does not.
  func testTheExactAssignmentCanDifferFromTheGreedyOne() throws {
    let d = counts([(0, 0, 0, 10), (0, 0, 1, 9), (1, 0, 0, 8), (1, 1, 1, 1), (2, 0, 2, 1)])
    let greedy = try mapping(.greedy)
    greedy.update(from: d)
    let exact = try mapping(.hungarian)
    exact.update(from: d)
    // Greedy: cat takes prompt 0 (10), dog's best left is 1 → 1 + 1 + 10 = 12; exact: 9 + 8 + 1 = 18.
    XCTAssertEqual(greedy.sourceMap!.map { $0[0] }, [0, 82, 162])
    XCTAssertEqual(exact.sourceMap!.map { $0[0] }, [81, 0, 162])
  }
}
