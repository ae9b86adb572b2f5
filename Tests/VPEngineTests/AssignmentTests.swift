import VPData
import VPEngine
import XCTest

/// Greedy (ILM-VP), Hungarian and m-to-1 assignments on hand-made and random frequency matrices.
final class AssignmentTests: XCTestCase {
  // MARK: - Greedy (ILM-VP's rule)

  /// The rule step by step: global argmax, remove its row and column, repeat K times.
  func testGreedyTakesGlobalArgmaxAndRemovesRowAndColumn() {
    // Global max 9 at (s2, t1); then row 2 and column 1 go: max 7 at (s3, t0); then 5 at (s0, t2).
    let d = matrix([
      [1, 8, 5],
      [4, 0, 2],
      [6, 9, 3],
      [7, 8, 1],
      [0, 0, 0],
    ])
    XCTAssertEqual(Assignment.greedy(d), [3, 2, 0])
    XCTAssertEqual(Assignment.score(d, [3, 2, 0]), 21)
  }

  /// Ties go to the lowest flat index `s·K + t`: lowest source first, then lowest target.
  func testGreedyTieInOneRowTakesLowestTarget() {
    // (s0, t0) and (s0, t1) tie at 3: flat index 0 wins, so s0 → t0, leaving s1 → t1.
    // (Taking flat index 1 instead would give [1, 0].)
    XCTAssertEqual(Assignment.greedy(matrix([[3, 3], [1, 2], [0, 0]])), [0, 1])
  }

  func testGreedyTieInOneColumnTakesLowestSource() {
    // (s0, t0) and (s1, t0) tie at 3: s0 → t0 (flat 0 < flat 2), then column 1: s1 (2) → t1.
    // (Taking s1 first would give [1, 2].)
    XCTAssertEqual(Assignment.greedy(matrix([[3, 0], [3, 2], [0, 1]])), [0, 1])
  }

  func testGreedyAllZeroMatrixMapsTargetsToTheFirstSourcesInOrder() {
    // All ties: flat 0 → s0 → t0, then the lowest remaining flat index is (s1, t1), and so on.
    XCTAssertEqual(Assignment.greedy(FrequencyMatrix(sources: 6, targets: 4)), [0, 1, 2, 3])
  }

  /// Greedy is not optimal; Hungarian is.
  func testGreedyIsSuboptimalWhereHungarianFindsTheOptimum() {
    let d = matrix([[10, 9], [9, 0], [0, 0]])
    let greedy = Assignment.greedy(d)
    XCTAssertEqual(greedy, [0, 1])
    XCTAssertEqual(Assignment.score(d, greedy), 10)
    let optimal = Assignment.hungarian(d)
    XCTAssertEqual(optimal, [1, 0])
    XCTAssertEqual(Assignment.score(d, optimal), 18)
  }

  func testGreedySingleTargetTakesColumnArgmaxLowestOnTie() {
    // Single target: the argmax of the one column.
    XCTAssertEqual(Assignment.greedy(matrix([[0], [2], [5], [5]])), [2])
  }

  // MARK: - Hungarian

  /// Brute force over all injective maps targets → sources.
  private func bruteForceBest(_ d: FrequencyMatrix) -> Double {
    var best = -Double.infinity
    var used = [Bool](repeating: false, count: d.sources)
    func go(_ t: Int, _ total: Double) {
      if t == d.targets {
        best = max(best, total)
        return
      }
      for s in 0..<d.sources where !used[s] {
        used[s] = true
        go(t + 1, total + d[s, t])
        used[s] = false
      }
    }
    go(0, 0)
    return best
  }

  private func assertInjective(_ map: [Int], sources: Int, _ message: String, line: UInt = #line) {
    XCTAssertEqual(Set(map).count, map.count, "\(message): not injective \(map)", line: line)
    XCTAssertTrue(map.allSatisfy { $0 >= 0 && $0 < sources }, "\(message): source out of range \(map)", line: line)
  }

  func testHungarianMatchesBruteForceOnRandomMatrices() {
    var rng = SplitMix64(seed: 2023)
    var greedyWasSuboptimal = 0
    // Shapes (sources × targets): mostly 6 × 4, plus square and single-target cases.
    let shapes = [(6, 4), (6, 4), (6, 4), (5, 5), (7, 3), (6, 1), (4, 4)]
    for trial in 0..<35 {
      let (n, k) = shapes[trial % shapes.count]
      // Small integer counts (many ties) for even trials, continuous values for odd ones.
      let counts: [Double] = (0..<(n * k)).map { _ in
        trial % 2 == 0 ? Double(rng.below(6)) : Double(rng.next() >> 11) / Double(1 << 53) * 10
      }
      let d = FrequencyMatrix(sources: n, targets: k, counts: counts)
      let best = bruteForceBest(d)
      let h = Assignment.hungarian(d)
      assertInjective(h, sources: n, "hungarian trial \(trial)")
      XCTAssertEqual(Assignment.score(d, h), best, accuracy: 1e-9, "hungarian trial \(trial): \(counts)")
      let g = Assignment.greedy(d)
      assertInjective(g, sources: n, "greedy trial \(trial)")
      XCTAssertLessThanOrEqual(Assignment.score(d, g), best + 1e-9)
      if Assignment.score(d, g) < best - 1e-9 { greedyWasSuboptimal += 1 }
    }
    // The random set is not trivial: greedy loses on some of them.
    XCTAssertGreaterThan(greedyWasSuboptimal, 0)
  }

  func testHungarianOnLargeSourceCountIsInjectiveAndAtLeastGreedy() {
    // ImageNet-sized: 1000 sources, 10 targets.
    var rng = SplitMix64(seed: 99)
    let d = FrequencyMatrix(sources: 1000, targets: 10, counts: (0..<10_000).map { _ in Double(rng.below(4)) })
    let h = Assignment.hungarian(d)
    assertInjective(h, sources: 1000, "hungarian 1000×10")
    // Every column has entries of 3, and 10 distinct rows with a 3 in the right column exist: optimum 30.
    XCTAssertEqual(Assignment.score(d, h), 30)
    XCTAssertGreaterThanOrEqual(Assignment.score(d, h), Assignment.score(d, Assignment.greedy(d)))
  }

  // MARK: - m-to-1

  func testManyToOneHandExample() {
    // Entries in decreasing order: (s1,t1)=6 → t1; (s0,t0)=5 → t0; (s1,t0)=4 skipped (s1 taken);
    // (s2,t0)=3 → t0 (now full); (s3,t1)=2 → t1 (full).
    let d = matrix([
      [5, 1],
      [4, 6],
      [3, 0],
      [0, 2],
      [1, 1],
      [0, 0],
    ])
    let map = Assignment.manyToOne(d, m: 2)
    XCTAssertEqual(map, [[0, 2], [1, 3]])
    // m = 1 is greedy one-to-one.
    XCTAssertEqual(Assignment.manyToOne(d, m: 1).map { $0[0] }, Assignment.greedy(d))
    // m = 3: t0 takes 0, 2, then (s4, t0)=1 at flat 8 before (s4, t1)=1 at flat 9; t1 takes 1, 3, then s5.
    XCTAssertEqual(Assignment.manyToOne(d, m: 3), [[0, 2, 4], [1, 3, 5]])
  }

  func testManyToOneGivesEachTargetMDistinctUnusedSources() {
    var rng = SplitMix64(seed: 7)
    for (n, k, m) in [(1000, 10, 5), (1000, 10, 10), (50, 7, 7), (30, 3, 10)] {
      let d = FrequencyMatrix(sources: n, targets: k, counts: (0..<(n * k)).map { _ in Double(rng.below(20)) })
      let map = Assignment.manyToOne(d, m: m)
      XCTAssertEqual(map.count, k)
      XCTAssertTrue(map.allSatisfy { $0.count == m }, "\(n)×\(k), m=\(m): sizes \(map.map(\.count))")
      let all = map.flatMap { $0 }
      XCTAssertEqual(Set(all).count, k * m, "\(n)×\(k), m=\(m): a source serves two targets")
      XCTAssertTrue(all.allSatisfy { $0 >= 0 && $0 < n })
    }
  }
}

/// `Assignment.hungarian` documents "ties are broken towards lower source indices, so the result is
/// deterministic": on matrices with several optimal assignments, target 0 gets the lowest source that is
/// part of an optimum, and so on.
final class HungarianTieTests: XCTestCase {
  func testAllZeroMatrixMapsToTheFirstSources() {
    XCTAssertEqual(Assignment.hungarian(FrequencyMatrix(sources: 6, targets: 4)), [0, 1, 2, 3])
  }

  func testTiedOptimaPreferLowerSources() {
    // [0, 1] and [1, 0] both score 2.
    XCTAssertEqual(Assignment.hungarian(matrix([[1, 1], [1, 1], [0, 0]])), [0, 1])
    // Every row the same: any injective map is optimal.
    XCTAssertEqual(Assignment.hungarian(matrix([[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2]])), [0, 1, 2])
  }

  func testDeterministic() {
    var rng = SplitMix64(seed: 5)
    let d = FrequencyMatrix(sources: 50, targets: 8, counts: (0..<400).map { _ in Double(rng.below(3)) })
    XCTAssertEqual(Assignment.hungarian(d), Assignment.hungarian(d))
  }
}
