import Foundation
import VPModels

/// The WordNet 3.0 noun hierarchy (Debian's `wordnet-base`: `/usr/share/wordnet/{data,index}.noun`), used for
/// SemanticMap without CLIP: ImageNet-1k classes are WordNet noun synsets (`n01440764` is offset 01440764), and
/// a target class name is looked up as a lemma. Similarity is Wu–Palmer:
/// `2 · depth(lcs) / (depth(a) + depth(b))`, with depths counted from `entity` (depth 1) along the longest path.
public final class WordNet: @unchecked Sendable {
  /// Hypernyms (`@`, `@i`) of each noun synset offset.
  let parents: [Int: [Int]]
  /// Noun synsets of each lemma (lower case, `_` for spaces), most frequent sense first.
  let senses: [String: [Int]]
  private var depthCache: [Int: Int] = [:]
  private let lock = NSLock()

  /// The default location of Debian's `wordnet-base`.
  public static let defaultDirectory = "/usr/share/wordnet"

  /// Reads `data.noun` and `index.noun` from `directory`.
  public init(directory: String = WordNet.defaultDirectory) throws {
    let dataPath = directory + "/data.noun"
    let indexPath = directory + "/index.noun"
    guard let data = FileManager.default.contents(atPath: dataPath),
      let index = FileManager.default.contents(atPath: indexPath)
    else {
      throw EngineError("\(dataPath): WordNet noun database missing (install Debian's wordnet-base; `make setup` does)")
    }
    var parents: [Int: [Int]] = [:]
    for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
    where !line.hasPrefix("  ") {
      let f = line.split(separator: " ", omittingEmptySubsequences: true)
      guard f.count > 4, let offset = Int(f[0]), let words = Int(f[3], radix: 16) else {
        throw EngineError("\(dataPath):\(n + 1): malformed synset line")
      }
      var i = 4 + 2 * words
      guard i < f.count, let pointers = Int(f[i]) else {
        throw EngineError("\(dataPath):\(n + 1): malformed pointer count")
      }
      i += 1
      var ps: [Int] = []
      for _ in 0..<pointers {
        guard i + 3 < f.count else { throw EngineError("\(dataPath):\(n + 1): truncated pointer list") }
        if (f[i] == "@" || f[i] == "@i") && f[i + 2] == "n", let target = Int(f[i + 1]) { ps.append(target) }
        i += 4
      }
      parents[offset] = ps
    }
    var senses: [String: [Int]] = [:]
    for line in String(decoding: index, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("  ") {
      let f = line.split(separator: " ", omittingEmptySubsequences: true)
      guard f.count > 4, let synsets = Int(f[2]), let pointerKinds = Int(f[3]) else { continue }
      let first = 4 + pointerKinds + 2
      guard first + synsets <= f.count else { continue }
      senses[String(f[0])] = f[first..<(first + synsets)].compactMap { Int($0) }
    }
    self.parents = parents
    self.senses = senses
  }

  /// The longest path length from `synset` up to a root, counting the root as 1.
  func depth(_ synset: Int) -> Int {
    lock.lock()
    if let d = depthCache[synset] {
      lock.unlock()
      return d
    }
    lock.unlock()
    let ps = parents[synset] ?? []
    let d = ps.isEmpty ? 1 : 1 + ps.map(depth).max()!
    lock.lock()
    depthCache[synset] = d
    lock.unlock()
    return d
  }

  /// `synset` and all its hypernyms.
  func ancestors(_ synset: Int) -> Set<Int> {
    var seen: Set<Int> = [synset]
    var stack = [synset]
    while let s = stack.popLast() {
      for p in parents[s] ?? [] where !seen.contains(p) {
        seen.insert(p)
        stack.append(p)
      }
    }
    return seen
  }

  /// Wu–Palmer similarity in `[0, 1]` (1 for the same synset).
  public func similarity(_ a: Int, _ b: Int) -> Double {
    if a == b { return 1 }
    let common = ancestors(a).intersection(ancestors(b))
    guard let lcs = common.max(by: { depth($0) < depth($1) }) else { return 0 }
    return 2 * Double(depth(lcs)) / Double(depth(a) + depth(b))
  }

  /// The noun synsets a class name may denote: the whole name as a lemma (`Ankle boot` → `ankle_boot`), else
  /// its parts (`T-shirt/top` → `t-shirt`, `top`; the last word of a phrase); digits become number words; a
  /// `prefix:` (union data sets) is dropped. At most `maxSenses` senses per lemma.
  public func synsets(forClassName name: String, maxSenses: Int = 3) -> [Int] {
    var text = name.lowercased()
    if let colon = text.lastIndex(of: ":") { text = String(text[text.index(after: colon)...]) }
    let digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    if let d = Int(text), (0..<10).contains(d) { text = digits[d] }
    var candidates = [text.replacingOccurrences(of: " ", with: "_")]
    for part in text.split(whereSeparator: { "/,".contains($0) }) {
      let p = part.trimmingCharacters(in: .whitespaces)
      candidates.append(p.replacingOccurrences(of: " ", with: "_"))
      if let last = p.split(separator: " ").last { candidates.append(String(last)) }
    }
    for c in candidates { if let s = senses[c], !s.isEmpty { return Array(s.prefix(maxSenses)) } }
    return []
  }
}

/// SemanticMap's similarities between target class names and ImageNet-1k classes.
public enum SemanticSimilarity {
  /// `sim[s · K + t]`: the best Wu–Palmer similarity between a sense of target `t`'s name and ImageNet class
  /// `s` (0 when the name is not in WordNet).
  public static func matrix(targetNames: [String], imageNetSynsets: [Int], wordNet: WordNet) -> [Double] {
    let k = targetNames.count
    var sim = [Double](repeating: 0, count: imageNetSynsets.count * k)
    for (t, name) in targetNames.enumerated() {
      let senses = wordNet.synsets(forClassName: name)
      for (s, synset) in imageNetSynsets.enumerated() {
        sim[s * k + t] = senses.map { wordNet.similarity($0, synset) }.max() ?? 0
      }
    }
    return sim
  }

  /// `sim[s · K + t]`: the cosine similarity of the unit CLIP text embeddings of "This is a photo of a {}."
  /// (`CLIPPrompts.photoTemplate`) with target `t`'s name and with source `s`'s name (`CLIPPrompts.prompt`:
  /// lower-cased, `_` and `-` as spaces).
  public static func textMatrix(targetNames: [String], sourceNames: [String], embed: TextEmbedder) throws -> [Double] {
    func prompt(_ name: String) -> String { CLIPPrompts.prompt(CLIPPrompts.photoTemplate, className: name) }
    let k = targetNames.count
    let targets = try embed(targetNames.map(prompt))
    let sources = try embed(sourceNames.map(prompt))
    guard k > 0, targets.count % k == 0, sources.count == sourceNames.count * (targets.count / k) else {
      throw EngineError("mapping: the text tower returned embeddings of mismatched sizes")
    }
    let e = targets.count / k
    var sim = [Double](repeating: 0, count: sourceNames.count * k)
    for s in 0..<sourceNames.count {
      for t in 0..<k {
        var dot = 0.0
        for i in 0..<e { dot += Double(sources[s * e + i]) * Double(targets[t * e + i]) }
        sim[s * k + t] = dot
      }
    }
    return sim
  }

  /// AutoVP's round-robin assignment: `m` rounds; in each, every target in turn takes its most similar
  /// source not yet taken (ties: the lower source index).
  public static func roundRobin(_ sim: [Double], sources: Int, targets k: Int, m: Int) -> [[Int]] {
    var taken = [Bool](repeating: false, count: sources)
    var result = [[Int]](repeating: [], count: k)
    for _ in 0..<m {
      for t in 0..<k {
        var best = -1
        for s in 0..<sources where !taken[s] && (best < 0 || sim[s * k + t] > sim[best * k + t]) { best = s }
        if best >= 0 {
          taken[best] = true
          result[t].append(best)
        }
      }
    }
    return result
  }
}
