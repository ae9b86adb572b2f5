import CKernels
import Foundation

extension Conv2D {
  /// Runs the convolution on a batch of feature maps.
  ///
  /// - Parameters:
  ///   - x: `[N, H, W, C_in]`; not modified, not released.
  ///   - workspace: where the output (and the mask) is allocated.
  ///   - tape: when given, what the backward pass needs is pushed on it.
  /// - Returns: `[N, H', W', C_out]`, owned by the caller.
  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    precondition(x.c == inChannels, "conv expects \(inChannels) input channels, got \(x.c)")
    let (oh, ow) = outputSize(h: x.h, w: x.w)
    let y = ws.featureMap(n: x.n, h: oh, w: ow, c: outChannels)
    let mask: UnsafeMutablePointer<UInt8>? = (tape != nil && activation != .identity) ? ws.bytes(y.count) : nil
    Profiler.shared.measure(
      "fwd \(kind(n: x.n, outputH: oh, outputW: ow, backward: false)) k\(kernelH) s\(strideH) \(inChannels)->\(outChannels) @\(x.h)"
    ) {
      weight.withUnsafeBufferPointer { wb in
        bias.withUnsafeBufferPointer { bb in
          let w = wb.baseAddress!
          let b = bb.baseAddress!
          if isPointwise {
            pointwiseForward(x, y, w, b, mask, ws)
          } else if runsWinograd(n: x.n, outputH: oh, outputW: ow, backward: false) {
            winogradForward(x, y, b, mask, ws)
          } else if isDepthwise {
            depthwiseForward(x, y, w, b, mask, ws)
          } else {
            im2colForward(x, y, w, b, mask, ws)
          }
        }
      }
    }
    tape?.push(Tape.Entry(bytes: mask, count: y.count, inputH: x.h, inputW: x.w))
    return y
  }

  /// Propagates the gradient with respect to the output back to the input.
  ///
  /// - Parameters:
  ///   - gy: `∂L/∂y`, `[N, H', W', C_out]`; consumed (overwritten and released).
  ///   - tape: the tape the matching `forward` pushed on.
  /// - Returns: `∂L/∂x`, `[N, H, W, C_in]`, owned by the caller.
  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let saved = tape.pop()
    precondition(gy.c == outChannels, "conv gradient has \(gy.c) channels, expected \(outChannels)")
    let gx = ws.featureMap(n: gy.n, h: saved.inputH, w: saved.inputW, c: inChannels)
    Profiler.shared.measure(
      "bwd \(kind(n: gy.n, outputH: gy.h, outputW: gy.w, backward: true)) k\(kernelH) s\(strideH) \(inChannels)->\(outChannels) @\(gx.h)"
    ) {
      weight.withUnsafeBufferPointer { wb in
        let w = wb.baseAddress!
        if isPointwise {
          pointwiseBackward(gy, gx, w, saved.bytes, ws)
        } else {
          if let m = saved.bytes { ws.applyMask(gy.pointer, m, count: gy.count) }
          if runsWinograd(n: gy.n, outputH: gy.h, outputW: gy.w, backward: true) {
            winogradBackward(gy, gx, ws)
          } else if isDepthwise {
            depthwiseBackward(gy, gx, w, ws)
          } else {
            im2colBackward(gy, gx, w, ws)
          }
        }
      }
    }
    if let m = saved.bytes { ws.release(m, count: saved.count) }
    ws.release(gy)
    return gx
  }

  func kind(n: Int, outputH: Int, outputW: Int, backward: Bool) -> String {
    if isPointwise { return "1x1" }
    if runsWinograd(n: n, outputH: outputH, outputW: outputW, backward: backward) { return "wino" }
    return isDepthwise ? "dw" : "conv"
  }

  // MARK: - 1×1 convolution: one GEMM over rows of the batch

  /// Rows per GEMM call: at least 512 to amortise packing the weights, and an output block of at most 4 MB so
  /// that it is still in cache for the epilogue (measured: 10–15 % less CPU time than 64 KB blocks).
  static func chunkRows(outputs: Int) -> Int { max(512, (1 << 20) / max(1, outputs)) }

  /// Whether a `[rows × k] · [k × n]` product is thin enough (`k` or `n` ≤ 16) that the register-tiled kernel,
  /// which skips packing, beats OpenBLAS. Measured per layer on MobileNetV2 (CPU time, one thread): 32→16
  /// forward 0.40 vs 0.89 ms per call, 16→96 0.79 vs 0.84 ms; from 24 channels on OpenBLAS wins.
  static func prefersSmallKernel(k: Int, n: Int) -> Bool {
    smallKernelEnabled && n % 8 == 0 && (k <= 16 || n <= 16)
  }
  static let smallKernelEnabled = ProcessInfo.processInfo.environment["VPBOOK_NO_SMALL_GEMM"] == nil

  /// Rows per im2col block: the column buffer holds `rows × k` floats (at most about 8 MB), and at least
  /// 256 rows so that packing the `C_out × k` weights is amortised.
  static func im2colRows(k: Int) -> Int { max(256, (1 << 21) / max(1, k)) }

  private func pointwiseForward(
    _ x: FeatureMap, _ y: FeatureMap, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ mask: UnsafeMutablePointer<UInt8>?, _ ws: Workspace
  ) {
    let (cin, cout) = (inChannels, outChannels)
    ws.forChunks(x.rows, size: Self.chunkRows(outputs: cout)) { r in
      pointwiseRows(
        x.pointer + r.lowerBound * cin, rows: r.count, into: y.pointer + r.lowerBound * cout,
        mask: mask.map { $0 + r.lowerBound * cout })
    }
  }

  /// Rows of a 1×1 convolution's output, `y = act(x · W + b)` for `rows` rows of `x`: one call of the routine
  /// the forward pass runs on each of its chunks (the small-matrix kernel or OpenBLAS + the epilogue).
  ///
  /// With the small-matrix kernel (`pointwiseRowsAreExact`) each output row's bits do not depend on which rows
  /// are computed together; OpenBLAS's do (it picks other kernels for small matrices).
  func pointwiseRows(
    _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt8>?
  ) {
    let (cin, cout) = (inChannels, outChannels)
    bias.withUnsafeBufferPointer { bb in
      let b = bb.baseAddress!
      if Self.prefersSmallKernel(k: cin, n: cout) {
        weightT.withUnsafeBufferPointer { wt in
          vp_gemm_small(x, Int32(rows), Int32(cin), wt.baseAddress!, Int32(cout), y, b, activation.code, mask)
        }
        return
      }
      weight.withUnsafeBufferPointer { wb in
        BLAS.sgemm(
          transA: false, transB: true, m: rows, n: cout, k: cin, a: x, lda: cin, b: wb.baseAddress!, ldb: cin, c: y,
          ldc: cout)
      }
      Elementwise.biasActivation(y, rows: rows, channels: cout, bias: b, activation: activation, mask: mask)
    }
  }

  /// Whether `pointwiseRows` gives each row the same bits however the rows are grouped into calls.
  var pointwiseRowsAreExact: Bool { Self.prefersSmallKernel(k: inChannels, n: outChannels) }

  private func pointwiseBackward(
    _ gy: FeatureMap, _ gx: FeatureMap, _ w: UnsafePointer<Float>, _ mask: UnsafeMutablePointer<UInt8>?,
    _ ws: Workspace
  ) {
    let (cin, cout) = (inChannels, outChannels)
    ws.forChunks(gy.rows, size: Self.chunkRows(outputs: cin)) { r in
      pointwiseBackwardRows(
        gy.pointer + r.lowerBound * cout, rows: r.count, mask: mask.map { $0 + r.lowerBound * cout },
        into: gx.pointer + r.lowerBound * cin)
    }
  }

  /// Rows of a 1×1 convolution's input gradient: `g` (`rows × C_out`) masked in place by the activation's
  /// derivative, then `gx = g · Wᵀ`; the routine the backward pass runs on each of its chunks.
  func pointwiseBackwardRows(
    _ g: UnsafeMutablePointer<Float>, rows: Int, mask: UnsafePointer<UInt8>?, into gx: UnsafeMutablePointer<Float>
  ) {
    let (cin, cout) = (inChannels, outChannels)
    if let m = mask { Elementwise.applyMask(g, m, count: rows * cout) }
    weight.withUnsafeBufferPointer { wb in
      let w = wb.baseAddress!
      if Self.prefersSmallKernel(k: cout, n: cin) {
        vp_gemm_small(g, Int32(rows), Int32(cout), w, Int32(cin), gx, nil, 0, nil)
        return
      }
      BLAS.sgemm(
        transA: false, transB: false, m: rows, n: cin, k: cout, a: g, lda: cout, b: w, ldb: cin, c: gx, ldc: cin)
    }
  }

  /// Whether `pointwiseBackwardRows` gives each row the same bits however the rows are grouped into calls.
  var pointwiseBackwardRowsAreExact: Bool { Self.prefersSmallKernel(k: outChannels, n: inChannels) }

  // MARK: - General convolution: im2col on row chunks + GEMM

  private func im2colForward(
    _ x: FeatureMap, _ y: FeatureMap, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ mask: UnsafeMutablePointer<UInt8>?, _ ws: Workspace
  ) {
    let p = padding.resolve(h: x.h, w: x.w, kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW)
    let cg = inChannels / groups
    let og = outChannels / groups
    let k = kernelH * kernelW * cg
    let chunk = Self.im2colRows(k: k)
    let (oh, ow, cout) = (y.h, y.w, outChannels)
    let act = activation
    let total = y.rows
    let pieces = (total + chunk - 1) / chunk
    ws.forEach(pieces) { piece in
      let r0 = piece * chunk
      let rows = min(chunk, total - r0)
      let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * k)
      defer { col.deallocate() }
      for g in 0..<groups {
        unfold(x, rows: r0..<(r0 + rows), outputW: ow, outputH: oh, padding: p, group: g, into: col)
        BLAS.sgemm(
          transA: false, transB: true, m: rows, n: og, k: k, a: col, lda: k, b: w + g * og * k, ldb: k,
          c: y.pointer + r0 * cout + g * og, ldc: cout)
      }
      Elementwise.biasActivation(
        y.pointer + r0 * cout, rows: rows, channels: cout, bias: b, activation: act,
        mask: mask.map { $0 + r0 * cout })
    }
  }

  /// im2col: output rows `rows` (flat `n·H'·W' + i·W' + j`) of group `group` unfolded into `col`, one row of
  /// `kh · kw · C_in/groups` values per output position (zeros where the window leaves the input), the layout
  /// the forward GEMM and `parameterGradient` multiply.
  func unfold(
    _ x: FeatureMap, rows: Range<Int>, outputW ow: Int, outputH oh: Int,
    padding p: (top: Int, left: Int, bottom: Int, right: Int), group g: Int, into col: UnsafeMutablePointer<Float>
  ) {
    let cg = inChannels / groups
    let span = kernelW * cg
    var dst = col
    for m in rows {
      let n = m / (oh * ow)
      let oy = (m / ow) % oh
      let ox = m % ow
      let ix0 = ox * strideW - p.left
      // Ungrouped, with the whole row of taps inside the image: the kw pixels are adjacent in memory, one copy
      // of kw · C_in floats (a 7×7 stem's 21 instead of seven copies of 3; the same values).
      let rowInside = groups == 1 && ix0 >= 0 && ix0 + kernelW <= x.w
      for ky in 0..<kernelH {
        let iy = oy * strideH - p.top + ky
        if rowInside {
          if iy >= 0 && iy < x.h {
            dst.update(from: x.pointer + ((n * x.h + iy) * x.w + ix0) * x.c, count: span)
          } else {
            dst.update(repeating: 0, count: span)
          }
          dst += span
          continue
        }
        for kx in 0..<kernelW {
          let ix = ox * strideW - p.left + kx
          if iy >= 0 && iy < x.h && ix >= 0 && ix < x.w {
            dst.update(from: x.pointer + ((n * x.h + iy) * x.w + ix) * x.c + g * cg, count: cg)
          } else {
            dst.update(repeating: 0, count: cg)
          }
          dst += cg
        }
      }
    }
  }

  private func im2colBackward(_ gy: FeatureMap, _ gx: FeatureMap, _ w: UnsafePointer<Float>, _ ws: Workspace) {
    let p = padding.resolve(h: gx.h, w: gx.w, kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW)
    let cg = inChannels / groups
    let og = outChannels / groups
    let k = kernelH * kernelW * cg
    let chunk = Self.im2colRows(k: k)
    let (oh, ow, cout, cin) = (gy.h, gy.w, outChannels, inChannels)
    let perImage = oh * ow
    // Each image's input gradient is owned by one task, so the scatter-add needs no locks.
    ws.forEach(gy.n) { n in
      let gxImage = gx.pointer + n * gx.h * gx.w * cin
      gxImage.update(repeating: 0, count: gx.h * gx.w * cin)
      let col = UnsafeMutablePointer<Float>.allocate(capacity: min(chunk, perImage) * k)
      defer { col.deallocate() }
      var r0 = 0
      while r0 < perImage {
        let rows = min(chunk, perImage - r0)
        for g in 0..<groups {
          BLAS.sgemm(
            transA: false, transB: false, m: rows, n: k, k: og, a: gy.pointer + (n * perImage + r0) * cout + g * og,
            lda: cout, b: w + g * og * k, ldb: k, c: col, ldc: k)
          for i in 0..<rows {
            let oy = (r0 + i) / ow
            let ox = (r0 + i) % ow
            var src = UnsafePointer(col + i * k)
            let ix0 = ox * strideW - p.left
            // As in `unfold`: a whole row of taps inside the image is kw · C_in adjacent floats, added in one
            // loop (each element gets the same additions in the same order).
            let rowInside = groups == 1 && ix0 >= 0 && ix0 + kernelW <= gx.w
            for ky in 0..<kernelH {
              let iy = oy * strideH - p.top + ky
              if rowInside {
                if iy >= 0 && iy < gx.h {
                  let dst = gxImage + (iy * gx.w + ix0) * cin
                  for j in 0..<(kernelW * cg) { dst[j] += src[j] }
                }
                src += kernelW * cg
                continue
              }
              for kx in 0..<kernelW {
                let ix = ox * strideW - p.left + kx
                if iy >= 0 && iy < gx.h && ix >= 0 && ix < gx.w {
                  let dst = gxImage + (iy * gx.w + ix) * cin + g * cg
                  for j in 0..<cg { dst[j] += src[j] }
                }
                src += cg
              }
            }
          }
        }
        r0 += rows
      }
    }
  }

  // MARK: - Depthwise convolution: vectorised over channels

  private func depthwiseForward(
    _ x: FeatureMap, _ y: FeatureMap, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ mask: UnsafeMutablePointer<UInt8>?, _ ws: Workspace
  ) {
    let p = padding.resolve(h: x.h, w: x.w, kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW)
    let act = activation.code
    ws.forRanges(y.n * y.h, minimum: 4) { rows in
      vp_depthwise_forward(
        x.pointer, Int32(x.h), Int32(x.w), Int32(x.c), w, b, Int32(kernelH), Int32(kernelW), Int32(strideH),
        Int32(strideW), Int32(p.top), Int32(p.left), y.pointer, Int32(y.h), Int32(y.w), mask, act,
        Int32(rows.lowerBound), Int32(rows.upperBound))
    }
  }

  /// `gx[n, iy, ix, c] = Σ gy[n, oy, ox, c] · w[ky, kx, c]` over the taps with `iy = oy·s − pad + ky`:
  /// a gather with the flipped kernel for stride 1 (measured 8.7 → 4.7 ms per two 224² images, one thread),
  /// a scatter within each image for stride 2 (images run in parallel).
  private func depthwiseBackward(_ gy: FeatureMap, _ gx: FeatureMap, _ w: UnsafePointer<Float>, _ ws: Workspace) {
    let p = padding.resolve(h: gx.h, w: gx.w, kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW)
    if strideH == 1 && strideW == 1 {
      // Stride 1: the transposed convolution is a correlation of ∂L/∂y with the flipped kernel and padding
      // k − 1 − pad, a gather that reuses the forward kernel (no read-modify-write of ∂L/∂x per tap).
      let (kh, kw, c) = (kernelH, kernelW, gx.c)
      var flipped = [Float](repeating: 0, count: kh * kw * c)
      for ky in 0..<kh {
        for kx in 0..<kw {
          for ch in 0..<c { flipped[(ky * kw + kx) * c + ch] = w[((kh - 1 - ky) * kw + (kw - 1 - kx)) * c + ch] }
        }
      }
      let zero = [Float](repeating: 0, count: c)
      flipped.withUnsafeBufferPointer { wf in
        zero.withUnsafeBufferPointer { zb in
          ws.forRanges(gx.n * gx.h, minimum: 4) { rows in
            vp_depthwise_forward(
              gy.pointer, Int32(gy.h), Int32(gy.w), Int32(c), wf.baseAddress!, zb.baseAddress!, Int32(kh), Int32(kw), 1,
              1, Int32(kh - 1 - p.top), Int32(kw - 1 - p.left), gx.pointer, Int32(gx.h), Int32(gx.w), nil, 0,
              Int32(rows.lowerBound), Int32(rows.upperBound))
          }
        }
      }
      return
    }
    ws.forRanges(gy.n, minimum: 1) { images in
      vp_depthwise_backward(
        gy.pointer, Int32(gy.h), Int32(gy.w), w, Int32(kernelH), Int32(kernelW), Int32(strideH), Int32(strideW),
        Int32(p.top), Int32(p.left), gx.pointer, Int32(gx.h), Int32(gx.w), Int32(gx.c), Int32(images.lowerBound),
        Int32(images.upperBound))
    }
  }
}
