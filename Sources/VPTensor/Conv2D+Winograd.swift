import CKernels
import Foundation

/// The Winograd-transformed filters of one convolution, computed on first use and shared by every copy of the
/// layer and every worker thread.
final class WinogradFilterCache: @unchecked Sendable {
  private let lock = NSLock()
  private var filters: [Float]?

  /// The cached filters, made by `make` (under the lock, so once) the first time.
  func filters(_ make: () -> [Float]) -> [Float] {
    lock.lock()
    defer { lock.unlock() }
    if let filters { return filters }
    let made = make()
    filters = made
    return made
  }
}

/// Winograd F(4×4, 3×3) (Lavin & Gray 2016; interpolation points 0, ±1, ±2, ∞) for 3×3 stride-1 ungrouped
/// convolutions of frozen models.
///
/// Each 6×6 input tile `D` (tiles 4 pixels apart, overlapping by 2) gives a 4×4 output tile
/// `Y = Aᵀ [Σ_c U_c ⊙ (Bᵀ D_c B)] A` with `U = G g Gᵀ` the transformed 3×3 filters: per tile element ξ (36 of them)
/// the channel sum is one GEMM `[tiles × C_in] · [C_in × C_out]`, 36 multiplications per 16 outputs instead of 144.
/// The input gradient is the exact adjoint, `∂D_c = B [Σ_o U ⊙ (A ∂Y_o Aᵀ)] Bᵀ` added into overlapping input
/// tiles: the same transformed filters (the GEMMs use them transposed), so there is no second filter transform.
/// Tile transforms run in C (AVX2/FMA, `winograd.c`); the filter transform in double precision, once per layer.
///
/// Memory: the transformed filters, `36 · C_in · C_out` floats per layer (4× its weights; 37.6 MB for the ten
/// layers of ResNet-18 with at most 256 channels), made on first use and kept; and per block of tiles, for the
/// duration of one call, `36 · tiles · (C_in + C_out)` floats of workspace — 196 tiles per 56×56 map, so
/// 3.6 MB per 224² image at 64 channels, 1.8 MB at 128, 1.2 MB at 256 (the first stage's is the largest).
enum Winograd {
  /// Elements per transformed 6×6 tile.
  static let elements = 36
  /// `G` (6×3), the filter transform.
  static let g: [[Double]] = [
    [1.0 / 4, 0, 0],
    [-1.0 / 6, -1.0 / 6, -1.0 / 6],
    [-1.0 / 6, 1.0 / 6, -1.0 / 6],
    [1.0 / 24, 1.0 / 12, 1.0 / 6],
    [1.0 / 24, -1.0 / 12, 1.0 / 6],
    [0, 0, 1],
  ]

  /// `VPBOOK_WINOGRAD=0` turns Winograd off everywhere (the im2col path runs instead), for comparisons.
  static let enabled = ProcessInfo.processInfo.environment["VPBOOK_WINOGRAD"] != "0"

  /// Tiles per transform block: the transformed input and the GEMM results of a block,
  /// `36 · tiles · (C_in + C_out)` floats, are kept to about 16 MB (a worker's micro-batch is one block).
  static func blockTiles(channels: Int) -> Int { max(16, (1 << 22) / (elements * max(1, channels))) }
}

/// When a convolution runs as Winograd F(4×4, 3×3) (`Conv2D.winograd`).
public enum WinogradPolicy: Sendable, Equatable {
  /// Always im2col + GEMM: the bits of the direct convolution.
  case never
  /// Where it is faster than im2col (`Conv2D.winogradPays`, `Conv2D.winogradPaysBackward`): frozen models'
  /// layers.
  case whenFaster
  /// Whenever the shape allows (tests of the kernels at every size).
  case always
}

extension Conv2D {
  /// Whether the layer has the shape Winograd F(4×4, 3×3) computes: a 3×3, stride-1, ungrouped convolution (any
  /// zero padding).
  public var hasWinogradShape: Bool {
    kernelH == 3 && kernelW == 3 && strideH == 1 && strideW == 1 && groups == 1
  }

  /// Whether `forward`/`backward` may run as Winograd: the layer opted in (`winograd` is not `.never`), has the
  /// shape, and `VPBOOK_WINOGRAD` is not `0`.
  public var winogradEnabled: Bool { winograd != .never && hasWinogradShape && Winograd.enabled }

  /// Whether the forward pass (or the input gradient, `backward`) of `n` images with `outputH × outputW` outputs
  /// runs as Winograd. The two are chosen separately: the forward pass records the same mask either way.
  func runsWinograd(n: Int, outputH: Int, outputW: Int, backward: Bool) -> Bool {
    guard winogradEnabled else { return false }
    switch winograd {
    case .never: return false
    case .always: return true
    case .whenFaster:
      let channels = max(inChannels, outChannels)
      return backward
        ? Self.winogradPaysBackward(n: n, outputH: outputH, outputW: outputW, channels: channels)
        : Self.winogradPays(n: n, outputH: outputH, outputW: outputW, channels: channels)
    }
  }

  /// Whether Winograd's forward pass beats im2col's for `n` images of `outputH × outputW` pixels (measured on
  /// ResNet-18's layers at one worker's micro-batch, `vpbench --conv` and `VPBOOK_PROFILE=1 vpbench`): when the
  /// tiles save at least half of the 4× fewer multiplications (not so below 6 px, where most of a 4×4 tile is
  /// padding: at 2×2 px Winograd does as many as im2col), and when there are at least `channels / 32` tiles —
  /// each of the 36 GEMMs has one row per tile and reads a `C_in × C_out` block of the transformed filters (1 MB
  /// at 512 channels), so with few tiles it streams 4× the weights of im2col for little work: at 512 channels,
  /// 7 px, 8 tiles ran at 0.8–1.1× im2col's speed, 32 tiles 1.3×, 64 tiles 1.8×; at 256 channels, 24 tiles 1.4–2.9×.
  public static func winogradPays(n: Int, outputH: Int, outputW: Int, channels: Int) -> Bool {
    let tiles = n * ((outputH + 3) / 4) * ((outputW + 3) / 4)
    return 9 * n * outputH * outputW >= 2 * 36 * tiles && 32 * tiles >= channels
  }

  /// Whether Winograd's input gradient beats im2col's: with at least `channels / 32` tiles (as the forward pass),
  /// or with at least 4 images whatever the size — im2col's input gradient runs one GEMM per image (each image's
  /// gradient is its own scatter target), which reads the `9 · C_in · C_out` weights once per image where
  /// Winograd reads its `36 · C_in · C_out` once. In ResNet-18 at 512 channels (per call, CPU time): 7 px and two
  /// images 15 ms Winograd against 8–9 ms im2col; 4 px and six images 8–10 ms against 12 ms; 2 px and 24 images
  /// Winograd 2–3× faster.
  public static func winogradPaysBackward(n: Int, outputH: Int, outputW: Int, channels: Int) -> Bool {
    let tiles = n * ((outputH + 3) / 4) * ((outputW + 3) / 4)
    return 32 * tiles >= channels || n >= 4
  }

  /// A copy with the given Winograd policy.
  public func withWinograd(_ policy: WinogradPolicy) -> Conv2D {
    var copy = self
    copy.winograd = policy
    return copy
  }

  /// `U[ξ][c][o] = (G g Gᵀ)[i][k]` with `ξ = 6i + k` and `g = W[o, ·, ·, c]`, in double precision, rounded once.
  func makeWinogradFilters() -> [Float] {
    let (cin, cout) = (inChannels, outChannels)
    var u = [Float](repeating: 0, count: Winograd.elements * cin * cout)
    let g = Winograd.g
    weight.withUnsafeBufferPointer { w in
      u.withUnsafeMutableBufferPointer { ub in
        var gg = [Double](repeating: 0, count: 18)  // G·g, 6×3
        for o in 0..<cout {
          for c in 0..<cin {
            for i in 0..<6 {
              for b in 0..<3 {
                var s = 0.0
                for a in 0..<3 { s += g[i][a] * Double(w[((o * 3 + a) * 3 + b) * cin + c]) }
                gg[i * 3 + b] = s
              }
            }
            for i in 0..<6 {
              for k in 0..<6 {
                var s = 0.0
                for b in 0..<3 { s += gg[i * 3 + b] * g[k][b] }
                ub[((i * 6 + k) * cin + c) * cout + o] = Float(s)
              }
            }
          }
        }
      }
    }
    return u
  }

  var winogradFilters: [Float] { winogradCache.filters { makeWinogradFilters() } }

  func winogradForward(
    _ x: FeatureMap, _ y: FeatureMap, _ b: UnsafePointer<Float>, _ mask: UnsafeMutablePointer<UInt8>?,
    _ ws: Workspace
  ) {
    let p = padding.resolve(h: x.h, w: x.w, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1)
    let (cin, cout, act) = (inChannels, outChannels, activation.code)
    let (th, tw) = ((y.h + 3) / 4, (y.w + 3) / 4)
    let blockImages = max(1, min(x.n, Winograd.blockTiles(channels: cin + cout) / (th * tw)))
    let filters = winogradFilters
    filters.withUnsafeBufferPointer { ub in
      let u = ub.baseAddress!
      for n0 in stride(from: 0, to: x.n, by: blockImages) {
        let images = min(blockImages, x.n - n0)
        let tiles = images * th * tw
        let v = ws.floats(Winograd.elements * tiles * cin)
        let m = ws.floats(Winograd.elements * tiles * cout)
        let xb = x.pointer + n0 * x.h * x.w * cin
        let yb = y.pointer + n0 * y.h * y.w * cout
        let mb = mask.map { $0 + n0 * y.h * y.w * cout }
        ws.forRanges(images * th, minimum: 1) { rows in
          vp_winograd_f43_input(
            xb, Int32(x.h), Int32(x.w), Int32(cin), Int32(p.top), Int32(p.left), Int32(th), Int32(tw),
            Int32(rows.lowerBound), Int32(rows.upperBound), v, tiles * cin)
        }
        ws.forEach(Winograd.elements) { e in
          BLAS.sgemm(
            transA: false, transB: false, m: tiles, n: cout, k: cin, a: v + e * tiles * cin, lda: cin,
            b: u + e * cin * cout, ldb: cout, c: m + e * tiles * cout, ldc: cout)
        }
        ws.forRanges(images * th, minimum: 1) { rows in
          vp_winograd_f43_output(
            m, tiles * cout, Int32(cout), Int32(th), Int32(tw), Int32(rows.lowerBound), Int32(rows.upperBound), b, act,
            yb, Int32(y.h), Int32(y.w), mb)
        }
        ws.release(m, count: Winograd.elements * tiles * cout)
        ws.release(v, count: Winograd.elements * tiles * cin)
      }
    }
  }

  /// `∂L/∂x` from `∂L/∂y` (already masked by the activation's derivative).
  func winogradBackward(_ gy: FeatureMap, _ gx: FeatureMap, _ ws: Workspace) {
    let p = padding.resolve(h: gx.h, w: gx.w, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1)
    let (cin, cout) = (inChannels, outChannels)
    let (th, tw) = ((gy.h + 3) / 4, (gy.w + 3) / 4)
    let blockImages = max(1, min(gy.n, Winograd.blockTiles(channels: cin + cout) / (th * tw)))
    let filters = winogradFilters
    gx.pointer.update(repeating: 0, count: gx.count)
    filters.withUnsafeBufferPointer { ub in
      let u = ub.baseAddress!
      for n0 in stride(from: 0, to: gy.n, by: blockImages) {
        let images = min(blockImages, gy.n - n0)
        let tiles = images * th * tw
        let v = ws.floats(Winograd.elements * tiles * cout)
        let z = ws.floats(Winograd.elements * tiles * cin)
        let gyb = gy.pointer + n0 * gy.h * gy.w * cout
        let gxb = gx.pointer + n0 * gx.h * gx.w * cin
        ws.forRanges(images * th, minimum: 1) { rows in
          vp_winograd_f43_output_adjoint(
            gyb, Int32(gy.h), Int32(gy.w), Int32(cout), Int32(th), Int32(tw), Int32(rows.lowerBound),
            Int32(rows.upperBound), v, tiles * cout)
        }
        ws.forEach(Winograd.elements) { e in
          BLAS.sgemm(
            transA: false, transB: true, m: tiles, n: cin, k: cout, a: v + e * tiles * cout, lda: cout,
            b: u + e * cin * cout, ldb: cout, c: z + e * tiles * cin, ldc: cin)
        }
        // Tiles overlap their neighbours by two pixels: the tiles of even rows are added first, then those of
        // odd rows, each set split over threads when allowed — the same order of sums however the work is split.
        for parity in 0..<2 {
          ws.forRanges(images * th, minimum: 2) { rows in
            vp_winograd_f43_input_adjoint(
              z, tiles * cin, Int32(cin), Int32(th), Int32(tw), Int32(rows.lowerBound), Int32(rows.upperBound),
              Int32(parity), gxb, Int32(gx.h), Int32(gx.w), Int32(p.top), Int32(p.left))
          }
        }
        ws.release(z, count: Winograd.elements * tiles * cin)
        ws.release(v, count: Winograd.elements * tiles * cout)
      }
    }
  }
}
