/// A vision transformer's token sequence from its patch embeddings: the learned class token is put first and
/// the learned positional embedding is added, `[N, h, w, D]` (the patch grid, row-major — torchvision's
/// `flatten(2).transpose(1, 2)` order) → `[N, 1, 1 + h·w, D]`.
///
/// Nothing is kept for the backward pass: `∂L/∂patches` is `∂L/∂y` without the class token's row.
public struct ClassTokenEmbedding: FrozenLayer, Sendable {
  /// `class_token`, `[D]`.
  public let classToken: [Float]
  /// `pos_embedding`, `[T, D]` with `T = 1 + patches`.
  public let positions: [Float]
  public var width: Int { classToken.count }
  public var tokens: Int { positions.count / classToken.count }

  public init(classToken: [Float], positions: [Float]) {
    precondition(
      !classToken.isEmpty && positions.count % classToken.count == 0 && positions.count > classToken.count,
      "positional embedding of \(positions.count) values does not fit tokens of width \(classToken.count)")
    self.classToken = classToken
    self.positions = positions
  }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let (d, t) = (width, tokens)
    precondition(x.c == d, "class token of width \(d), patch embeddings of width \(x.c)")
    precondition(
      x.h * x.w + 1 == t, "\(x.h)×\(x.w) patches and a class token make \(x.h * x.w + 1) tokens, the positions \(t)")
    let y = ws.featureMap(n: x.n, h: 1, w: t, c: d)
    positions.withUnsafeBufferPointer { pos in
      classToken.withUnsafeBufferPointer { cls in
        ws.forEach(x.n) { n in
          let out = y.pointer + n * t * d
          out.update(from: cls.baseAddress!, count: d)
          (out + d).update(from: x.pointer + n * (t - 1) * d, count: (t - 1) * d)
          Elementwise.add(out, pos.baseAddress!, count: t * d)
        }
      }
    }
    tape?.push(Tape.Entry(bytes: nil, count: 0, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let saved = tape.pop()
    let (d, t) = (gy.c, gy.h * gy.w)
    let gx = ws.featureMap(n: gy.n, h: saved.inputH, w: saved.inputW, c: d)
    for n in 0..<gy.n { (gx.pointer + n * (t - 1) * d).update(from: gy.pointer + (n * t + 1) * d, count: (t - 1) * d) }
    ws.release(gy)
    return gx
  }
}

/// The class token of each sequence: `[N, 1, T, D]` → `[N, 1, 1, D]` (token 0), what a vision transformer
/// classifies. The backward pass puts `∂L/∂y` in row 0 and zeros elsewhere.
public struct ClassTokenPooling: FrozenLayer, Sendable {
  public init() {}

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let (d, t) = (x.c, x.h * x.w)
    let y = ws.featureMap(n: x.n, h: 1, w: 1, c: d)
    for n in 0..<x.n { (y.pointer + n * d).update(from: x.pointer + n * t * d, count: d) }
    tape?.push(Tape.Entry(bytes: nil, count: 0, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let saved = tape.pop()
    let d = gy.c
    let t = saved.inputH * saved.inputW
    let gx = ws.featureMap(n: gy.n, h: saved.inputH, w: saved.inputW, c: d)
    for n in 0..<gy.n {
      let image = gx.pointer + n * t * d
      image.update(from: gy.pointer + n * d, count: d)
      (image + d).update(repeating: 0, count: (t - 1) * d)
    }
    ws.release(gy)
    return gx
  }
}
