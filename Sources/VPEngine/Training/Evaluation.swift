/// The index of the largest of `count` values (the first on ties): every top-1 decision of the engine.
@inline(__always)
func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
  var best = 0
  for j in 1..<count where values[j] > values[best] { best = j }
  return best
}

/// Top-1 accuracy, per-class accuracy and the confusion matrix of one split, gathered batch by batch.
public struct Evaluation: Sendable {
  /// `confusion[true][predicted]`.
  public private(set) var confusion: [[Int]]

  public init(classes: Int) {
    confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
  }

  /// Adds `labels.count` rows of `[rows, K]` target logits.
  public mutating func add(logits: UnsafePointer<Float>, labels: some Collection<Int>) {
    let k = confusion.count
    for (r, label) in labels.enumerated() { confusion[label][argmax(logits + r * k, count: k)] += 1 }
  }

  public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
  public var correct: Int { (0..<confusion.count).reduce(0) { $0 + confusion[$1][$1] } }
  public var accuracy: Double { Double(correct) / Double(max(1, count)) }
  /// NaN for a class without images.
  public var perClass: [Double] {
    (0..<confusion.count).map { c -> Double in
      let n = confusion[c].reduce(0, +)
      return n == 0 ? .nan : Double(confusion[c][c]) / Double(n)
    }
  }
}
