import Foundation

/// A vision transformer's token sequence from its patch embeddings: the learned class token is put first and
/// the learned positional embedding is added, `[N, h, w, D]` (the patch grid, row-major — torchvision's
/// `flatten(2).transpose(1, 2)` order) → `[N, 1, 1 + h·w, D]`.
///
/// The checkpoint's embedding has one position per patch of a `g × g` grid (its image size over the patch
/// size). Another grid `h × w` gets the class token's position unchanged and the `g × g` patch positions
/// resized to `h × w` by `BicubicInterpolation` (`alignCorners` false: Hugging Face's
/// `interpolate_pos_encoding`), built once per grid and kept (`positions(rows:columns:)`), so one loaded model
/// serves every canvas. The checkpoint's own grid uses the stored embedding as it is: no interpolation.
///
/// Nothing is kept for the backward pass: `∂L/∂patches` is `∂L/∂y` without the class token's row (the positions
/// are constants).
public struct ClassTokenEmbedding: FrozenLayer, Sendable {
  /// `class_token`, `[D]`.
  public let classToken: [Float]
  /// The checkpoint's `pos_embedding`, `[T, D]` with `T = 1 + g²`: the class token's position, then the `g × g`
  /// grid of patches row by row.
  public let positions: [Float]
  /// `g`, the side of the checkpoint's grid of patches.
  public let grid: Int
  /// The interpolated embeddings built so far, by grid.
  private let resized = ResizedPositions()
  public var width: Int { classToken.count }
  public var tokens: Int { positions.count / classToken.count }

  public init(classToken: [Float], positions: [Float]) {
    precondition(
      !classToken.isEmpty && positions.count % classToken.count == 0 && positions.count > classToken.count,
      "positional embedding of \(positions.count) values does not fit tokens of width \(classToken.count)")
    let patches = positions.count / classToken.count - 1
    let g = Int(Double(patches).squareRoot().rounded())
    precondition(g * g == patches, "\(patches) patch positions are not a square grid")
    self.classToken = classToken
    self.positions = positions
    self.grid = g
  }

  /// The positional embedding `[1 + h·w, D]` for an `h × w` grid of patches: the stored one for the checkpoint's
  /// grid (`g × g`), otherwise the class token's position followed by the patch positions resized from `g × g`
  /// to `h × w` (bicubic, `align_corners=False`), built on the first request for that grid. Thread-safe.
  public func positions(rows h: Int, columns w: Int) -> [Float] {
    precondition(h > 0 && w > 0, "a grid of \(h)×\(w) patches")
    if h == grid && w == grid { return positions }
    return resized.positions(rows: h, columns: w) {
      let d = width
      return Array(positions[0..<d])
        + BicubicInterpolation.resize(
          Array(positions[d...]), height: grid, width: grid, channels: d, toHeight: h, toWidth: w)
    }
  }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let d = width
    precondition(x.c == d, "class token of width \(d), patch embeddings of width \(x.c)")
    let t = x.h * x.w + 1
    let y = ws.featureMap(n: x.n, h: 1, w: t, c: d)
    positions(rows: x.h, columns: x.w).withUnsafeBufferPointer { pos in
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

/// The positional embeddings a `ClassTokenEmbedding` has interpolated, by grid; shared by the copies of the layer
/// and by the workers that run it concurrently.
private final class ResizedPositions: @unchecked Sendable {
  /// Keyed by `[rows, columns]`.
  private var byGrid: [[Int]: [Float]] = [:]
  private let lock = NSLock()

  func positions(rows h: Int, columns w: Int, build: () -> [Float]) -> [Float] {
    lock.lock()
    defer { lock.unlock() }
    if let p = byGrid[[h, w]] { return p }
    let p = build()
    byGrid[[h, w]] = p
    return p
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
