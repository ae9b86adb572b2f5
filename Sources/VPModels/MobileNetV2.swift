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
  public static func load(_ weights: any WeightSource) throws -> ImageClassifier {
    try build(WeightReader(weights))
  }

  /// Builds the network, reading (or, for a synthetic reader, inventing) every tensor.
  public static func build(_ r: WeightReader, classes: Int = 1000) throws -> ImageClassifier {
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
          try invertedResidual(r, "features.\(index).conv", cin: cin, cout: c, stride: i == 0 ? s : 1, t: t))
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

  /// `[1×1 expand + ReLU6] → 3×3 depthwise + ReLU6 → 1×1 project`, plus the input when the shapes agree.
  static func invertedResidual(_ r: WeightReader, _ p: String, cin: Int, cout: Int, stride: Int, t: Int) throws
    -> any FrozenLayer
  {
    let hidden = cin * t
    var body: [any FrozenLayer] = []
    var k = 0
    if t != 1 {
      body.append(
        try r.convBN(
          "\(p).0.0", bn: "\(p).0.1", inChannels: cin, outChannels: hidden, kernel: 1, padding: .symmetric(0),
          activation: .relu6, epsilon: epsilon))
      k = 1
    }
    body.append(
      try r.convBN(
        "\(p).\(k).0", bn: "\(p).\(k).1", inChannels: hidden, outChannels: hidden, kernel: 3, stride: stride,
        padding: .symmetric(1), groups: hidden, activation: .relu6, epsilon: epsilon))
    body.append(
      try r.convBN(
        "\(p).\(k + 1)", bn: "\(p).\(k + 2)", inChannels: hidden, outChannels: cout, kernel: 1, padding: .symmetric(0),
        activation: .identity, epsilon: epsilon))
    let sequence = Sequential(body)
    return stride == 1 && cin == cout ? Residual(body: sequence) : sequence
  }
}

/// EfficientNet-Lite0 (Tan & Le; the "Lite" variant: ReLU6, no squeeze-and-excitation, fixed stem and head)
/// with the parameter names of the lukemelas-style PyTorch port; TensorFlow "SAME" padding, BN ε = 1e-3.
public enum EfficientNetLite0 {
  /// (expansion, kernel, first stride, output channels, repeats) per stage.
  public static let stages: [(e: Int, k: Int, s: Int, c: Int, n: Int)] = [
    (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
  ]
  static let epsilon: Float = 1e-3

  public static func load(_ weights: any WeightSource) throws -> ImageClassifier {
    try build(WeightReader(weights))
  }

  /// Builds the network, reading (or, for a synthetic reader, inventing) every tensor.
  public static func build(_ r: WeightReader, classes: Int = 1000) throws -> ImageClassifier {
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
        var body: [any FrozenLayer] = []
        if e != 1 {
          body.append(
            try r.convBN(
              "\(p)._expand_conv", bn: "\(p)._bn0", inChannels: cin, outChannels: hidden, kernel: 1,
              padding: .same, activation: .relu6, epsilon: epsilon))
        }
        let stride = i == 0 ? s : 1
        body.append(
          try r.convBN(
            "\(p)._depthwise_conv", bn: "\(p)._bn1", inChannels: hidden, outChannels: hidden, kernel: k,
            stride: stride, padding: .same, groups: hidden, activation: .relu6, epsilon: epsilon))
        body.append(
          try r.convBN(
            "\(p)._project_conv", bn: "\(p)._bn2", inChannels: hidden, outChannels: c, kernel: 1, padding: .same,
            activation: .identity, epsilon: epsilon))
        layers.append(stride == 1 && cin == c ? Residual(body: Sequential(body)) : Sequential(body))
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
  public static func load(_ weights: any WeightSource, depth: Depth) throws -> ImageClassifier {
    try build(WeightReader(weights), depth: depth)
  }

  /// Builds the network; `classes` defaults to the rows of `fc.weight`.
  public static func build(_ r: WeightReader, depth: Depth, classes: Int? = nil) throws -> ImageClassifier {
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
              padding: .symmetric(1), activation: .relu, epsilon: epsilon),
            try r.convBN(
              "\(p).conv3", bn: "\(p).bn3", inChannels: width, outChannels: cout, kernel: 1, padding: .symmetric(0),
              activation: .identity, epsilon: epsilon),
          ]
        } else {
          body = [
            try r.convBN(
              "\(p).conv1", bn: "\(p).bn1", inChannels: cin, outChannels: width, kernel: 3, stride: stride,
              padding: .symmetric(1), activation: .relu, epsilon: epsilon),
            try r.convBN(
              "\(p).conv2", bn: "\(p).bn2", inChannels: width, outChannels: cout, kernel: 3, padding: .symmetric(1),
              activation: .identity, epsilon: epsilon),
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
