import CKernels
import XCTest

/// vpbook's own kernels are built for AVX2 and for AVX-512 from one source (`CKernels/simd.h`) and chosen at run
/// time. Both builds must give the same bits for every kernel, every channel count (multiples of 16, of 8 only, and
/// neither), every activation and mask; the models' end-to-end check is `KernelDispatchModelTests`.
final class KernelDispatchTests: XCTestCase {
  var generator = SystemRandomNumberGenerator()

  override func setUpWithError() throws {
    try XCTSkipUnless(vp_cpu_has_avx512() == 1, "this CPU has no AVX-512: only the AVX2 build can run")
  }

  /// `body` run with the AVX2 build and with the AVX-512 build; the build in effect before is restored.
  func bothBuilds<T>(_ body: () -> T) -> (avx2: T, avx512: T) {
    let before = vp_kernels_level()
    defer { vp_kernels_select(before) }
    XCTAssertEqual(vp_kernels_select(0), 0)
    let a = body()
    XCTAssertEqual(vp_kernels_select(1), 1)
    return (a, body())
  }

  func random(_ count: Int, scale: Float = 1) -> [Float] {
    (0..<count).map { _ in Float.random(in: -scale...scale, using: &generator) }
  }

  func assertSameBits(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    XCTAssertEqual(differing, 0, "\(what): \(differing) of \(a.count) values differ", file: file, line: line)
  }

  static let channels = [3, 8, 13, 16, 24, 40, 72, 145, 160]

  func testDepthwiseConvolutionForwardAndBackward() {
    for c in Self.channels {
      for (k, s) in [(3, 1), (3, 2), (5, 2)] {
        let (n, h, w) = (2, 9, 7)
        let (oh, ow) = ((h + 2 * (k / 2) - k) / s + 1, (w + 2 * (k / 2) - k) / s + 1)
        let x = random(n * h * w * c), wt = random(k * k * c), bias = random(c, scale: 0.5)
        let gy = random(n * oh * ow * c)
        for act in Int32(0)...2 {
          let out = bothBuilds { () -> ([Float], [UInt8]) in
            var y = [Float](repeating: .nan, count: n * oh * ow * c)
            var mask = [UInt8](repeating: 9, count: y.count)
            vp_depthwise_forward(
              x, Int32(h), Int32(w), Int32(c), wt, bias, Int32(k), Int32(k), Int32(s), Int32(s), Int32(k / 2),
              Int32(k / 2), &y, Int32(oh), Int32(ow), &mask, act, 0, Int32(n * oh))
            return (y, mask)
          }
          assertSameBits(out.avx2.0, out.avx512.0, "depthwise forward c \(c) k \(k) s \(s) act \(act)")
          XCTAssertEqual(out.avx2.1, out.avx512.1, "mask c \(c) k \(k) s \(s) act \(act)")
        }
        let gx = bothBuilds { () -> [Float] in
          var gx = [Float](repeating: .nan, count: n * h * w * c)
          vp_depthwise_backward(
            gy, Int32(oh), Int32(ow), wt, Int32(k), Int32(k), Int32(s), Int32(s), Int32(k / 2), Int32(k / 2), &gx,
            Int32(h), Int32(w), Int32(c), 0, Int32(n))
          return gx
        }
        assertSameBits(gx.avx2, gx.avx512, "depthwise backward c \(c) k \(k) s \(s)")
        // The fused blocks' gather for rows 2..<7 of image 1 gives the scatter's bits, in both builds.
        let rows = bothBuilds { () -> [Float] in
          var part = [Float](repeating: .nan, count: 5 * w * c)
          gy.withUnsafeBufferPointer { g in
            vp_depthwise_backward_rows(
              g.baseAddress! + oh * ow * c, 0, Int32(oh), Int32(ow), wt, Int32(k), Int32(k), Int32(s), Int32(s),
              Int32(k / 2), Int32(k / 2), &part, Int32(h), Int32(w), Int32(c), 2, 7)
          }
          return part
        }
        assertSameBits(rows.avx2, rows.avx512, "depthwise backward rows c \(c) k \(k) s \(s)")
        assertSameBits(rows.avx2, Array(gx.avx2[(h * w * c + 2 * w * c)..<(h * w * c + 7 * w * c)]), "gather = scatter")
      }
    }
  }

  func testBiasActivationAndSmallGEMM() {
    for c in Self.channels {
      let y0 = random(5 * c, scale: 8), bias = random(c, scale: 2)
      for act in Int32(0)...2 {
        let out = bothBuilds { () -> ([Float], [UInt8]) in
          var y = y0
          var mask = [UInt8](repeating: 9, count: y.count)
          vp_bias_activation(&y, 5, Int32(c), bias, act, &mask)
          return (y, mask)
        }
        assertSameBits(out.avx2.0, out.avx512.0, "bias + activation c \(c) act \(act)")
        XCTAssertEqual(out.avx2.1, out.avx512.1, "bias + activation mask c \(c) act \(act)")
      }
    }
    for n in [8, 16, 24, 40, 48, 56, 104] {
      for (m, k) in [(1, 3), (3, 16), (4, 1), (7, 24), (13, 5)] {
        let a = random(m * k, scale: 3), b = random(k * n), bias = random(n)
        for (withBias, act) in [(false, Int32(0)), (true, 1), (true, 2)] {
          let out = bothBuilds { () -> ([Float], [UInt8]) in
            var c = [Float](repeating: .nan, count: m * n)
            var mask = [UInt8](repeating: 9, count: m * n)
            if act == 0 {
              vp_gemm_small(a, Int32(m), Int32(k), b, Int32(n), &c, nil, act, nil)
            } else {
              vp_gemm_small(a, Int32(m), Int32(k), b, Int32(n), &c, withBias ? bias : nil, act, &mask)
            }
            return (c, mask)
          }
          assertSameBits(out.avx2.0, out.avx512.0, "small GEMM \(m)×\(k)·\(k)×\(n) act \(act)")
          XCTAssertEqual(out.avx2.1, out.avx512.1, "small GEMM mask \(m)×\(k)·\(k)×\(n) act \(act)")
        }
      }
    }
  }

  func testExpAndSmoothActivations() {
    for count in [1, 7, 8, 15, 16, 17, 37, 100] {
      let x = random(count, scale: 90)
      let e = bothBuilds { () -> [Float] in
        var y = x
        vp_exp_shifted(&y, count, 1.5)
        return y
      }
      assertSameBits(e.avx2, e.avx512, "exp, \(count) values")
      let z = random(count, scale: 10), g0 = random(count)
      for kind in Int32(0)...2 {
        let f = bothBuilds { () -> [Float] in
          var y = [Float](repeating: .nan, count: count)
          vp_smooth_activation_forward(z, &y, count, kind)
          return y
        }
        assertSameBits(f.avx2, f.avx512, "activation \(kind) forward, \(count) values")
        let d = bothBuilds { () -> [Float] in
          var g = g0
          vp_smooth_activation_backward(z, &g, count, kind)
          return g
        }
        assertSameBits(d.avx2, d.avx512, "activation \(kind) backward, \(count) values")
      }
    }
  }

  func testWinogradTransforms() {
    for c in [3, 8, 20, 64] {
      let (n, h, w) = (2, 9, 6)  // output 9 × 6 with padding 1: 3 × 2 tiles per image
      let (th, tw) = (3, 2)
      let tiles = n * th * tw
      let stride = tiles * c
      let x = random(n * h * w * c), m = random(36 * stride), bias = random(c), gy = random(n * h * w * c)
      let v = bothBuilds { () -> [Float] in
        var v = [Float](repeating: .nan, count: 36 * stride)
        vp_winograd_f43_input(x, Int32(h), Int32(w), Int32(c), 1, 1, Int32(th), Int32(tw), 0, Int32(n * th), &v, stride)
        return v
      }
      assertSameBits(v.avx2, v.avx512, "Winograd input transform c \(c)")
      for act in Int32(0)...2 {
        let y = bothBuilds { () -> ([Float], [UInt8]) in
          var y = [Float](repeating: .nan, count: n * h * w * c)
          var mask = [UInt8](repeating: 9, count: y.count)
          vp_winograd_f43_output(
            m, stride, Int32(c), Int32(th), Int32(tw), 0, Int32(n * th), bias, act, &y, Int32(h), Int32(w), &mask)
          return (y, mask)
        }
        assertSameBits(y.avx2.0, y.avx512.0, "Winograd output transform c \(c) act \(act)")
        XCTAssertEqual(y.avx2.1, y.avx512.1, "Winograd output mask c \(c) act \(act)")
      }
      let z = bothBuilds { () -> [Float] in
        var z = [Float](repeating: .nan, count: 36 * stride)
        vp_winograd_f43_output_adjoint(
          gy, Int32(h), Int32(w), Int32(c), Int32(th), Int32(tw), 0, Int32(n * th), &z, stride)
        return z
      }
      assertSameBits(z.avx2, z.avx512, "Winograd output adjoint c \(c)")
      let gx = bothBuilds { () -> [Float] in
        var gx = [Float](repeating: 0, count: n * h * w * c)
        for parity in Int32(0)...1 {
          vp_winograd_f43_input_adjoint(
            m, stride, Int32(c), Int32(th), Int32(tw), 0, Int32(n * th), parity, &gx, Int32(h), Int32(w), 1, 1)
        }
        return gx
      }
      assertSameBits(gx.avx2, gx.avx512, "Winograd input adjoint c \(c)")
    }
  }
}
