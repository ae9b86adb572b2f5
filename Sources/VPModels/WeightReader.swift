import VPTensor

/// Reads the tensors an architecture asks for, checks their shapes, and finally that none was left over.
public final class WeightReader {
  public let source: any WeightSource
  private var used = Set<String>()
  /// When set, every requested tensor is made up (seeded, small values) instead of read: for benchmarks and
  /// architecture tests where no real checkpoint ships.
  private var synthetic: UInt64?
  /// Keys that are present in checkpoints but carry no weights for inference.
  static let ignoredSuffixes = ["num_batches_tracked"]

  public init(_ source: any WeightSource) { self.source = source }

  /// A reader that invents weights of whatever shape the architecture asks for.
  public init(syntheticSeed seed: UInt64) {
    self.source = EmptyWeights()
    self.synthetic = seed
  }

  private func invent(_ name: String, count: Int, fanIn: Int) -> [Float] {
    var state = synthetic! &+ UInt64(used.count) &* 0x9E37_79B9
    used.insert(name)
    func next() -> Float {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
    }
    if name.hasSuffix("running_var") { return (0..<count).map { _ in 0.5 + next() } }
    if name.hasSuffix("running_mean") || name.hasSuffix(".bias") {
      return (0..<count).map { _ in (next() - 0.5) * 0.1 }
    }
    let scale = (6 / Float(max(1, fanIn))).squareRoot()
    if name.hasSuffix(".weight") && count == fanIn { return (0..<count).map { _ in 0.8 + 0.4 * next() } }
    return (0..<count).map { _ in (next() * 2 - 1) * scale }
  }

  /// The values of `name`, which must have exactly `shape`.
  public func take(_ name: String, shape: [Int]) throws -> [Float] {
    if synthetic != nil {
      let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : shape.reduce(1, *)
      return invent(name, count: shape.reduce(1, *), fanIn: fanIn)
    }
    guard let actual = source.shape(of: name) else {
      throw ModelError(file: source.origin, "missing key '\(name)' (expected shape \(shape))")
    }
    guard actual == shape else {
      throw ModelError(
        file: source.origin, "shape mismatch for '\(name)': the architecture expects \(shape), the file has \(actual)")
    }
    used.insert(name)
    return try source.values(of: name)
  }

  /// The values of `name` if present (with exactly `shape`), else nil.
  public func takeIfPresent(_ name: String, shape: [Int]) throws -> [Float]? {
    source.shape(of: name) == nil ? nil : try take(name, shape: shape)
  }

  /// The shape of `name` when present.
  public func shape(of name: String) -> [Int]? { source.shape(of: name) }

  /// Whether weights are invented rather than read.
  public var isSynthetic: Bool { synthetic != nil }

  /// Throws when the source has tensors the architecture did not use.
  public func finish() throws {
    if synthetic != nil { return }
    let extra = source.names.filter { name in
      !used.contains(name) && !Self.ignoredSuffixes.contains { name.hasSuffix($0) }
    }
    if !extra.isEmpty {
      let shown = extra.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
      throw ModelError(
        file: source.origin,
        "\(extra.count) unexpected key(s) for this architecture: \(shown)\(extra.count > 5 ? ", …" : "")")
    }
  }

  /// A convolution `prefix.weight` (and `prefix.bias` when `bias`) followed by the batch norm `bn`, folded.
  public func convBN(
    _ conv: String, bn: String?, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
    padding: Padding, groups: Int = 1, activation: Activation, epsilon: Float, bias: Bool = false
  ) throws -> Conv2D {
    let shape = [outChannels, inChannels / groups, kernel, kernel]
    let w = try take("\(conv).weight", shape: shape)
    let b = bias ? try take("\(conv).bias", shape: [outChannels]) : nil
    var layer = Conv2D(
      torchWeight: w, shape: shape, bias: b, stride: stride, padding: padding, groups: groups, activation: activation)
    if let bn {
      let c = [outChannels]
      layer = layer.foldingBatchNorm(
        gamma: try take("\(bn).weight", shape: c), beta: try take("\(bn).bias", shape: c),
        mean: try take("\(bn).running_mean", shape: c), variance: try take("\(bn).running_var", shape: c),
        epsilon: epsilon)
    }
    return layer
  }

  /// A linear layer `prefix.weight: [out, in]`, `prefix.bias: [out]`.
  public func linear(_ prefix: String, inFeatures: Int, outFeatures: Int) throws -> Linear {
    Linear(
      weight: try take("\(prefix).weight", shape: [outFeatures, inFeatures]),
      bias: try take("\(prefix).bias", shape: [outFeatures]), inFeatures: inFeatures, outFeatures: outFeatures)
  }
}
