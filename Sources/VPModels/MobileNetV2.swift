import VPTensor

/// MobileNetV2 (Sandler et al., 2018) with torchvision's parameter names; batch norms folded.
///
/// | stage | operator | t | c | n | s |
/// |---|---|---|---|---|---|
/// | `features.0` | conv 3×3 + BN + ReLU6 | – | 32 | 1 | 2 |
/// | `features.1…17` | inverted residual blocks | t | c | n | s |
/// | `features.18` | conv 1×1 + BN + ReLU6 | – | 1280 | 1 | 1 |
/// | `classifier.1` | global average pool, linear | – | 1000 | | |
public enum MobileNetV2 {
  /// The (expansion t, output channels c, repeats n, first stride s) rows of the paper's Table 2.
  public static let blocks: [(t: Int, c: Int, n: Int, s: Int)] = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
  ]
  static let epsilon: Float = 1e-5

  /// Builds the network from a torchvision state dict.
  ///
  /// - Parameter fusion: which inverted-residual blocks run fused (`InvertedResidual`); by default
  ///   `VPBOOK_FUSED`'s choice, which keeps the unfused layers' bits.
  public static func load(_ weights: any WeightSource, fusion: BlockFusion = .environment) throws -> ImageClassifier {
    try build(WeightReader(weights), fusion: fusion)
  }

  /// Builds the network, reading (or, for a synthetic reader, inventing) every tensor.
  public static func build(_ r: WeightReader, classes: Int = 1000, fusion: BlockFusion = .environment) throws
    -> ImageClassifier
  {
    var layers: [any FrozenLayer] = [
      try r.convBN(
        "features.0.0", bn: "features.0.1", inChannels: 3, outChannels: 32, kernel: 3, stride: 2,
        padding: .symmetric(1), activation: .relu6, epsilon: epsilon)
    ]
    var cin = 32
    var index = 1
    for (t, c, n, s) in blocks {
      for i in 0..<n {
        layers.append(
          try invertedResidual(
            r, "features.\(index).conv", cin: cin, cout: c, stride: i == 0 ? s : 1, t: t, fusion: fusion))
        cin = c
        index += 1
      }
    }
    layers.append(
      try r.convBN(
        "features.\(index).0", bn: "features.\(index).1", inChannels: cin, outChannels: 1280, kernel: 1,
        padding: .symmetric(0), activation: .relu6, epsilon: epsilon))
    let head = try r.linear("classifier.1", inFeatures: 1280, outFeatures: classes)
    try r.finish()
    return ImageClassifier(
      name: "mobilenet_v2", body: Sequential(layers), head: head, normalization: .imageNet)
  }

  /// `[1×1 expand + ReLU6] → 3×3 depthwise + ReLU6 → 1×1 project`, plus the input when the shapes agree: an
  /// `InvertedResidual` when `fusion` fuses part of it, else the layers one after the other.
  static func invertedResidual(
    _ r: WeightReader, _ p: String, cin: Int, cout: Int, stride: Int, t: Int, fusion: BlockFusion
  ) throws -> any FrozenLayer {
    let hidden = cin * t
    var expand: Conv2D? = nil
    var k = 0
    if t != 1 {
      expand = try r.convBN(
        "\(p).0.0", bn: "\(p).0.1", inChannels: cin, outChannels: hidden, kernel: 1, padding: .symmetric(0),
        activation: .relu6, epsilon: epsilon)
      k = 1
    }
    let depthwise = try r.convBN(
      "\(p).\(k).0", bn: "\(p).\(k).1", inChannels: hidden, outChannels: hidden, kernel: 3, stride: stride,
      padding: .symmetric(1), groups: hidden, activation: .relu6, epsilon: epsilon)
    let project = try r.convBN(
      "\(p).\(k + 1)", bn: "\(p).\(k + 2)", inChannels: hidden, outChannels: cout, kernel: 1, padding: .symmetric(0),
      activation: .identity, epsilon: epsilon)
    let residual = stride == 1 && cin == cout
    let fused = InvertedResidual(
      expand: expand, depthwise: depthwise, project: project, residual: residual, fusion: fusion)
    if fused.fusesAnything { return fused }
    let layers: [any FrozenLayer] = (expand.map { [$0] } ?? []) + [depthwise, project]
    let sequence = Sequential(layers)
    return residual ? Residual(body: sequence) : sequence
  }
}
