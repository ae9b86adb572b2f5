import VPTensor

/// EfficientNet-Lite0 (Tan & Le; the "Lite" variant: ReLU6, no squeeze-and-excitation, fixed stem and head)
/// with the parameter names of the lukemelas-style PyTorch port; TensorFlow "SAME" padding, BN ε = 1e-3.
public enum EfficientNetLite0 {
  /// (expansion, kernel, first stride, output channels, repeats) per stage.
  public static let stages: [(e: Int, k: Int, s: Int, c: Int, n: Int)] = [
    (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
  ]
  static let epsilon: Float = 1e-3

  /// Builds the network from a state dict; `fusion`: which blocks run fused (see `MobileNetV2.load`).
  public static func load(_ weights: any WeightSource, fusion: BlockFusion = .environment) throws -> ImageClassifier {
    try build(WeightReader(weights), fusion: fusion)
  }

  /// Builds the network, reading (or, for a synthetic reader, inventing) every tensor.
  public static func build(_ r: WeightReader, classes: Int = 1000, fusion: BlockFusion = .environment) throws
    -> ImageClassifier
  {
    var layers: [any FrozenLayer] = [
      try r.convBN(
        "_conv_stem", bn: "_bn0", inChannels: 3, outChannels: 32, kernel: 3, stride: 2, padding: .same,
        activation: .relu6, epsilon: epsilon)
    ]
    var cin = 32
    var index = 0
    for (e, k, s, c, n) in stages {
      for i in 0..<n {
        let p = "_blocks.\(index)"
        let hidden = cin * e
        var expand: Conv2D? = nil
        if e != 1 {
          expand = try r.convBN(
            "\(p)._expand_conv", bn: "\(p)._bn0", inChannels: cin, outChannels: hidden, kernel: 1,
            padding: .same, activation: .relu6, epsilon: epsilon)
        }
        let stride = i == 0 ? s : 1
        let depthwise = try r.convBN(
          "\(p)._depthwise_conv", bn: "\(p)._bn1", inChannels: hidden, outChannels: hidden, kernel: k,
          stride: stride, padding: .same, groups: hidden, activation: .relu6, epsilon: epsilon)
        let project = try r.convBN(
          "\(p)._project_conv", bn: "\(p)._bn2", inChannels: hidden, outChannels: c, kernel: 1, padding: .same,
          activation: .identity, epsilon: epsilon)
        let residual = stride == 1 && cin == c
        let fused = InvertedResidual(
          expand: expand, depthwise: depthwise, project: project, residual: residual, fusion: fusion)
        if fused.fusesAnything {
          layers.append(fused)
        } else {
          let body: [any FrozenLayer] = (expand.map { [$0] } ?? []) + [depthwise, project]
          layers.append(residual ? Residual(body: Sequential(body)) : Sequential(body))
        }
        cin = c
        index += 1
      }
    }
    layers.append(
      try r.convBN(
        "_conv_head", bn: "_bn1", inChannels: cin, outChannels: 1280, kernel: 1, padding: .same,
        activation: .relu6, epsilon: epsilon))
    let head = try r.linear("_fc", inFeatures: 1280, outFeatures: classes)
    try r.finish()
    return ImageClassifier(
      name: "efficientnet_lite0", body: Sequential(layers), head: head, normalization: .centered127)
  }
}
