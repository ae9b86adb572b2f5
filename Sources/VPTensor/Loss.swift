import Foundation

/// Softmax and cross-entropy on rows of logits.
public enum Loss {
  /// Row-wise softmax of `[rows, k]` logits, stable for large magnitudes (the row maximum is subtracted).
  public static func softmax(_ z: [Float], classes k: Int) -> [Float] {
    precondition(k > 0 && z.count % k == 0, "softmax: \(z.count) logits are not rows of \(k)")
    var p = [Float](repeating: 0, count: z.count)
    for r in 0..<(z.count / k) {
      let row = z[(r * k)..<(r * k + k)]
      let m = row.max()!
      var sum: Double = 0
      for j in 0..<k { sum += Double(Foundation.exp(z[r * k + j] - m)) }
      for j in 0..<k { p[r * k + j] = Float(Double(Foundation.exp(z[r * k + j] - m)) / sum) }
    }
    return p
  }

  /// Mean cross-entropy `−(1/N) Σ log softmax(z_i)[y_i]` and its gradient `(softmax(z) − onehot(y)) / N`.
  ///
  /// - Parameters:
  ///   - z: `[N, k]` logits.
  ///   - labels: `N` class indices in `0..<k`.
  ///   - scale: the divisor of the mean (default `N`); a micro-batch of a larger batch passes the batch size.
  public static func crossEntropy(logits z: [Float], labels: [Int], classes k: Int, scale: Int? = nil) -> (
    loss: Float, gradient: [Float]
  ) {
    let n = labels.count
    precondition(z.count == n * k, "cross-entropy: \(z.count) logits for \(n) labels × \(k) classes")
    let denominator = Float(scale ?? n)
    var g = softmax(z, classes: k)
    var loss: Double = 0
    for i in 0..<n {
      let y = labels[i]
      precondition(y >= 0 && y < k, "label \(y) outside 0..<\(k)")
      let row = z[(i * k)..<(i * k + k)]
      let m = row.max()!
      var sum: Double = 0
      for j in 0..<k { sum += Double(Foundation.exp(z[i * k + j] - m)) }
      loss += Double(m) + Foundation.log(sum) - Double(z[i * k + y])
      g[i * k + y] -= 1
    }
    for j in 0..<g.count { g[j] /= denominator }
    return (Float(loss / Double(denominator)), g)
  }
}
