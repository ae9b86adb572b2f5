/// Batch normalisation with a trainable scale γ and shift β, as PyTorch's `BatchNorm2d` in training and eval
/// mode, channels-last.
///
/// Training mode normalises with the batch's own statistics over `(N, H, W)`, the biased variance:
/// `y = γ (x − μ_B) / √(σ²_B + ε) + β`, and updates the running statistics with momentum `m`:
/// `μ ← (1 − m) μ + m μ_B`, `σ² ← (1 − m) σ² + m σ²_B · n / (n − 1)` (the unbiased variance, `n = N·H·W`).
/// Eval mode uses the running statistics and changes nothing. The backward pass of training mode gives
/// `∂L/∂x`, `∂L/∂γ` and `∂L/∂β`.
///
/// Every per-channel sum runs over fixed pieces of rows whose partial sums (in `Double`) are added in order,
/// so the results do not depend on the number of threads.
public struct TrainableBatchNorm: Sendable {
  public let channels: Int
  public let epsilon: Float
  public let momentum: Float
  /// γ, `channels` values (PyTorch's `weight`; 1 at start).
  public var gamma: [Float]
  /// β, `channels` values (PyTorch's `bias`; 0 at start).
  public var beta: [Float]
  /// The running mean (0 at start).
  public var runningMean: [Float]
  /// The running (unbiased) variance (1 at start).
  public var runningVariance: [Float]

  /// A batch norm with PyTorch's initial values: γ = 1, β = 0, running mean 0, running variance 1.
  public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
    self.channels = channels
    self.epsilon = epsilon
    self.momentum = momentum
    gamma = [Float](repeating: 1, count: channels)
    beta = [Float](repeating: 0, count: channels)
    runningMean = [Float](repeating: 0, count: channels)
    runningVariance = [Float](repeating: 1, count: channels)
  }

  /// What a training-mode forward pass used, for its backward pass.
  public struct BatchStatistics: Sendable, Equatable {
    /// μ_B per channel.
    public var mean: [Float]
    /// `1 / √(σ²_B + ε)` per channel.
    public var inverseStd: [Float]
    /// `n = N·H·W`, the values per channel.
    public var count: Int
  }

  /// Rows per piece of a per-channel reduction (fixed, so that the sum's order does not depend on threads).
  static let reductionRows = 4096

  /// `Σ_rows body(row pointer)` per channel: `body` adds one row's contributions into its `Double` accumulator.
  static func channelSums(
    rows: Int, channels: Int, workspace ws: Workspace,
    _ body: (_ row: Int, _ accumulator: UnsafeMutablePointer<Double>) -> Void
  ) -> [Double] {
    let pieces = max(1, (rows + reductionRows - 1) / reductionRows)
    let partial = UnsafeMutablePointer<Double>.allocate(capacity: pieces * channels)
    defer { partial.deallocate() }
    ws.forEach(pieces) { piece in
      let accumulator = partial + piece * channels
      accumulator.update(repeating: 0, count: channels)
      for row in (piece * reductionRows)..<min(rows, piece * reductionRows + reductionRows) { body(row, accumulator) }
    }
    var sums = [Double](repeating: 0, count: channels)
    for piece in 0..<pieces { for c in 0..<channels { sums[c] += partial[piece * channels + c] } }
    return sums
  }

  /// The batch's mean and biased variance per channel (two passes, in `Double`).
  public static func statistics(of x: FeatureMap, workspace ws: Workspace) -> (mean: [Double], variance: [Double]) {
    let c = x.c
    let n = Double(x.rows)
    let sums = channelSums(rows: x.rows, channels: c, workspace: ws) { row, acc in
      let src = x.pointer + row * c
      for ch in 0..<c { acc[ch] += Double(src[ch]) }
    }
    let mean = sums.map { $0 / n }
    let squares = mean.withUnsafeBufferPointer { mu in
      channelSums(rows: x.rows, channels: c, workspace: ws) { row, acc in
        let src = x.pointer + row * c
        for ch in 0..<c {
          let d = Double(src[ch]) - mu[ch]
          acc[ch] += d * d
        }
      }
    }
    return (mean, squares.map { $0 / n })
  }

  /// Training mode: normalises `x` with its own statistics and updates the running statistics.
  ///
  /// - Parameters:
  ///   - x: `[N, H, W, C]` with `N·H·W > 1`; not modified, not released.
  /// - Returns: `y` (owned by the caller) and the statistics the backward pass needs.
  public mutating func forwardTraining(_ x: FeatureMap, workspace ws: Workspace) -> (
    output: FeatureMap, statistics: BatchStatistics
  ) {
    precondition(x.c == channels, "batch norm expects \(channels) channels, got \(x.c)")
    precondition(x.rows > 1, "batch norm in training mode needs more than one value per channel")
    let (mean, variance) = Self.statistics(of: x, workspace: ws)
    let n = Double(x.rows)
    let m = Double(momentum)
    var stats = BatchStatistics(mean: [], inverseStd: [], count: x.rows)
    for c in 0..<channels {
      stats.mean.append(Float(mean[c]))
      stats.inverseStd.append(Float(1 / (variance[c] + Double(epsilon)).squareRoot()))
      runningMean[c] = Float((1 - m) * Double(runningMean[c]) + m * mean[c])
      runningVariance[c] = Float((1 - m) * Double(runningVariance[c]) + m * variance[c] * n / (n - 1))
    }
    return (forward(x, statistics: stats, workspace: ws), stats)
  }

  /// The training-mode output for given batch statistics, without touching the running statistics: the
  /// output `forwardTraining` returned along with `statistics`, bit for bit (a backward pass can recompute it
  /// instead of keeping it).
  ///
  /// - Returns: `y`, `[N, H, W, C]`, owned by the caller.
  public func forward(_ x: FeatureMap, statistics: BatchStatistics, workspace ws: Workspace) -> FeatureMap {
    precondition(x.c == channels, "batch norm expects \(channels) channels, got \(x.c)")
    let scale = (0..<channels).map { gamma[$0] * statistics.inverseStd[$0] }
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: x.c)
    Self.affine(x, into: y, center: statistics.mean, scale: scale, shift: beta, workspace: ws)
    return y
  }

  /// Eval mode: `y = γ (x − μ) / √(σ² + ε) + β` with the running statistics; changes nothing.
  ///
  /// - Returns: `y`, `[N, H, W, C]`, owned by the caller.
  public func forwardInference(_ x: FeatureMap, workspace ws: Workspace) -> FeatureMap {
    precondition(x.c == channels, "batch norm expects \(channels) channels, got \(x.c)")
    let scale = (0..<channels).map { gamma[$0] / (runningVariance[$0] + epsilon).squareRoot() }
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: x.c)
    Self.affine(x, into: y, center: runningMean, scale: scale, shift: beta, workspace: ws)
    return y
  }

  /// `y = (x − center) · scale + shift` per channel.
  static func affine(
    _ x: FeatureMap, into y: FeatureMap, center: [Float], scale: [Float], shift: [Float], workspace ws: Workspace
  ) {
    let c = x.c
    center.withUnsafeBufferPointer { mu in
      scale.withUnsafeBufferPointer { sc in
        shift.withUnsafeBufferPointer { sh in
          ws.forRanges(x.rows, minimum: 1024) { rows in
            for row in rows {
              let src = x.pointer + row * c
              let dst = y.pointer + row * c
              for ch in 0..<c { dst[ch] = (src[ch] - mu[ch]) * sc[ch] + sh[ch] }
            }
          }
        }
      }
    }
  }

  /// The backward pass of `forwardTraining`: with `x̂ = (x − μ_B) / √(σ²_B + ε)`,
  /// `∂L/∂β = Σ ∂L/∂y`, `∂L/∂γ = Σ ∂L/∂y · x̂` and
  /// `∂L/∂x = γ / √(σ²_B + ε) · (∂L/∂y − ∂L/∂β / n − x̂ · ∂L/∂γ / n)` (sums over `N, H, W`).
  ///
  /// - Parameters:
  ///   - gy: `∂L/∂y`, `[N, H, W, C]`; consumed (overwritten with `∂L/∂x`).
  ///   - x: the input of the matching forward pass; not modified.
  ///   - statistics: what the matching forward pass returned.
  /// - Returns: `∂L/∂x` (the buffer of `gy`, owned by the caller), `∂L/∂γ` and `∂L/∂β`.
  public func backward(
    _ gy: FeatureMap, input x: FeatureMap, statistics: BatchStatistics, workspace ws: Workspace
  ) -> (input: FeatureMap, gamma: [Float], beta: [Float]) {
    precondition(gy.c == channels && x.c == channels && gy.count == x.count, "batch norm gradient shape mismatch")
    precondition(statistics.count == x.rows, "batch norm statistics of \(statistics.count) values, input has \(x.rows)")
    let c = channels
    var sums: (gamma: [Double], beta: [Double]) = ([], [])
    statistics.mean.withUnsafeBufferPointer { mu in
      statistics.inverseStd.withUnsafeBufferPointer { inv in
        sums.beta = Self.channelSums(rows: x.rows, channels: c, workspace: ws) { row, acc in
          let g = gy.pointer + row * c
          for ch in 0..<c { acc[ch] += Double(g[ch]) }
        }
        sums.gamma = Self.channelSums(rows: x.rows, channels: c, workspace: ws) { row, acc in
          let g = gy.pointer + row * c
          let src = x.pointer + row * c
          for ch in 0..<c { acc[ch] += Double(g[ch]) * Double((src[ch] - mu[ch]) * inv[ch]) }
        }
      }
    }
    let n = Double(statistics.count)
    let meanBeta = sums.beta.map { Float($0 / n) }
    let meanGamma = sums.gamma.map { Float($0 / n) }
    let scale = (0..<c).map { gamma[$0] * statistics.inverseStd[$0] }
    statistics.mean.withUnsafeBufferPointer { mu in
      statistics.inverseStd.withUnsafeBufferPointer { inv in
        ws.forRanges(x.rows, minimum: 1024) { rows in
          for row in rows {
            let g = gy.pointer + row * c
            let src = x.pointer + row * c
            for ch in 0..<c {
              let xhat = (src[ch] - mu[ch]) * inv[ch]
              g[ch] = scale[ch] * (g[ch] - meanBeta[ch] - xhat * meanGamma[ch])
            }
          }
        }
      }
    }
    return (gy, sums.gamma.map { Float($0) }, sums.beta.map { Float($0) })
  }
}
