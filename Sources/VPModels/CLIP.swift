import Foundation
import VPTensor
import VPText

/// OpenAI's CLIP (Radford et al., 2021) with a ViT image tower: an image encoder and a text encoder whose
/// L2-normalised embeddings are compared by `logits = exp(logit_scale) · image · textᵀ`.
///
/// | part | layers | OpenAI keys | Hugging Face `CLIPModel` keys |
/// |---|---|---|---|
/// | patches | conv `p×p`, stride `p`, 3 → W, no bias | `visual.conv1` | `vision_model.embeddings.patch_embedding` |
/// | tokens | class token first, `+` positions, LN | `visual.class_embedding`, `visual.positional_embedding`, `visual.ln_pre` | `….class_embedding`, `….position_embedding`, `vision_model.pre_layrnorm` |
/// | × L blocks | `x + attn(LN(x))`, `x + MLP(LN(x))`, MLP = W→4W, QuickGELU, 4W→W | `visual.transformer.resblocks.{i}` | `vision_model.encoder.layers.{i}` (q/k/v packed here) |
/// | output | token 0, LN, `@ proj` (W → E), L2 norm | `visual.ln_post`, `visual.proj [W, E]` | `vision_model.post_layernorm`, `visual_projection [E, W]` |
/// | text | token + position embeddings, L causal blocks, LN, row of the end token `@ text_projection`, L2 norm | `token_embedding`, `positional_embedding`, `transformer.resblocks.{i}`, `ln_final`, `text_projection [w, E]` | `text_model.…`, `text_model.final_layer_norm`, `text_projection [E, w]` |
///
/// Every size comes from the shapes, as OpenAI's `build_model` reads them; heads are 64 wide in both towers.
/// Layer norms use `ε = 1e-5`; the activation is QuickGELU (`x σ(1.702 x)`), as in OpenAI's released models
/// and Hugging Face's copies of them.
///
/// ```swift
/// let clip = try CLIP.load(CheckpointWeights(path: "ViT-B-32.safetensors"))
/// let model = try clip.classifier(classNames: ["cat", "dog"], templates: CLIPPrompts.ensemble, tokenizer: CLIPTokenizer())
/// ```
public final class CLIP: @unchecked Sendable {
  /// The sizes of a CLIP, as read from a checkpoint's shapes.
  public struct Configuration: Sendable, Equatable {
    /// `S`: the checkpoint's input side (`patchSize · √(tokens − 1)`), the grid its positional embedding is
    /// stored for; other multiples of the patch size interpolate it.
    public var imageSize: Int
    public var patchSize: Int
    /// `W`, `M` (its MLP width), layers and heads of the image tower.
    public var visionWidth: Int
    public var visionMLP: Int
    public var visionLayers: Int
    public var visionHeads: Int
    public var contextLength: Int
    public var vocabularySize: Int
    /// `w`, its MLP width, layers and heads of the text tower.
    public var textWidth: Int
    public var textMLP: Int
    public var textLayers: Int
    public var textHeads: Int
    /// `E`: the joint embedding's width.
    public var embedDim: Int

    /// Image tokens at `imageSize`: the patches and the class token.
    public var visionTokens: Int { (imageSize / patchSize) * (imageSize / patchSize) + 1 }

    public init(
      imageSize: Int, patchSize: Int, visionWidth: Int, visionMLP: Int, visionLayers: Int, visionHeads: Int,
      contextLength: Int, vocabularySize: Int, textWidth: Int, textMLP: Int, textLayers: Int, textHeads: Int,
      embedDim: Int
    ) {
      self.imageSize = imageSize
      self.patchSize = patchSize
      self.visionWidth = visionWidth
      self.visionMLP = visionMLP
      self.visionLayers = visionLayers
      self.visionHeads = visionHeads
      self.contextLength = contextLength
      self.vocabularySize = vocabularySize
      self.textWidth = textWidth
      self.textMLP = textMLP
      self.textLayers = textLayers
      self.textHeads = textHeads
      self.embedDim = embedDim
    }

    /// OpenAI's ViT-B/32: 224 px, patch 32, W 768 (12 heads), 12 blocks; text 512 wide (8 heads), 12 blocks,
    /// context 77, 49,408 tokens; E 512.
    public static let b32 = Configuration(
      imageSize: 224, patchSize: 32, visionWidth: 768, visionMLP: 3072, visionLayers: 12, visionHeads: 12,
      contextLength: 77, vocabularySize: 49408, textWidth: 512, textMLP: 2048, textLayers: 12, textHeads: 8,
      embedDim: 512)
  }

  /// Layer-norm ε of CLIP (`nn.LayerNorm`'s default, Hugging Face's `layer_norm_eps`).
  public static let epsilon: Float = 1e-5

  public let configuration: Configuration
  /// The key layout the weights were read from.
  public let layout: CLIPLayout
  /// `[N, S, S, 3]` → `[N, 1, 1, E]`, unit length.
  public let imageEncoder: CLIPImageEncoder
  public let textEncoder: CLIPTextEncoder
  /// The stored `logit_scale`; logits are scaled by `exp(logitScale)`.
  public let logitScale: Float
  /// Where the weights came from.
  public let origin: String

  init(
    configuration: Configuration, layout: CLIPLayout, imageEncoder: CLIPImageEncoder, textEncoder: CLIPTextEncoder,
    logitScale: Float, origin: String
  ) {
    self.configuration = configuration
    self.layout = layout
    self.imageEncoder = imageEncoder
    self.textEncoder = textEncoder
    self.logitScale = logitScale
    self.origin = origin
  }

  /// `exp(logit_scale)`, the factor of the cosine similarities.
  public var logitMultiplier: Float { Foundation.exp(logitScale) }

  /// Unit-length image embeddings `[N, E]` of a normalised batch `[N, S, S, 3]`.
  public func imageEmbeddings(_ x: Tensor) -> Tensor {
    let y = imageEncoder(x)
    return Tensor(shape: [y.shape[0], configuration.embedDim], data: y.data)
  }

  /// Unit-length text embeddings `[K, E]` (row-major) of token-id rows (`clip.tokenize`'s rows: start token,
  /// ids, end token, zero padding; at most `contextLength` long). Features are taken at the argmax of each row
  /// (the end token has the largest id). Forward only.
  public func textEmbeddings(tokenIDs rows: [[Int]]) throws -> [Float] {
    try textEncoder.embeddings(tokenIDs: rows, origin: origin)
  }

  /// Unit-length text embeddings `[K, E]` of `texts`, tokenised with `tokenizer` (`clip.tokenize` with this
  /// model's context length; a text too long for it is an error naming it).
  public func textEmbeddings(_ texts: [String], tokenizer: CLIPTokenizer) throws -> [Float] {
    guard tokenizer.vocabularySize == configuration.vocabularySize else {
      throw ModelError(
        file: origin,
        "the text tower has a vocabulary of \(configuration.vocabularySize) tokens, the tokenizer "
          + "\(tokenizer.vocabularySize): they do not belong together")
    }
    let rows = try texts.map { try tokenizer.tokenize($0, contextLength: configuration.contextLength) }
    return try textEmbeddings(tokenIDs: rows)
  }

  /// CLIP's prompt ensemble: for each class, every template filled with the class name
  /// (`CLIPPrompts.className`), each embedding unit length, averaged over the templates and renormalised.
  /// Returns `[K, E]` row-major.
  public func zeroShotWeights(classNames: [String], templates: [String], tokenizer: CLIPTokenizer) throws -> [Float] {
    precondition(!templates.isEmpty, "zero-shot weights need at least one template")
    let e = configuration.embedDim
    let prompts = classNames.flatMap { name in templates.map { CLIPPrompts.prompt($0, className: name) } }
    let embeddings = try textEmbeddings(prompts, tokenizer: tokenizer)
    var weights = [Float](repeating: 0, count: classNames.count * e)
    for k in 0..<classNames.count {
      var mean = [Float](repeating: 0, count: e)
      for t in 0..<templates.count {
        let row = (k * templates.count + t) * e
        for i in 0..<e { mean[i] += embeddings[row + i] }
      }
      let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), L2Normalization.smallestNorm)
      for i in 0..<e { weights[k * e + i] = mean[i] / norm }
    }
    return weights
  }

  /// A zero-shot classifier over `classNames`: this image tower as the body and
  /// `exp(logit_scale) · zeroShotWeights` as the head (bias 0), so its logits are CLIP's.
  public func classifier(
    classNames: [String], templates: [String], tokenizer: CLIPTokenizer, name: String = "clip"
  ) throws -> ImageClassifier {
    classifier(
      textEmbeddings: try zeroShotWeights(classNames: classNames, templates: templates, tokenizer: tokenizer),
      name: name)
  }

  /// A classifier whose classes are the unit-length text embeddings `[K, E]` given.
  public func classifier(textEmbeddings weights: [Float], name: String = "clip") -> ImageClassifier {
    let e = configuration.embedDim
    precondition(!weights.isEmpty && weights.count % e == 0, "text embeddings must be [K, \(e)]")
    let scale = logitMultiplier
    let head = Linear(weight: weights.map { $0 * scale }, bias: nil, inFeatures: e, outFeatures: weights.count / e)
    return ImageClassifier(
      name: name, body: Sequential([imageEncoder]), head: head, normalization: .clip,
      patches: PatchGeometry(imageSize: configuration.imageSize, patchSize: configuration.patchSize))
  }
}

extension InputNormalization {
  /// CLIP's image statistics (`clip.load`'s `Normalize`).
  public static let clip = InputNormalization(
    mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711])
}

/// CLIP's image tower as one frozen layer: `[N, S, S, 3]` → `[N, 1, 1, E]`, unit length, with its input
/// gradient.
///
/// The backward pass keeps per image and block the two layer norms' `x̂` and `1/σ` (`2·T·(W + 1)` floats), `Q`,
/// `K`, `V` (`3·T·W`) and the QuickGELU input (`T·4W`), plus `ln_pre` (`T·(W + 1)`): for ViT-B/32 at 224
/// (T 50, W 768, 12 blocks) 12 × 1.38 MB + 0.15 MB ≈ 16.7 MB per image.
///
/// Any side that is a multiple of the patch size works: at another side than the checkpoint's `imageSize`, the
/// patch positions are resized to the new grid as Hugging Face's `interpolate_pos_encoding` does (bicubic,
/// `align_corners=False`, the class token's position unchanged; see `ClassTokenEmbedding`), and `T` and the
/// memory above scale with `(S/p)² + 1`.
public struct CLIPImageEncoder: FrozenLayer {
  /// The checkpoint's image side.
  public let imageSize: Int
  public let patchSize: Int
  /// Patches, tokens, `ln_pre`, blocks, class token, `ln_post`, projection, L2 normalisation.
  public let network: Sequential

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let patches = PatchGeometry(imageSize: imageSize, patchSize: patchSize)
    precondition(
      patches.accepts(side: x.h) && patches.accepts(side: x.w),
      "this CLIP takes sides that are multiples of its patch size \(patchSize), got \(x.h)×\(x.w)")
    return network.forward(x, workspace: ws, tape: tape)
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    network.backward(gy, workspace: ws, tape: tape)
  }
}

/// CLIP's text tower, forward only: token and position embeddings, causal blocks, the final layer norm at the
/// end token, the projection and L2 normalisation.
///
/// With the causal mask, no token sees a later one, so each row is run only up to its end token (rows of equal
/// length batched together): the result is that of the full context, for a fraction of the work.
public struct CLIPTextEncoder {
  /// `[V, w]` and `[ctx, w]`, row-major.
  public let tokenEmbedding: [Float]
  public let positions: [Float]
  public let blocks: Sequential
  public let finalNorm: LayerNorm
  /// `w → E`, no bias.
  public let projection: Linear
  public let contextLength: Int
  public var width: Int { finalNorm.features }
  public var vocabularySize: Int { tokenEmbedding.count / width }
  public var embedDim: Int { projection.outFeatures }
  /// Rows per forward pass.
  static let batchRows = 64

  /// See `CLIP.textEmbeddings(tokenIDs:)`; `origin` names the weights in errors.
  func embeddings(tokenIDs rows: [[Int]], origin: String) throws -> [Float] {
    let (w, e, v) = (width, embedDim, vocabularySize)
    var ends = [Int]()
    for (r, row) in rows.enumerated() {
      guard !row.isEmpty, row.count <= contextLength else {
        throw ModelError(
          file: origin, "token row \(r) has \(row.count) ids; the text tower takes 1 to \(contextLength)")
      }
      if let bad = row.first(where: { $0 < 0 || $0 >= v }) {
        throw ModelError(file: origin, "token row \(r) has id \(bad), outside the vocabulary of \(v) tokens")
      }
      var end = 0
      for i in row.indices where row[i] > row[end] { end = i }
      ends.append(end)
    }
    var output = [Float](repeating: 0, count: rows.count * e)
    let ws = Workspace(parallel: true)
    // Rows grouped by the length up to and including their end token.
    let groups = Dictionary(grouping: rows.indices, by: { ends[$0] + 1 }).sorted { $0.key < $1.key }
    for (length, members) in groups {
      for start in stride(from: 0, to: members.count, by: Self.batchRows) {
        let batch = Array(members[start..<min(members.count, start + Self.batchRows)])
        let x = ws.featureMap(n: batch.count, h: 1, w: length, c: w)
        tokenEmbedding.withUnsafeBufferPointer { table in
          positions.withUnsafeBufferPointer { pos in
            for (b, r) in batch.enumerated() {
              for t in 0..<length {
                let dst = x.pointer + (b * length + t) * w
                dst.update(from: table.baseAddress! + rows[r][t] * w, count: w)
                Elementwise.add(dst, pos.baseAddress! + t * w, count: w)
              }
            }
          }
        }
        let y = blocks.forward(x, workspace: ws, tape: nil)
        ws.release(x)
        // The end token is the last position of every row of this group.
        let last = ws.featureMap(n: batch.count, h: 1, w: 1, c: w)
        for b in 0..<batch.count {
          (last.pointer + b * w).update(from: y.pointer + (b * length + length - 1) * w, count: w)
        }
        ws.release(y)
        let normed = finalNorm.forward(last, workspace: ws, tape: nil)
        ws.release(last)
        let projected = ws.featureMap(n: batch.count, h: 1, w: 1, c: e)
        projection.forward(normed.pointer, rows: batch.count, into: projected.pointer)
        ws.release(normed)
        let unit = L2Normalization().forward(projected, workspace: ws, tape: nil)
        ws.release(projected)
        for (b, r) in batch.enumerated() {
          for i in 0..<e { output[r * e + i] = unit.pointer[b * e + i] }
        }
        ws.release(unit)
      }
    }
    return output
  }
}
