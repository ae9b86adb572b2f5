import Foundation
import VPTensor

/// torchvision's Vision Transformer (Dosovitskiy et al., 2021) up to the class token after the final layer
/// norm: `[N, S, S, 3]` → `[N, 1, 1, D]`, so that a ViT is an `ImageClassifier` with this as its body, the
/// global average pool (the identity on 1×1) and `heads.head` as its head.
///
/// | part | layers | torchvision keys |
/// |---|---|---|
/// | patch embedding | conv `p×p`, stride `p`, 3 → D | `conv_proj` |
/// | tokens | class token first, `+ pos_embedding` | `class_token`, `encoder.pos_embedding` |
/// | × L encoder blocks | `x + attn(LN(x))`, then `x + MLP(LN(x))`, MLP = linear D→M, GELU, linear M→D | `encoder.layers.encoder_layer_{i}.{ln_1, self_attention, ln_2, mlp.0, mlp.3}` |
/// | output | token 0, layer norm | `encoder.ln` |
/// | head | [linear D→R, tanh], linear → classes | [`heads.pre_logits`], `heads.head` |
///
/// Tokens are laid out `[N, 1, T, D]` (channels-last feature maps with one row of `T` tokens): every
/// projection is one GEMM over the rows of a micro-batch, and the layers compose with `Sequential` and
/// `Residual` like the convolutional networks. Dropout is the identity (evaluation mode); layer norms use
/// torchvision's `ε = 1e-6`.
///
/// The backward pass keeps, per image and encoder block, the two layer norms' `x̂` and `1/σ` (`2·T·(D + 1)`
/// floats), `Q`, `K`, `V` (`3·T·D`) and the GELU's input (`T·M`): for ViT-B/16 at 224 (T 197, D 768, M 3072,
/// 12 blocks) 12 × 5.45 MB + the final norm's 3 kB = 65.4 MB per image (ViT-B/32: T 50, 16.6 MB). The
/// attention probabilities are recomputed in the backward pass instead of kept (12 × 1.86 MB per image).
///
/// It takes any input side that is a multiple of the patch size: at another side than the checkpoint's
/// `imageSize`, `ClassTokenEmbedding` resizes the patch part of the positional embedding to the new grid
/// (bicubic, PyTorch's `align_corners=False`; the class token's position unchanged), once per grid. Then
/// `T = (S/p)² + 1` and the memory above scales with it (ViT-B/16 at 128: T 65, 21.6 MB per image).
public struct VisionTransformer: FrozenLayer {
  /// The sizes of a ViT, as read from a checkpoint's shapes.
  public struct Configuration: Sendable, Equatable {
    /// The checkpoint's input side `S` (`patchSize · √(T − 1)`), the grid its positional embedding is stored
    /// for; other multiples of the patch size interpolate it.
    public var imageSize: Int
    public var patchSize: Int
    /// `D`.
    public var hiddenDim: Int
    /// `M`, the MLP's hidden width.
    public var mlpDim: Int
    public var layers: Int
    public var heads: Int
    /// `R`, the width of `heads.pre_logits` (nil: none).
    public var representationSize: Int?
    public var classes: Int

    /// `T` at `imageSize`: the patches and the class token.
    public var tokens: Int { (imageSize / patchSize) * (imageSize / patchSize) + 1 }

    public init(
      imageSize: Int, patchSize: Int, hiddenDim: Int, mlpDim: Int, layers: Int, heads: Int,
      representationSize: Int? = nil, classes: Int
    ) {
      self.imageSize = imageSize
      self.patchSize = patchSize
      self.hiddenDim = hiddenDim
      self.mlpDim = mlpDim
      self.layers = layers
      self.heads = heads
      self.representationSize = representationSize
      self.classes = classes
    }

    /// torchvision's `vit_b_16`: 224 px, patch 16, D 768, M 3072, 12 blocks of 12 heads.
    public static func b16(classes: Int = 1000) -> Configuration {
      Configuration(
        imageSize: 224, patchSize: 16, hiddenDim: 768, mlpDim: 3072, layers: 12, heads: 12, classes: classes)
    }

    /// torchvision's `vit_b_32`: as B/16 with patch 32.
    public static func b32(classes: Int = 1000) -> Configuration {
      Configuration(
        imageSize: 224, patchSize: 32, hiddenDim: 768, mlpDim: 3072, layers: 12, heads: 12, classes: classes)
    }

    /// The head count of torchvision's ViTs, which no tensor's shape gives: heads of width 64 (B/16, B/32:
    /// 768 = 12 × 64; L/16, L/32: 1024 = 16 × 64), except H/14, whose 1280 is 16 heads of 80. Nil when the
    /// hidden size is neither 1280 nor a multiple of 64.
    public static func defaultHeads(hiddenDim: Int) -> Int? {
      if hiddenDim == 1280 { return 16 }
      return hiddenDim > 0 && hiddenDim % 64 == 0 ? hiddenDim / 64 : nil
    }
  }

  /// torchvision's layer-norm ε for ViTs (`partial(nn.LayerNorm, eps=1e-6)`).
  public static let epsilon: Float = 1e-6

  public let configuration: Configuration
  /// Patch embedding, tokens, encoder blocks, class token, final norm.
  public let network: Sequential

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let patches = PatchGeometry(imageSize: configuration.imageSize, patchSize: configuration.patchSize)
    precondition(
      patches.accepts(side: x.h) && patches.accepts(side: x.w),
      "this vision transformer takes sides that are multiples of its patch size \(patches.patchSize), got \(x.h)×\(x.w)"
    )
    return network.forward(x, workspace: ws, tape: tape)
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    network.backward(gy, workspace: ws, tape: tape)
  }

  /// Loads a torchvision ViT state dict; every size is read from the shapes (see `configuration(of:heads:)`).
  ///
  /// - Parameters:
  ///   - weights: the checkpoint (`.pth` or `.safetensors`, through `CheckpointWeights`).
  ///   - name: the classifier's name (`vit_b_16`).
  ///   - heads: the number of attention heads (default: `Configuration.defaultHeads`).
  public static func load(_ weights: any WeightSource, name: String, heads: Int? = nil) throws -> ImageClassifier {
    try build(WeightReader(weights), configuration: configuration(of: weights, heads: heads), name: name)
  }

  /// The sizes of the ViT stored in `weights`: patch size and `D` from `conv_proj.weight [D, 3, p, p]`, `T`
  /// from `encoder.pos_embedding [1, T, D]` (image size `p·√(T − 1)`), the number of blocks from the
  /// highest `encoder.layers.encoder_layer_{i}`, `M` from block 0's first MLP weight `[M, D]`, the classes
  /// (and `R`) from `heads.head.weight` (and `heads.pre_logits.weight`).
  public static func configuration(of weights: any WeightSource, heads: Int? = nil) throws -> Configuration {
    let file = weights.origin
    func shape(_ key: String, rank: Int, _ what: String) throws -> [Int] {
      guard let s = weights.shape(of: key) else { throw ModelError(file: file, "missing key '\(key)' (\(what))") }
      guard s.count == rank else {
        throw ModelError(file: file, "shape mismatch for '\(key)': expected \(what), the file has \(s)")
      }
      return s
    }
    let conv = try shape("conv_proj.weight", rank: 4, "the patch embedding, [hidden, 3, patch, patch]")
    let (d, p) = (conv[0], conv[2])
    guard conv[1] == 3, conv[3] == p, p > 0 else {
      throw ModelError(
        file: file, "shape mismatch for 'conv_proj.weight': expected [hidden, 3, patch, patch], the file has \(conv)")
    }
    let pos = try shape("encoder.pos_embedding", rank: 3, "[1, tokens, hidden]")
    let t = pos[1]
    let side = Int(Double(max(0, t - 1)).squareRoot().rounded())
    guard pos[0] == 1, pos[2] == d, t > 1, side * side == t - 1 else {
      throw ModelError(
        file: file,
        "shape mismatch for 'encoder.pos_embedding': expected [1, 1 + n², \(d)] (a class token and an n×n grid of "
          + "patches), the file has \(pos)")
    }
    let prefix = "encoder.layers.encoder_layer_"
    let indices = weights.names.compactMap { name -> Int? in
      guard name.hasPrefix(prefix) else { return nil }
      return Int(name.dropFirst(prefix.count).prefix { $0.isNumber })
    }
    guard let last = indices.max() else {
      throw ModelError(file: file, "missing key '\(prefix)0.ln_1.weight' (no encoder blocks)")
    }
    let mlp = try shape(mlpKeys(weights, block: 0).first + ".weight", rank: 2, "[mlp, hidden]")
    var representation: Int? = nil
    if let pre = weights.shape(of: "heads.pre_logits.weight") {
      guard pre.count == 2 else {
        throw ModelError(
          file: file,
          "shape mismatch for 'heads.pre_logits.weight': expected [representation, hidden], the file has \(pre)")
      }
      representation = pre[0]
    }
    let head = try shape("heads.head.weight", rank: 2, "[classes, \(representation ?? d)]")
    guard let h = heads ?? Configuration.defaultHeads(hiddenDim: d) else {
      throw ModelError(file: file, "hidden size \(d) is not a multiple of 64: give the number of attention heads")
    }
    guard h > 0, d % h == 0 else {
      throw ModelError(file: file, "\(h) attention heads do not divide the hidden size \(d)")
    }
    return Configuration(
      imageSize: p * side, patchSize: p, hiddenDim: d, mlpDim: mlp[0], layers: last + 1, heads: h,
      representationSize: representation, classes: head[0])
  }

  /// Block `i`'s MLP linear layers: `mlp.0`/`mlp.3` (torchvision ≥ 0.13) or `mlp.linear_1`/`mlp.linear_2`
  /// (older checkpoints, which torchvision renames when loading).
  static func mlpKeys(_ weights: any WeightSource, block i: Int) -> (first: String, second: String) {
    let p = "encoder.layers.encoder_layer_\(i).mlp"
    if weights.shape(of: "\(p).0.weight") == nil && weights.shape(of: "\(p).linear_1.weight") != nil {
      return ("\(p).linear_1", "\(p).linear_2")
    }
    return ("\(p).0", "\(p).3")
  }

  /// Builds the classifier, reading (or, for a synthetic reader, inventing) every tensor.
  public static func build(_ r: WeightReader, configuration c: Configuration, name: String) throws -> ImageClassifier {
    let (d, m, p) = (c.hiddenDim, c.mlpDim, c.patchSize)
    precondition(c.heads > 0 && d % c.heads == 0, "\(c.heads) heads do not divide \(d)")
    func layerNorm(_ key: String) throws -> LayerNorm {
      LayerNorm(
        weight: try r.take("\(key).weight", shape: [d]), bias: try r.take("\(key).bias", shape: [d]), epsilon: epsilon)
    }
    func linear(_ key: String, _ fin: Int, _ fout: Int) throws -> TokenLinear {
      TokenLinear(try r.linear(key, inFeatures: fin, outFeatures: fout))
    }
    var layers: [any FrozenLayer] = [
      try r.convBN(
        "conv_proj", bn: nil, inChannels: 3, outChannels: d, kernel: p, stride: p, padding: .symmetric(0),
        activation: .identity, epsilon: 0, bias: true),
      ClassTokenEmbedding(
        classToken: try r.take("class_token", shape: [1, 1, d]),
        positions: try r.take("encoder.pos_embedding", shape: [1, c.tokens, d])),
    ]
    for i in 0..<c.layers {
      let b = "encoder.layers.encoder_layer_\(i)"
      let a = "\(b).self_attention"
      let attention = MultiHeadSelfAttention(
        embedDim: d, heads: c.heads, inProjWeight: try r.take("\(a).in_proj_weight", shape: [3 * d, d]),
        inProjBias: try r.take("\(a).in_proj_bias", shape: [3 * d]),
        outProjWeight: try r.take("\(a).out_proj.weight", shape: [d, d]),
        outProjBias: try r.take("\(a).out_proj.bias", shape: [d]))
      layers.append(Residual(body: Sequential([try layerNorm("\(b).ln_1"), attention])))
      let mlp = r.isSynthetic ? (first: "\(b).mlp.0", second: "\(b).mlp.3") : mlpKeys(r.source, block: i)
      layers.append(
        Residual(
          body: Sequential([
            try layerNorm("\(b).ln_2"), try linear(mlp.first, d, m), SmoothActivationLayer(.gelu),
            try linear(mlp.second, m, d),
          ])))
    }
    layers.append(ClassTokenPooling())
    layers.append(try layerNorm("encoder.ln"))
    let vit = VisionTransformer(configuration: c, network: Sequential(layers))
    var body: [any FrozenLayer] = [vit]
    var features = d
    if let rep = c.representationSize {
      body += [try linear("heads.pre_logits", d, rep), SmoothActivationLayer(.tanh)]
      features = rep
    }
    let head = try r.linear("heads.head", inFeatures: features, outFeatures: c.classes)
    try r.finish()
    return ImageClassifier(
      name: name, body: Sequential(body), head: head, normalization: .imageNet,
      patches: PatchGeometry(imageSize: c.imageSize, patchSize: c.patchSize))
  }
}
