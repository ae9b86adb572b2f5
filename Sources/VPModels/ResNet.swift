import VPTensor

/// ResNet-18/34 (basic blocks) and ResNet-50 (bottlenecks) with torchvision's parameter names.
public enum ResNet {
  public enum Depth: Int, Sendable, CaseIterable {
    case r18 = 18, r34 = 34, r50 = 50
    var blocks: [Int] {
      switch self {
      case .r18: return [2, 2, 2, 2]
      case .r34, .r50: return [3, 4, 6, 3]
      }
    }
  }
  static let epsilon: Float = 1e-5

  /// Builds the network; the number of classes is read from `fc.weight`.
  public static func load(_ weights: any WeightSource, depth: Depth, winograd: Bool = true) throws -> ImageClassifier {
    try build(WeightReader(weights), depth: depth, winograd: winograd)
  }

  /// Builds the network; `classes` defaults to the rows of `fc.weight`.
  ///
  /// - Parameter winograd: whether the 3×3 stride-1 convolutions of the blocks run as Winograd F(4×4, 3×3)
  ///   where that is faster (`Conv2D.winograd` = `.whenFaster`; logits and input gradients within 1e-3 of the
  ///   direct convolution's). `false` gives the im2col path's bits.
  public static func build(_ r: WeightReader, depth: Depth, classes: Int? = nil, winograd: Bool = true) throws
    -> ImageClassifier
  {
    var layers: [any FrozenLayer] = [
      try r.convBN(
        "conv1", bn: "bn1", inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: .symmetric(3),
        activation: .relu, epsilon: epsilon),
      MaxPool2D(kernel: 3, stride: 2, padding: 1),
    ]
    let bottleneck = depth == .r50
    let expansion = bottleneck ? 4 : 1
    var cin = 64
    for (stage, count) in depth.blocks.enumerated() {
      let width = 64 << stage
      for b in 0..<count {
        let p = "layer\(stage + 1).\(b)"
        let stride = (b == 0 && stage > 0) ? 2 : 1
        let cout = width * expansion
        var body: [any FrozenLayer]
        if bottleneck {
          body = [
            try r.convBN(
              "\(p).conv1", bn: "\(p).bn1", inChannels: cin, outChannels: width, kernel: 1, padding: .symmetric(0),
              activation: .relu, epsilon: epsilon),
            try r.convBN(
              "\(p).conv2", bn: "\(p).bn2", inChannels: width, outChannels: width, kernel: 3, stride: stride,
              padding: .symmetric(1), activation: .relu, epsilon: epsilon
            ).withWinograd(winograd ? .whenFaster : .never),
            try r.convBN(
              "\(p).conv3", bn: "\(p).bn3", inChannels: width, outChannels: cout, kernel: 1, padding: .symmetric(0),
              activation: .identity, epsilon: epsilon),
          ]
        } else {
          body = [
            try r.convBN(
              "\(p).conv1", bn: "\(p).bn1", inChannels: cin, outChannels: width, kernel: 3, stride: stride,
              padding: .symmetric(1), activation: .relu, epsilon: epsilon
            ).withWinograd(winograd ? .whenFaster : .never),
            try r.convBN(
              "\(p).conv2", bn: "\(p).bn2", inChannels: width, outChannels: cout, kernel: 3, padding: .symmetric(1),
              activation: .identity, epsilon: epsilon
            ).withWinograd(winograd ? .whenFaster : .never),
          ]
        }
        var shortcut: Sequential? = nil
        if stride != 1 || cin != cout {
          shortcut = Sequential([
            try r.convBN(
              "\(p).downsample.0", bn: "\(p).downsample.1", inChannels: cin, outChannels: cout, kernel: 1,
              stride: stride, padding: .symmetric(0), activation: .identity, epsilon: epsilon)
          ])
        }
        layers.append(Residual(body: Sequential(body), shortcut: shortcut, post: .relu))
        cin = cout
      }
    }
    guard let outFeatures = classes ?? r.shape(of: "fc.weight").flatMap({ $0.count == 2 ? $0[0] : nil }) else {
      throw ModelError(file: r.source.origin, "missing key 'fc.weight'")
    }
    let head = try r.linear("fc", inFeatures: cin, outFeatures: outFeatures)
    try r.finish()
    return ImageClassifier(
      name: "resnet\(depth.rawValue)", body: Sequential(layers), head: head, normalization: .imageNet)
  }
}
