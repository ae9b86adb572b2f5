import Foundation
import VPTensor

/// The key layouts of CLIP checkpoints that `CLIP.load` reads.
public enum CLIPLayout: String, Sendable, Equatable, CaseIterable {
  /// OpenAI's `model.state_dict()` (`visual.conv1.weight`, `transformer.resblocks.{i}…`, `text_projection`),
  /// as `torch.save` writes it (`.pth`) or as `.safetensors`; open_clip's state dicts of ViT models use the
  /// same keys.
  case openAI = "OpenAI"
  /// Hugging Face's `CLIPModel` (`vision_model.…`, `text_model.…`, `visual_projection.weight`), as in
  /// `openai/clip-vit-base-patch32`'s `model.safetensors`.
  case huggingFace = "Hugging Face CLIPModel"
}

extension CLIP {
  /// Entries some checkpoints carry that hold no weights: OpenAI's TorchScript state dicts keep the sizes
  /// `input_resolution`, `context_length`, `vocab_size`; Hugging Face's files may keep `position_ids` buffers.
  static let ignoredKeys: Set<String> = [
    "input_resolution", "context_length", "vocab_size", "text_model.embeddings.position_ids",
    "vision_model.embeddings.position_ids",
  ]

  /// Reads a CLIP from a checkpoint file (`.pth` or `.safetensors`) in either layout.
  public static func load(path: String, heads: (vision: Int, text: Int)? = nil) throws -> CLIP {
    try load(CheckpointWeights(path: path), heads: heads)
  }

  /// Reads a CLIP in either layout (detected from the keys, `layout(of:)`); every size comes from the shapes
  /// (`configuration(of:heads:)`).
  ///
  /// - Parameter heads: the attention heads of each tower (default: width / 64, as OpenAI's `build_model`).
  public static func load(_ weights: any WeightSource, heads: (vision: Int, text: Int)? = nil) throws -> CLIP {
    let source = WithoutIgnoredKeys(base: weights)
    let layout = try self.layout(of: source)
    let configuration = try self.configuration(of: source, heads: heads)
    return try build(WeightReader(source), configuration: configuration, layout: layout)
  }

  /// The layout of `weights` from its keys; any other layout is an error naming the file.
  public static func layout(of weights: any WeightSource) throws -> CLIPLayout {
    let names = weights.names
    if names.contains(where: { $0.hasPrefix("visual.layer1.") || $0.hasPrefix("visual.attnpool.") }) {
      throw ModelError(
        file: weights.origin,
        "a CLIP with a ResNet image tower (visual.layer1…, visual.attnpool…); vpbook reads CLIPs with a ViT "
          + "image tower only (ViT-B/32, ViT-B/16, ViT-L/14)")
    }
    if names.contains(where: { $0.hasPrefix("visual.") }) || names.contains("token_embedding.weight") {
      return .openAI
    }
    if names.contains(where: { $0.hasPrefix("vision_model.") || $0.hasPrefix("text_model.") }) {
      return .huggingFace
    }
    let shown = names.prefix(3).map { "'\($0)'" }.joined(separator: ", ")
    throw ModelError(
      file: weights.origin,
      "not a CLIP checkpoint: expected OpenAI's keys (visual.conv1.weight, token_embedding.weight, …) or Hugging "
        + "Face CLIPModel's (vision_model.…, text_model.…), found \(names.isEmpty ? "no tensors" : shown + "…")")
  }

  /// The sizes of the CLIP in `weights`: patch size and `W` from the patch embedding `[W, 3, p, p]`, the image
  /// size from the positional embedding `[1 + (S/p)², W]`, each tower's block count from its highest block
  /// index and its MLP width from block 0's first MLP weight, the context and vocabulary from the text
  /// embeddings, `w` from the final layer norm, `E` from the text projection.
  public static func configuration(
    of weights: any WeightSource, heads: (vision: Int, text: Int)? = nil
  ) throws -> Configuration {
    let keys = CLIPKeys(try layout(of: weights))
    let file = weights.origin
    func shape(_ key: String, rank: Int, _ what: String) throws -> [Int] {
      guard let s = weights.shape(of: key) else { throw ModelError(file: file, "missing key '\(key)' (\(what))") }
      guard s.count == rank, s.allSatisfy({ $0 > 0 }) else {
        throw ModelError(file: file, "shape mismatch for '\(key)': expected \(what), the file has \(s)")
      }
      return s
    }
    func layers(_ prefix: String) throws -> Int {
      let indices = weights.names.compactMap { name -> Int? in
        guard name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count).prefix { $0.isNumber })
      }
      guard let last = indices.max() else {
        throw ModelError(file: file, "missing key '\(prefix)0.\(keys.ln1).weight' (no transformer blocks)")
      }
      return last + 1
    }
    func headCount(_ width: Int, _ given: Int?, _ tower: String) throws -> Int {
      guard let h = given ?? (width % 64 == 0 ? width / 64 : nil) else {
        throw ModelError(
          file: file, "the \(tower) tower's width \(width) is not a multiple of 64 (CLIP's heads are 64 wide)")
      }
      guard h > 0, width % h == 0 else {
        throw ModelError(file: file, "\(h) attention heads do not divide the \(tower) tower's width \(width)")
      }
      return h
    }
    let conv = try shape(keys.patch + ".weight", rank: 4, "the patch embedding, [width, 3, patch, patch]")
    let (vw, p) = (conv[0], conv[2])
    guard conv[1] == 3, conv[3] == p else {
      throw ModelError(
        file: file, "shape mismatch for '\(keys.patch).weight': expected [width, 3, patch, patch], the file has \(conv)"
      )
    }
    let pos = try shape(keys.visionPositions, rank: 2, "[tokens, \(vw)]")
    let side = Int(Double(max(0, pos[0] - 1)).squareRoot().rounded())
    guard pos[1] == vw, pos[0] > 1, side * side == pos[0] - 1 else {
      throw ModelError(
        file: file,
        "shape mismatch for '\(keys.visionPositions)': expected [1 + n², \(vw)] (a class token and an n×n grid of "
          + "patches), the file has \(pos)")
    }
    let visionLayers = try layers(keys.visionBlocks)
    let visionMLP = try shape("\(keys.visionBlocks)0.\(keys.fc1).weight", rank: 2, "[mlp, \(vw)]")[0]
    let tokens = try shape(keys.tokenEmbedding, rank: 2, "[vocabulary, width]")
    let context = try shape(keys.textPositions, rank: 2, "[context, \(tokens[1])]")
    let tw = try shape(keys.finalNorm + ".weight", rank: 1, "[width]")[0]
    let textLayers = try layers(keys.textBlocks)
    let textMLP = try shape("\(keys.textBlocks)0.\(keys.fc1).weight", rank: 2, "[mlp, \(tw)]")[0]
    let projection = try shape(keys.textProjection, rank: 2, keys.projectionShape(width: tw))
    let embed = keys.layout == .openAI ? projection[1] : projection[0]
    return Configuration(
      imageSize: p * side, patchSize: p, visionWidth: vw, visionMLP: visionMLP, visionLayers: visionLayers,
      visionHeads: try headCount(vw, heads?.vision, "image"), contextLength: context[0], vocabularySize: tokens[0],
      textWidth: tw, textMLP: textMLP, textLayers: textLayers, textHeads: try headCount(tw, heads?.text, "text"),
      embedDim: embed)
  }

  /// Builds the CLIP, reading (or, for a synthetic reader, inventing) every tensor in `layout`'s keys.
  public static func build(_ r: WeightReader, configuration c: Configuration, layout: CLIPLayout) throws -> CLIP {
    let k = CLIPKeys(layout)
    func layerNorm(_ key: String, _ d: Int) throws -> LayerNorm {
      LayerNorm(
        weight: try r.take("\(key).weight", shape: [d]), bias: try r.take("\(key).bias", shape: [d]), epsilon: epsilon)
    }
    /// `x @ P` for a stored `P: [in, out]` (OpenAI) or `x Pᵀ` for `P: [out, in]` (Hugging Face), no bias.
    func projection(_ key: String, _ fin: Int, _ fout: Int) throws -> Linear {
      let weight: [Float]
      switch layout {
      case .openAI:
        let p = try r.take(key, shape: [fin, fout])
        weight = (0..<(fin * fout)).map { p[($0 % fin) * fout + $0 / fin] }
      case .huggingFace:
        weight = try r.take(key, shape: [fout, fin])
      }
      return Linear(weight: weight, bias: nil, inFeatures: fin, outFeatures: fout)
    }
    func blocks(_ prefix: String, layers: Int, width d: Int, mlp m: Int, heads: Int, causal: Bool) throws
      -> [any FrozenLayer]
    {
      var result: [any FrozenLayer] = []
      for i in 0..<layers {
        let b = "\(prefix)\(i)"
        let inWeight: [Float]
        let inBias: [Float]
        switch layout {
        case .openAI:
          inWeight = try r.take("\(b).attn.in_proj_weight", shape: [3 * d, d])
          inBias = try r.take("\(b).attn.in_proj_bias", shape: [3 * d])
        case .huggingFace:
          // PyTorch's packed in_proj is [W_q; W_k; W_v] and [b_q; b_k; b_v].
          let parts = ["q_proj", "k_proj", "v_proj"].map { "\(b).self_attn.\($0)" }
          inWeight = try parts.flatMap { try r.take("\($0).weight", shape: [d, d]) }
          inBias = try parts.flatMap { try r.take("\($0).bias", shape: [d]) }
        }
        let attention = MultiHeadSelfAttention(
          embedDim: d, heads: heads, inProjWeight: inWeight, inProjBias: inBias,
          outProjWeight: try r.take("\(b).\(k.outProjection).weight", shape: [d, d]),
          outProjBias: try r.take("\(b).\(k.outProjection).bias", shape: [d]), causal: causal)
        result.append(Residual(body: Sequential([try layerNorm("\(b).\(k.ln1)", d), attention])))
        result.append(
          Residual(
            body: Sequential([
              try layerNorm("\(b).\(k.ln2)", d),
              TokenLinear(try r.linear("\(b).\(k.fc1)", inFeatures: d, outFeatures: m)),
              SmoothActivationLayer(.quickGELU),
              TokenLinear(try r.linear("\(b).\(k.fc2)", inFeatures: m, outFeatures: d)),
            ])))
      }
      return result
    }

    let (vw, p, e, tw) = (c.visionWidth, c.patchSize, c.embedDim, c.textWidth)
    var image: [any FrozenLayer] = [
      try r.convBN(
        k.patch, bn: nil, inChannels: 3, outChannels: vw, kernel: p, stride: p, padding: .symmetric(0),
        activation: .identity, epsilon: 0, bias: false),
      ClassTokenEmbedding(
        classToken: try r.take(k.classToken, shape: [vw]),
        positions: try r.take(k.visionPositions, shape: [c.visionTokens, vw])),
      try layerNorm(k.preNorm, vw),
    ]
    image += try blocks(
      k.visionBlocks, layers: c.visionLayers, width: vw, mlp: c.visionMLP, heads: c.visionHeads, causal: false)
    image += [
      ClassTokenPooling(), try layerNorm(k.postNorm, vw), TokenLinear(try projection(k.visualProjection, vw, e)),
      L2Normalization(),
    ]
    let text = CLIPTextEncoder(
      tokenEmbedding: try r.take(k.tokenEmbedding, shape: [c.vocabularySize, tw]),
      positions: try r.take(k.textPositions, shape: [c.contextLength, tw]),
      blocks: Sequential(
        try blocks(k.textBlocks, layers: c.textLayers, width: tw, mlp: c.textMLP, heads: c.textHeads, causal: true)),
      finalNorm: try layerNorm(k.finalNorm, tw), projection: try projection(k.textProjection, tw, e),
      contextLength: c.contextLength)
    let scaleShape = r.isSynthetic ? [] : (r.shape(of: "logit_scale") == [1] ? [1] : [])
    let logitScale = r.isSynthetic ? Float(Foundation.log(1 / 0.07)) : try r.take("logit_scale", shape: scaleShape)[0]
    try r.finish()
    return CLIP(
      configuration: c, layout: layout,
      imageEncoder: CLIPImageEncoder(imageSize: c.imageSize, patchSize: c.patchSize, network: Sequential(image)),
      textEncoder: text, logitScale: logitScale, origin: r.source.origin)
  }
}

/// The key names of one layout.
struct CLIPKeys {
  let layout: CLIPLayout
  init(_ layout: CLIPLayout) { self.layout = layout }

  private var openAI: Bool { layout == .openAI }
  var patch: String { openAI ? "visual.conv1" : "vision_model.embeddings.patch_embedding" }
  var classToken: String { openAI ? "visual.class_embedding" : "vision_model.embeddings.class_embedding" }
  var visionPositions: String {
    openAI ? "visual.positional_embedding" : "vision_model.embeddings.position_embedding.weight"
  }
  var preNorm: String { openAI ? "visual.ln_pre" : "vision_model.pre_layrnorm" }
  var visionBlocks: String { openAI ? "visual.transformer.resblocks." : "vision_model.encoder.layers." }
  var postNorm: String { openAI ? "visual.ln_post" : "vision_model.post_layernorm" }
  var visualProjection: String { openAI ? "visual.proj" : "visual_projection.weight" }
  var tokenEmbedding: String { openAI ? "token_embedding.weight" : "text_model.embeddings.token_embedding.weight" }
  var textPositions: String { openAI ? "positional_embedding" : "text_model.embeddings.position_embedding.weight" }
  var textBlocks: String { openAI ? "transformer.resblocks." : "text_model.encoder.layers." }
  var finalNorm: String { openAI ? "ln_final" : "text_model.final_layer_norm" }
  var textProjection: String { openAI ? "text_projection" : "text_projection.weight" }
  // Inside a block.
  var ln1: String { openAI ? "ln_1" : "layer_norm1" }
  var ln2: String { openAI ? "ln_2" : "layer_norm2" }
  var outProjection: String { openAI ? "attn.out_proj" : "self_attn.out_proj" }
  var fc1: String { openAI ? "mlp.c_fc" : "mlp.fc1" }
  var fc2: String { openAI ? "mlp.c_proj" : "mlp.fc2" }

  func projectionShape(width: Int) -> String { openAI ? "[\(width), embedding]" : "[embedding, \(width)]" }
}

/// A weight source without the entries that hold no weights (`CLIP.ignoredKeys`).
struct WithoutIgnoredKeys: WeightSource {
  let base: any WeightSource
  var origin: String { base.origin }
  var names: [String] { base.names.filter { !CLIP.ignoredKeys.contains($0) } }
  func shape(of name: String) -> [Int]? { CLIP.ignoredKeys.contains(name) ? nil : base.shape(of: name) }
  func values(of name: String) throws -> [Float] { try base.values(of: name) }
}
