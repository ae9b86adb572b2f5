import Foundation

/// `D[s, t]`: how often training images of target class `t` are predicted as source class `s` (top-1), or,
/// for BLM+, the summed top-k source probabilities (REFERENCE.md §3).
public struct FrequencyMatrix: Codable, Sendable, Equatable {
  public let sources: Int
  public let targets: Int
  /// Row-major `[sources, targets]`.
  public var counts: [Double]

  public init(sources: Int, targets: Int) {
    self.sources = sources
    self.targets = targets
    counts = [Double](repeating: 0, count: sources * targets)
  }

  public init(sources: Int, targets: Int, counts: [Double]) {
    precondition(counts.count == sources * targets, "frequency matrix needs \(sources * targets) counts")
    self.sources = sources
    self.targets = targets
    self.counts = counts
  }

  // JSON (results, manifests, caches, a search's trial states): the non-zero entries only, `indices` into the
  // row-major counts and their `values` — a few hundred training images fill a few hundred of `sources × targets`
  // cells (30 000 for 30 classes). The dense `counts` of older files is still read.
  private enum CodingKeys: String, CodingKey { case sources, targets, indices, values, counts }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    sources = try c.decode(Int.self, forKey: .sources)
    targets = try c.decode(Int.self, forKey: .targets)
    guard sources >= 0, targets >= 0, sources.multipliedReportingOverflow(by: targets).overflow == false else {
      throw DecodingError.dataCorruptedError(
        forKey: .sources, in: c, debugDescription: "a \(sources) × \(targets) frequency matrix")
    }
    if let dense = try c.decodeIfPresent([Double].self, forKey: .counts) {
      guard dense.count == sources * targets else {
        throw DecodingError.dataCorruptedError(
          forKey: .counts, in: c, debugDescription: "\(dense.count) counts for \(sources) × \(targets)")
      }
      counts = dense
      return
    }
    let indices = try c.decode([Int].self, forKey: .indices)
    let values = try c.decode([Double].self, forKey: .values)
    guard indices.count == values.count else {
      throw DecodingError.dataCorruptedError(
        forKey: .values, in: c, debugDescription: "\(values.count) values for \(indices.count) indices")
    }
    counts = [Double](repeating: 0, count: sources * targets)
    for (i, v) in zip(indices, values) {
      guard i >= 0, i < counts.count else {
        throw DecodingError.dataCorruptedError(
          forKey: .indices, in: c, debugDescription: "index \(i) outside \(sources) × \(targets)")
      }
      counts[i] = v
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(sources, forKey: .sources)
    try c.encode(targets, forKey: .targets)
    let nonzero = counts.indices.filter { counts[$0] != 0 }
    try c.encode(nonzero, forKey: .indices)
    try c.encode(nonzero.map { counts[$0] }, forKey: .values)
  }

  public subscript(s: Int, t: Int) -> Double {
    get { counts[s * targets + t] }
    set { counts[s * targets + t] = newValue }
  }

  /// Adds one image of target class `t` whose source logits are `logits` (`sources` values):
  /// a one-hot top-1 count, or with `topK > 0` its `k` largest softmax probabilities (BLM+).
  public mutating func add(logits: UnsafePointer<Float>, target t: Int, topK: Int = 0) {
    if topK <= 0 {
      var best = 0
      for s in 1..<sources where logits[s] > logits[best] { best = s }
      self[best, t] += 1
      return
    }
    var m = logits[0]
    for s in 1..<sources { m = max(m, logits[s]) }
    var z = 0.0
    for s in 0..<sources { z += Foundation.exp(Double(logits[s] - m)) }
    // Partial selection of the k largest (k is small).
    var top: [(Int, Float)] = []
    for s in 0..<sources {
      if top.count < topK {
        top.append((s, logits[s]))
        top.sort { $0.1 > $1.1 }
      } else if logits[s] > top[topK - 1].1 {
        top[topK - 1] = (s, logits[s])
        top.sort { $0.1 > $1.1 }
      }
    }
    for (s, v) in top { self[s, t] += Foundation.exp(Double(v - m)) / z }
  }

  /// Adds another matrix (from another worker).
  public mutating func merge(_ other: FrequencyMatrix) {
    for i in 0..<counts.count { counts[i] += other.counts[i] }
  }

  /// The source class each target's images are predicted as most often (column argmax).
  public var columnArgmax: [Int] {
    (0..<targets).map { t in (0..<sources).max { self[$0, t] < self[$1, t] }! }
  }
}

/// How a one-to-one mapping is chosen from a frequency matrix.
public enum AssignmentMethod: String, Codable, Sendable, CaseIterable {
  /// ILM-VP's greedy matching: repeatedly take the largest remaining entry.
  case greedy
  /// The maximum-weight one-to-one assignment (Hungarian algorithm).
  case hungarian
}

/// One-to-one (and m-to-1) assignments of source classes to target classes.
public enum Assignment {
  /// ILM-VP's greedy assignment: `K` times, take the global argmax `(s, t)` of `D` (ties: the lowest flat
  /// index, i.e. the lowest source, then the lowest target), assign `s → t`, and remove row `s` and column `t`.
  /// - Returns: `mapping[t]`, the source class of each target.
  public static func greedy(_ d: FrequencyMatrix) -> [Int] {
    precondition(d.targets <= d.sources, "more targets than source classes")
    var m = d.counts
    var result = [Int](repeating: -1, count: d.targets)
    for _ in 0..<d.targets {
      var best = 0
      for i in 1..<m.count where m[i] > m[best] { best = i }
      let s = best / d.targets
      let t = best % d.targets
      result[t] = s
      for j in 0..<d.targets { m[s * d.targets + j] = -1 }
      for i in 0..<d.sources { m[i * d.targets + t] = -1 }
    }
    return result
  }

  /// The one-to-one assignment maximising `Σ_t D[mapping[t], t]` (Kuhn–Munkres, O(K² · S) with potentials).
  /// Ties are broken towards lower source indices, so the result is deterministic.
  public static func hungarian(_ d: FrequencyMatrix) -> [Int] {
    let k = d.targets
    let n = d.sources
    precondition(k <= n, "more targets than source classes")
    // Minimise cost = max − D over a k × n rectangular matrix (rows = targets, columns = sources).
    let maxValue = d.counts.max() ?? 0
    func cost(_ t: Int, _ s: Int) -> Double { maxValue - d[s, t] }
    let inf = Double.infinity
    var u = [Double](repeating: 0, count: k + 1)
    var v = [Double](repeating: 0, count: n + 1)
    var p = [Int](repeating: 0, count: n + 1)  // p[j]: the row matched to column j (1-based; 0 = none)
    var way = [Int](repeating: 0, count: n + 1)
    for i in 1...k {
      p[0] = i
      var j0 = 0
      var minv = [Double](repeating: inf, count: n + 1)
      var used = [Bool](repeating: false, count: n + 1)
      repeat {
        used[j0] = true
        let i0 = p[j0]
        var delta = inf
        var j1 = 0
        for j in 1...n where !used[j] {
          let cur = cost(i0 - 1, j - 1) - u[i0] - v[j]
          if cur < minv[j] {
            minv[j] = cur
            way[j] = j0
          }
          if minv[j] < delta {
            delta = minv[j]
            j1 = j
          }
        }
        for j in 0...n {
          if used[j] {
            u[p[j]] += delta
            v[j] -= delta
          } else {
            minv[j] -= delta
          }
        }
        j0 = j1
      } while p[j0] != 0
      repeat {
        let j1 = way[j0]
        p[j0] = p[j1]
        j0 = j1
      } while j0 != 0
    }
    var result = [Int](repeating: -1, count: k)
    for j in 1...n where p[j] != 0 { result[p[j] - 1] = j - 1 }
    return result
  }

  /// AutoVP's m-to-1 mapping: each target takes `m` distinct sources. Greedy over the whole matrix: take the
  /// largest remaining entry whose target still has fewer than `m` sources; a source serves one target.
  /// - Returns: `mapping[t]`, the `m` sources of each target, in the order they were taken.
  public static func manyToOne(_ d: FrequencyMatrix, m: Int) -> [[Int]] {
    precondition(d.targets * m <= d.sources, "\(d.targets) targets × \(m) sources exceed \(d.sources) source classes")
    var order = Array(0..<d.counts.count)
    order.sort { d.counts[$0] != d.counts[$1] ? d.counts[$0] > d.counts[$1] : $0 < $1 }
    var taken = [Bool](repeating: false, count: d.sources)
    var result = [[Int]](repeating: [], count: d.targets)
    var remaining = d.targets * m
    for flat in order where remaining > 0 {
      let s = flat / d.targets
      let t = flat % d.targets
      if taken[s] || result[t].count >= m { continue }
      taken[s] = true
      result[t].append(s)
      remaining -= 1
    }
    return result
  }

  /// The total frequency an assignment captures, `Σ_t D[mapping[t], t]`.
  public static func score(_ d: FrequencyMatrix, _ mapping: [Int]) -> Double {
    mapping.enumerated().reduce(0) { $0 + d[$1.element, $1.offset] }
  }
}
