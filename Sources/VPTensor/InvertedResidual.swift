import CKernels
import Foundation

/// Which inverted-residual blocks run fused (`VPBOOK_FUSED`, read once at start-up).
public enum BlockFusion: Sendable, Equatable {
  /// The layers one after the other, each writing its whole output (`VPBOOK_FUSED=0`).
  case off
  /// The default: fuse the pieces whose bits do not depend on the tiling — depthwise convolutions and the 1×1
  /// convolutions that run on vpbook's small-matrix kernel. The numbers are those of `.off`, bit for bit.
  case exact
  /// Fuse every piece, OpenBLAS's 1×1 products on tiles too (`VPBOOK_FUSED=all`): faster, but OpenBLAS picks
  /// other kernels for a tile's small matrices, which changes the last bits (see docs/PERFORMANCE.md).
  case all

  /// The choice of the environment: `VPBOOK_FUSED=0` off, `all` all (but exact in portable mode, whose numbers
  /// must not depend on it), anything else (or unset) exact. `.all` is named in `BLASKernels.summary`, so reports
  /// say it and cached blocks computed without it are not reused.
  public static let environment: BlockFusion = {
    let variables = ProcessInfo.processInfo.environment
    switch variables["VPBOOK_FUSED"] {
    case "0": return .off
    case "all": return variables["VPBOOK_PORTABLE"] == "1" ? .exact : .all
    default: return .exact
    }
  }()
}

/// MobileNetV2's inverted-residual block `[1×1 expand + act] → k×k depthwise (stride s) + act → 1×1 project`
/// (`+ x` when `residual`), run on tiles of output rows so that the expanded rows stay in cache.
///
/// For each image and each tile of output rows the forward pass expands only the input rows the tile needs
/// (keeping the rows it shares with the previous tile), convolves them depthwise and projects them, writing only
/// the block's output and the activations' masks (one byte per element, as the unfused layers do). The backward
/// pass runs the same way on tiles of input-gradient rows: `∂y → projectᵀ → × mask → depthwiseᵀ → × mask →
/// expandᵀ (+ ∂y)`.
///
/// Every element is computed by the routine and in the order of the unfused layers (the same 1×1 kernel, the
/// same per-pixel depthwise FMA chain, the scatter's order for the strided depthwise gradient). A 1×1 convolution
/// whose result depends on how its rows are grouped (OpenBLAS) runs unfused on the whole tensor unless `fusion`
/// is `.all`, so that with `.exact` the bits are those of the unfused layers.
public struct InvertedResidual: FrozenLayer {
  public let expand: Conv2D?
  public let depthwise: Conv2D
  public let project: Conv2D
  /// Whether the block's input is added to its output.
  public let residual: Bool
  public let fusion: BlockFusion
  /// The depthwise weights flipped (`[kh][kw][C]`), for the stride-1 gradient, a correlation.
  private let flipped: [Float]
  private let zeros: [Float]

  /// Bytes of a tile's working set (expanded rows, depthwise output rows): half of this machine's 2 MB L2. The
  /// results do not depend on it.
  public var tileBytes = 1 << 20

  public init(expand: Conv2D?, depthwise: Conv2D, project: Conv2D, residual: Bool, fusion: BlockFusion) {
    precondition(depthwise.isDepthwise && project.isPointwise && expand.map(\.isPointwise) ?? true)
    precondition(project.activation == .identity, "the projection is linear")
    precondition(
      !residual || (depthwise.strideH == 1 && expand?.inChannels ?? depthwise.inChannels == project.outChannels))
    self.expand = expand
    self.depthwise = depthwise
    self.project = project
    self.residual = residual
    self.fusion = fusion
    let (kh, kw, c) = (depthwise.kernelH, depthwise.kernelW, depthwise.outChannels)
    var f = [Float](repeating: 0, count: kh * kw * c)
    for ky in 0..<kh {
      for kx in 0..<kw {
        for ch in 0..<c { f[(ky * kw + kx) * c + ch] = depthwise.weight[((kh - 1 - ky) * kw + (kw - 1 - kx)) * c + ch] }
      }
    }
    flipped = f
    zeros = [Float](repeating: 0, count: c)
  }

  /// Whether `fusion` fuses anything in this block (otherwise the unfused layers are the better choice).
  public var fusesAnything: Bool {
    let pixels = Int.max
    return (expand.map { inTile(exact: $0.pointwiseRowsAreExact, pixels: pixels) } ?? false)
      || (expand.map { inTile(exact: $0.pointwiseBackwardRowsAreExact, pixels: pixels) } ?? false)
      || inTile(exact: project.pointwiseRowsAreExact, pixels: pixels)
      || inTile(exact: project.pointwiseBackwardRowsAreExact, pixels: pixels)
  }

  /// With `.all`, OpenBLAS's 1×1 products run on tiles only when the block's output has at least this many pixels
  /// per image: on the small maps (14×14, 7×7) a tile is a whole image, and per-image products whose weights
  /// outweigh the activations (OpenBLAS packs them again for every call) were slower than the unfused layers.
  public var minimumTiledBLASPixels = 28 * 28

  /// Whether a 1×1 product (whose rows' bits are independent of the tiling when `exact`) runs on the tiles of a
  /// block with `pixels` output pixels per image.
  func inTile(exact: Bool, pixels: Int) -> Bool {
    switch fusion {
    case .off: return false
    case .exact: return exact
    case .all: return exact || pixels >= minimumTiledBLASPixels
    }
  }

  var hidden: Int { depthwise.inChannels }
  var stride: Int { depthwise.strideH }

  func padding(h: Int, w: Int) -> (top: Int, left: Int, bottom: Int, right: Int) {
    depthwise.padding.resolve(
      h: h, w: w, kernelH: depthwise.kernelH, kernelW: depthwise.kernelW, strideH: stride, strideW: stride)
  }

  /// Output rows per tile: its expanded input rows and depthwise output rows fill `tileBytes`.
  func tileRows(inputW: Int, outputW: Int) -> Int {
    max(1, tileBytes / max(1, (stride * inputW + outputW) * hidden * 4))
  }

  /// Splits each image's `rows` into segments, so that a batch smaller than the thread count still keeps every
  /// thread busy: `(image, rows)` work items, each run with its own buffers.
  func workItems(n: Int, rows: Int, tile: Int, ws: Workspace) -> [(image: Int, rows: Range<Int>)] {
    let tiles = (rows + tile - 1) / tile
    let segments = ws.parallel && n < Parallel.threadCount ? min(tiles, (Parallel.threadCount + n - 1) / n) : 1
    let perSegment = (tiles + segments - 1) / segments * tile
    var items: [(Int, Range<Int>)] = []
    for image in 0..<n {
      var r = 0
      while r < rows {
        items.append((image, r..<min(rows, r + perSegment)))
        r += perSegment
      }
    }
    return items
  }

  /// The input rows `[lo, hi)` a `k`-row window with stride `s` and top padding `p` reads for output rows `rows`.
  static func inputRows(_ rows: Range<Int>, k: Int, s: Int, p: Int, height: Int) -> Range<Int> {
    max(0, rows.lowerBound * s - p)..<min(height, (rows.upperBound - 1) * s - p + k)
  }

  // MARK: - Forward

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let (n, h, w) = (x.n, x.h, x.w)
    let (oh, ow) = depthwise.outputSize(h: h, w: w)
    let c = hidden
    let p = padding(h: h, w: w)
    let (kh, kw, s) = (depthwise.kernelH, depthwise.kernelW, stride)
    let expandInTile = expand.map { inTile(exact: $0.pointwiseRowsAreExact, pixels: oh * ow) } ?? false
    let projectInTile = inTile(exact: project.pointwiseRowsAreExact, pixels: oh * ow)
    // The expansion, unless it runs in the tiles: whole, as the unfused layer.
    let expanded: FeatureMap? = expandInTile ? nil : expand?.forward(x, workspace: ws, tape: tape)
    let expandMask: UnsafeMutablePointer<UInt8>? = expandInTile && tape != nil ? ws.bytes(n * h * w * c) : nil
    let dwMask: UnsafeMutablePointer<UInt8>? = tape != nil ? ws.bytes(n * oh * ow * c) : nil
    // The depthwise output, unless the projection runs in the tiles.
    let dwOut: FeatureMap? = projectInTile ? nil : ws.featureMap(n: n, h: oh, w: ow, c: c)
    let y: FeatureMap? = projectInTile ? ws.featureMap(n: n, h: oh, w: ow, c: project.outChannels) : nil
    let source = expanded ?? x
    let tile = tileRows(inputW: w, outputW: ow)
    let items = workItems(n: n, rows: oh, tile: tile, ws: ws)
    Profiler.shared.measure("fwd fused \(expand?.inChannels ?? c)->\(c)->\(project.outChannels) s\(s) @\(h)") {
      depthwise.weight.withUnsafeBufferPointer { wb in
        depthwise.bias.withUnsafeBufferPointer { bb in
          ws.forEach(items.count) { i in
            let (image, segment) = items[i]
            let inputs = Self.inputRows(segment, k: kh, s: s, p: p.top, height: h)
            // Expanded input rows this segment computes but a later one owns: their mask is written there.
            let ownedEnd =
              i + 1 < items.count && items[i + 1].image == image
              ? Self.inputRows(items[i + 1].rows, k: kh, s: s, p: p.top, height: h).lowerBound : h
            var window = RowWindow(rowFloats: w * c, capacity: expandInTile ? min(inputs.count, tile * s + kh) : 0)
            let dwTile = projectInTile ? Workspace.allocateFloats(tile * ow * c) : nil
            defer {
              window.deallocate()
              dwTile?.deallocate()
            }
            var oy0 = segment.lowerBound
            while oy0 < segment.upperBound {
              let oy1 = min(segment.upperBound, oy0 + tile)
              let needed = Self.inputRows(oy0..<oy1, k: kh, s: s, p: p.top, height: h)
              // The depthwise input: the window of expanded rows, or the whole image.
              let (src, srcRow0, srcRows): (UnsafePointer<Float>, Int, Int)
              if expandInTile, let expand {
                window.advance(to: needed) { rows, dst in
                  let base = image * h * w
                  let split = min(max(rows.lowerBound, ownedEnd), rows.upperBound)
                  for (part, masked) in [(rows.lowerBound..<split, true), (split..<rows.upperBound, false)]
                  where !part.isEmpty {
                    expand.pointwiseRows(
                      x.pointer + (base + part.lowerBound * w) * x.c, rows: part.count * w,
                      into: dst + (part.lowerBound - rows.lowerBound) * w * c,
                      mask: masked ? expandMask.map { $0 + (base + part.lowerBound * w) * c } : nil)
                  }
                }
                (src, srcRow0, srcRows) = (UnsafePointer(window.buffer), needed.lowerBound, needed.count)
              } else {
                (src, srcRow0, srcRows) = (UnsafePointer(source.pointer + image * h * w * c), 0, h)
              }
              let outRow = image * oh + oy0
              let dst = dwTile ?? dwOut!.pointer + outRow * ow * c
              vp_depthwise_forward(
                src, Int32(srcRows), Int32(w), Int32(c), wb.baseAddress!, bb.baseAddress!, Int32(kh), Int32(kw),
                Int32(s), Int32(s), Int32(p.top + srcRow0 - oy0 * s), Int32(p.left), dst, Int32(oy1 - oy0), Int32(ow),
                dwMask.map { $0 + outRow * ow * c }, depthwise.activation.code, 0, Int32(oy1 - oy0))
              if let dwTile, let y {
                let out = y.pointer + outRow * ow * y.c
                project.pointwiseRows(dwTile, rows: (oy1 - oy0) * ow, into: out, mask: nil)
                if residual { Elementwise.add(out, x.pointer + outRow * ow * x.c, count: (oy1 - oy0) * ow * y.c) }
              }
              oy0 = oy1
            }
          }
        }
      }
    }
    if let expanded { ws.release(expanded) }
    if expand != nil && expandInTile {
      tape?.push(Tape.Entry(bytes: expandMask, count: n * h * w * c, inputH: h, inputW: w))
    }
    tape?.push(Tape.Entry(bytes: dwMask, count: n * oh * ow * c, inputH: h, inputW: w))
    if let y {
      tape?.push(Tape.Entry(bytes: nil, count: y.count, inputH: oh, inputW: ow))
      return y
    }
    let out = project.forward(dwOut!, workspace: ws, tape: tape)
    ws.release(dwOut!)
    if residual { ws.add(out.pointer, x.pointer, count: out.count) }
    return out
  }

  // MARK: - Backward

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let (n, oh, ow) = (gy.n, gy.h, gy.w)
    let expandBackwardInTile =
      expand.map { inTile(exact: $0.pointwiseBackwardRowsAreExact, pixels: oh * ow) } ?? false
    let projectBackwardInTile = inTile(exact: project.pointwiseBackwardRowsAreExact, pixels: oh * ow)
    if projectBackwardInTile { _ = tape.pop() }  // the projection's record: linear, no mask
    // The shortcut's gradient: gy itself when the projection runs in the tiles (gy is then only read), else a
    // copy (the unfused projection consumes gy), as `Residual` does.
    var shortcut: FeatureMap? = nil
    if residual && !projectBackwardInTile {
      let copy = ws.featureMap(n: gy.n, h: gy.h, w: gy.w, c: gy.c)
      copy.pointer.update(from: gy.pointer, count: gy.count)
      shortcut = copy
    }
    let gdWhole: FeatureMap? = projectBackwardInTile ? nil : project.backward(gy, workspace: ws, tape: tape)
    let dwEntry = tape.pop()
    let (h, w) = (dwEntry.inputH, dwEntry.inputW)
    let c = hidden
    if let gdWhole, let m = dwEntry.bytes { ws.applyMask(gdWhole.pointer, m, count: gdWhole.count) }
    let expandEntry = expand != nil && expandBackwardInTile ? tape.pop() : nil
    let p = padding(h: h, w: w)
    let (kh, kw, s) = (depthwise.kernelH, depthwise.kernelW, stride)
    // The depthwise input's gradient, unless the expansion's backward runs in the tiles.
    let geWhole: FeatureMap? = expand != nil && !expandBackwardInTile ? ws.featureMap(n: n, h: h, w: w, c: c) : nil
    let gx: FeatureMap? = geWhole == nil ? ws.featureMap(n: n, h: h, w: w, c: expand?.inChannels ?? c) : nil
    let residualInTile = residual && gx != nil && projectBackwardInTile
    // Gradient rows per tile: the depthwise output-gradient rows and input-gradient rows fill `tileBytes`.
    let tile = max(s, tileRows(inputW: w, outputW: ow) * s)
    let items = workItems(n: n, rows: h, tile: tile, ws: ws)
    // The depthwise gradient as a function of ∂(depthwise output): stride 1 is a correlation with the flipped
    // kernel and padding k − 1 − p (as the unfused layer runs it); which ∂output rows input rows need.
    let (backTop, backLeft) = (kh - 1 - p.top, kw - 1 - p.left)
    func gradientRows(_ rows: Range<Int>) -> Range<Int> {
      if s == 1 { return Self.inputRows(rows, k: kh, s: 1, p: backTop, height: oh) }
      let lo = rows.lowerBound + p.top - (kh - 1)
      return max(0, lo <= 0 ? 0 : (lo + s - 1) / s)..<min(oh, (rows.upperBound - 1 + p.top) / s + 1)
    }
    Profiler.shared.measure("bwd fused \(expand?.inChannels ?? c)->\(c)->\(project.outChannels) s\(s) @\(h)") {
      flipped.withUnsafeBufferPointer { fb in
        zeros.withUnsafeBufferPointer { zb in
          depthwise.weight.withUnsafeBufferPointer { wb in
            ws.forEach(items.count) { i in
              let (image, segment) = items[i]
              let gdRows = gradientRows(segment)
              var window = RowWindow(
                rowFloats: ow * c, capacity: projectBackwardInTile ? min(gdRows.count, tile / s + kh) : 0)
              let geTile =
                expand != nil && expandBackwardInTile
                ? Workspace.allocateFloats(tile * w * c) : nil
              defer {
                window.deallocate()
                geTile?.deallocate()
              }
              var iy0 = segment.lowerBound
              while iy0 < segment.upperBound {
                let iy1 = min(segment.upperBound, iy0 + tile)
                let needed = gradientRows(iy0..<iy1)
                let (src, srcRow0, srcRows): (UnsafePointer<Float>, Int, Int)
                if projectBackwardInTile {
                  window.advance(to: needed) { rows, dst in
                    let base = image * oh + rows.lowerBound
                    project.pointwiseBackwardRows(
                      gy.pointer + base * ow * gy.c, rows: rows.count * ow, mask: nil, into: dst)
                    if let m = dwEntry.bytes {
                      Elementwise.applyMask(dst, m + base * ow * c, count: rows.count * ow * c)
                    }
                  }
                  (src, srcRow0, srcRows) = (UnsafePointer(window.buffer), needed.lowerBound, needed.count)
                } else {
                  (src, srcRow0, srcRows) = (UnsafePointer(gdWhole!.pointer + image * oh * ow * c), 0, oh)
                }
                let inRow = image * h + iy0
                let dst = geTile ?? (geWhole ?? gx!).pointer + inRow * w * c
                if s == 1 {
                  vp_depthwise_forward(
                    src, Int32(srcRows), Int32(ow), Int32(c), fb.baseAddress!, zb.baseAddress!, Int32(kh), Int32(kw), 1,
                    1, Int32(backTop + srcRow0 - iy0), Int32(backLeft), dst, Int32(iy1 - iy0), Int32(w), nil, 0, 0,
                    Int32(iy1 - iy0))
                } else {
                  vp_depthwise_backward_rows(
                    src, Int32(srcRow0), Int32(oh), Int32(ow), wb.baseAddress!, Int32(kh), Int32(kw), Int32(s),
                    Int32(s),
                    Int32(p.top), Int32(p.left), dst, Int32(h), Int32(w), Int32(c), Int32(iy0), Int32(iy1))
                }
                if let geTile, let expand, let gx {
                  expand.pointwiseBackwardRows(
                    geTile, rows: (iy1 - iy0) * w, mask: expandEntry?.bytes.map { $0 + inRow * w * c },
                    into: gx.pointer + inRow * w * gx.c)
                }
                if residualInTile, let gx {
                  Elementwise.add(
                    gx.pointer + inRow * w * gx.c, gy.pointer + inRow * w * gy.c, count: (iy1 - iy0) * w * gx.c)
                }
                iy0 = iy1
              }
            }
          }
        }
      }
    }
    if let m = dwEntry.bytes { ws.release(m, count: dwEntry.count) }
    if let m = expandEntry?.bytes, let e = expandEntry { ws.release(m, count: e.count) }
    if let gdWhole { ws.release(gdWhole) }
    let result = geWhole.map { expand!.backward($0, workspace: ws, tape: tape) } ?? gx!
    if residual && !residualInTile {
      ws.add(result.pointer, (shortcut ?? gy).pointer, count: result.count)
    }
    if let shortcut { ws.release(shortcut) }
    if projectBackwardInTile { ws.release(gy) }
    return result
  }
}

/// Consecutive rows `[lo, hi)` of a tensor held in a buffer, for tiles that move down an image: the rows a tile
/// shares with the previous one are kept, the others computed.
struct RowWindow {
  let buffer: UnsafeMutablePointer<Float>
  let rowFloats: Int
  let capacity: Int
  private(set) var rows = 0..<0

  init(rowFloats: Int, capacity: Int) {
    self.rowFloats = rowFloats
    self.capacity = capacity
    buffer = Workspace.allocateFloats(capacity * rowFloats)
  }

  func deallocate() { buffer.deallocate() }

  /// Holds `target` (whose lower bound never moves up): moves the rows kept to the top and calls `fill(rows,
  /// destination)` for the new ones.
  mutating func advance(to target: Range<Int>, fill: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
    precondition(target.count <= capacity && target.lowerBound >= rows.lowerBound, "row window out of order")
    let kept = target.lowerBound..<max(target.lowerBound, min(rows.upperBound, target.upperBound))
    if !kept.isEmpty && kept.lowerBound > rows.lowerBound {
      memmove(buffer, buffer + (kept.lowerBound - rows.lowerBound) * rowFloats, kept.count * rowFloats * 4)
    }
    let fresh = kept.upperBound..<target.upperBound
    if !fresh.isEmpty { fill(fresh, buffer + (fresh.lowerBound - target.lowerBound) * rowFloats) }
    rows = target
  }
}
