// The kernels of vp_kernels.h that are not Winograd's, written once in simd.h's vocabulary and compiled for each
// vector width (included by kernels_avx2.c and kernels_avx512.c after VP_WIDTH and simd.h). Exported names carry
// the width's suffix (`VP_FN`); dispatch.c exports the unsuffixed ones.
//
// Same bits at both widths: each output element is computed by one chain of operations that does not depend on
// the width (a depthwise pixel: bias, then one FMA per tap in tap order; a small GEMM's element: bias or zero,
// then one FMA per k in order). Channels are taken in blocks of the width; at width 16 the last c mod 16 are
// finished with one 8-lane step when at least 8 remain, as at width 8, and the last c mod 8 with the same scalar
// code (its `a += x·w` compiles to one FMA, as the vector lanes do).

void VP_FN(vp_bias_activation)(float *y, size_t rows, int c, const float *bias, int act, uint8_t *mask) {
  for (size_t r = 0; r < rows; r++) {
    float *row = y + r * (size_t)c;
    uint8_t *m = mask ? mask + r * (size_t)c : NULL;
    int j = 0;
    for (; j + VW <= c; j += VW) {
      vf v = vload(row + j);
      if (bias) v = vadd(v, vload(bias + j));
      if (m) vstore_mask(m + j, v, act);
      vstore(row + j, vactivate(v, act));
    }
#if VW == 16
    if (j + 8 <= c) {
      __m256 v = _mm256_loadu_ps(row + j);
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
      if (m) store_mask8(m + j, v, act);
      _mm256_storeu_ps(row + j, activate8(v, act));
      j += 8;
    }
#endif
    for (; j < c; j++) {
      float v = row[j] + (bias ? bias[j] : 0.0f);
      if (m) m[j] = mask1(v, act);
      row[j] = activate1(v, act);
    }
  }
}

// NB vectors of channels from j of one depthwise output pixel: bias, then one FMA per tap in tap order. NB is a
// constant at every call, so the accumulators stay in registers.
static inline void dw_block(const float *base, int rowstride, int c, const float *wt, int kw, int ky0, int ky1,
                            int kx0, int kx1, const float *bias, float *out, uint8_t *m, int act, int j, int nb) {
  vf a[4];
  for (int q = 0; q < nb; q++) a[q] = vload(bias + j + q * VW);
  for (int ky = ky0; ky < ky1; ky++) {
    for (int kx = kx0; kx < kx1; kx++) {
      const float *xp = base + (ptrdiff_t)ky * rowstride + (ptrdiff_t)kx * c + j;
      const float *wp = wt + (size_t)(ky * kw + kx) * c + j;
      for (int q = 0; q < nb; q++) a[q] = vfma(vload(xp + q * VW), vload(wp + q * VW), a[q]);
    }
  }
  for (int q = 0; q < nb; q++) {
    if (m) vstore_mask(m + j + q * VW, a[q], act);
    vstore(out + j + q * VW, vactivate(a[q], act));
  }
}

// One output pixel of a depthwise convolution over the taps [ky0, ky1) × [kx0, kx1); `base` points at the
// input pixel of tap (0, 0) (possibly outside the image; only valid taps are read).
static inline void dw_pixel(const float *base, int rowstride, int c, const float *wt, int kw, int ky0, int ky1,
                            int kx0, int kx1, const float *bias, float *out, uint8_t *m, int act) {
  int j = 0;
  for (; j + 4 * VW <= c; j += 4 * VW) dw_block(base, rowstride, c, wt, kw, ky0, ky1, kx0, kx1, bias, out, m, act, j, 4);
  if (j + 2 * VW <= c) {
    dw_block(base, rowstride, c, wt, kw, ky0, ky1, kx0, kx1, bias, out, m, act, j, 2);
    j += 2 * VW;
  }
  for (; j + VW <= c; j += VW) dw_block(base, rowstride, c, wt, kw, ky0, ky1, kx0, kx1, bias, out, m, act, j, 1);
#if VW == 16
  if (j + 8 <= c) {
    __m256 a0 = _mm256_loadu_ps(bias + j);
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(base + (ptrdiff_t)ky * rowstride + (ptrdiff_t)kx * c + j),
                             _mm256_loadu_ps(wt + (size_t)(ky * kw + kx) * c + j), a0);
    if (m) store_mask8(m + j, a0, act);
    _mm256_storeu_ps(out + j, activate8(a0, act));
    j += 8;
  }
#endif
  for (; j < c; j++) {
    float a = bias[j];
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++)
        a += base[(ptrdiff_t)ky * rowstride + (ptrdiff_t)kx * c + j] * wt[(size_t)(ky * kw + kx) * c + j];
    if (m) m[j] = mask1(a, act);
    out[j] = activate1(a, act);
  }
}

void VP_FN(vp_depthwise_forward)(const float *x, int h, int w, int c, const float *wt, const float *bias, int kh,
                                 int kw, int sh, int sw, int pad_top, int pad_left, float *y, int oh, int ow,
                                 uint8_t *mask, int act, int row0, int row1) {
  const int rowstride = w * c;
  for (int row = row0; row < row1; row++) {
    const int n = row / oh, oy = row % oh;
    int ky0 = pad_top - oy * sh;
    if (ky0 < 0) ky0 = 0;
    int ky1 = h + pad_top - oy * sh;
    if (ky1 > kh) ky1 = kh;
    const float *image = x + (size_t)n * h * rowstride;
    for (int ox = 0; ox < ow; ox++) {
      int kx0 = pad_left - ox * sw;
      if (kx0 < 0) kx0 = 0;
      int kx1 = w + pad_left - ox * sw;
      if (kx1 > kw) kx1 = kw;
      const float *base = image + (ptrdiff_t)(oy * sh - pad_top) * rowstride + (ptrdiff_t)(ox * sw - pad_left) * c;
      size_t o = ((size_t)row * ow + ox) * c;
      dw_pixel(base, rowstride, c, wt, kw, ky0, ky1, kx0, kx1, bias, y + o, mask ? mask + o : NULL, act);
    }
  }
}

// dst += g ⊙ w over c channels: one tap of the depthwise input gradient, one FMA per element.
static inline void dw_tap(float *dst, const float *g, const float *wp, int c) {
  int j = 0;
  for (; j + 2 * VW <= c; j += 2 * VW) {
    vstore(dst + j, vfma(vload(g + j), vload(wp + j), vload(dst + j)));
    vstore(dst + j + VW, vfma(vload(g + j + VW), vload(wp + j + VW), vload(dst + j + VW)));
  }
  for (; j + VW <= c; j += VW) vstore(dst + j, vfma(vload(g + j), vload(wp + j), vload(dst + j)));
#if VW == 16
  if (j + 8 <= c) {
    _mm256_storeu_ps(dst + j, _mm256_fmadd_ps(_mm256_loadu_ps(g + j), _mm256_loadu_ps(wp + j), _mm256_loadu_ps(dst + j)));
    j += 8;
  }
#endif
  for (; j < c; j++) dst[j] += g[j] * wp[j];
}

void VP_FN(vp_depthwise_backward)(const float *gy, int oh, int ow, const float *wt, int kh, int kw, int sh, int sw,
                                  int pad_top, int pad_left, float *gx, int h, int w, int c, int n0, int n1) {
  for (int n = n0; n < n1; n++) {
    float *image = gx + (size_t)n * h * w * c;
    memset(image, 0, sizeof(float) * (size_t)h * w * c);
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        const float *g = gy + (((size_t)n * oh + oy) * ow + ox) * c;
        for (int ky = 0; ky < kh; ky++) {
          const int iy = oy * sh - pad_top + ky;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < kw; kx++) {
            const int ix = ox * sw - pad_left + kx;
            if (ix < 0 || ix >= w) continue;
            dw_tap(image + ((size_t)iy * w + ix) * c, g, wt + (size_t)(ky * kw + kx) * c, c);
          }
        }
      }
    }
  }
}

// The input gradient of a depthwise convolution for input rows [iy0, iy1) of one image, as a gather: each input
// pixel sums its taps in the order vp_depthwise_backward's scatter adds them — output position (oy, ox)
// ascending, starting from zero, one FMA per tap and element — so the two give the same bits.
void VP_FN(vp_depthwise_backward_rows)(const float *gy, int gy_row0, int oh, int ow, const float *wt, int kh, int kw,
                                       int sh, int sw, int pad_top, int pad_left, float *gx, int h, int w, int c,
                                       int iy0, int iy1) {
  (void)h;
  for (int iy = iy0; iy < iy1; iy++) {
    // oy·sh − pad_top + ky = iy with 0 ≤ ky < kh and 0 ≤ oy < oh.
    int oy0 = iy + pad_top - (kh - 1);
    oy0 = oy0 <= 0 ? 0 : (oy0 + sh - 1) / sh;
    int oy1 = (iy + pad_top) / sh + 1;
    if (oy1 > oh) oy1 = oh;
    for (int ix = 0; ix < w; ix++) {
      int ox0 = ix + pad_left - (kw - 1);
      ox0 = ox0 <= 0 ? 0 : (ox0 + sw - 1) / sw;
      int ox1 = (ix + pad_left) / sw + 1;
      if (ox1 > ow) ox1 = ow;
      float *dst = gx + ((size_t)(iy - iy0) * w + ix) * c;
      memset(dst, 0, sizeof(float) * (size_t)c);
      for (int oy = oy0; oy < oy1; oy++) {
        const int ky = iy + pad_top - oy * sh;
        const float *grow = gy + (size_t)(oy - gy_row0) * ow * c;
        for (int ox = ox0; ox < ox1; ox++) {
          const int kx = ix + pad_left - ox * sw;
          dw_tap(dst, grow + (size_t)ox * c, wt + (size_t)(ky * kw + kx) * c, c);
        }
      }
    }
  }
}

// A tile of ROWS rows × NB vectors of columns, accumulated over k, then stored with the epilogue. Vector type V
// of L lanes, so that the AVX-512 body can also build the 8-lane tiles that finish a row.
#define TILE(NAME, V, L, LOAD, STORE, BCAST, SET0, FMA, ACT, MASK, ROWS, NB)                                     \
  static inline void NAME(const float *a, int k, const float *b, int n, float *c, const float *bias, int act,    \
                          uint8_t *mask) {                                                                      \
    V acc[ROWS][NB];                                                                                            \
    for (int i = 0; i < ROWS; i++)                                                                              \
      for (int q = 0; q < NB; q++) acc[i][q] = bias ? LOAD(bias + L * q) : SET0();                              \
    for (int p = 0; p < k; p++) {                                                                               \
      V bv[NB];                                                                                                 \
      for (int q = 0; q < NB; q++) bv[q] = LOAD(b + (size_t)p * n + L * q);                                     \
      for (int i = 0; i < ROWS; i++) {                                                                          \
        const V av = BCAST(a + (size_t)i * k + p);                                                              \
        for (int q = 0; q < NB; q++) acc[i][q] = FMA(av, bv[q], acc[i][q]);                                     \
      }                                                                                                         \
    }                                                                                                           \
    for (int i = 0; i < ROWS; i++)                                                                              \
      for (int q = 0; q < NB; q++) {                                                                            \
        if (mask) MASK(mask + (size_t)i * n + L * q, acc[i][q], act);                                           \
        STORE(c + (size_t)i * n + L * q, ACT(acc[i][q], act));                                                  \
      }                                                                                                         \
  }
#define VTILE(ROWS, NB) TILE(tile_##ROWS##_##NB, vf, VW, vload, vstore, vbroadcast, vzero, vfma, vactivate, \
                             vstore_mask, ROWS, NB)
VTILE(4, 3)
VTILE(4, 2)
VTILE(4, 1)
VTILE(1, 3)
VTILE(1, 2)
VTILE(1, 1)
#if VW == 16
TILE(tile8_4, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss, _mm256_setzero_ps,
     _mm256_fmadd_ps, activate8, store_mask8, 4, 1)
TILE(tile8_1, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss, _mm256_setzero_ps,
     _mm256_fmadd_ps, activate8, store_mask8, 1, 1)
#endif

void VP_FN(vp_gemm_small)(const float *a, int m, int k, const float *b, int n, float *c, const float *bias, int act,
                          uint8_t *mask) {
  int j = 0;
  while (j < n) {
    const int left = (n - j) / VW;
    const float *bj = b + j;
    const float *biasj = bias ? bias + j : NULL;
#if VW == 16
    if (left == 0) {  // the last 8 columns (n is a multiple of 8)
      int i = 0;
      for (; i + 4 <= m; i += 4)
        tile8_4(a + (size_t)i * k, k, bj, n, c + (size_t)i * n + j, biasj, act, mask ? mask + (size_t)i * n + j : NULL);
      for (; i < m; i++)
        tile8_1(a + (size_t)i * k, k, bj, n, c + (size_t)i * n + j, biasj, act, mask ? mask + (size_t)i * n + j : NULL);
      j += 8;
      continue;
    }
#endif
    const int nb = left >= 3 ? 3 : left;
    int i = 0;
    for (; i + 4 <= m; i += 4) {
      const float *ai = a + (size_t)i * k;
      float *ci = c + (size_t)i * n + j;
      uint8_t *mi = mask ? mask + (size_t)i * n + j : NULL;
      if (nb == 3) tile_4_3(ai, k, bj, n, ci, biasj, act, mi);
      else if (nb == 2) tile_4_2(ai, k, bj, n, ci, biasj, act, mi);
      else tile_4_1(ai, k, bj, n, ci, biasj, act, mi);
    }
    for (; i < m; i++) {
      const float *ai = a + (size_t)i * k;
      float *ci = c + (size_t)i * n + j;
      uint8_t *mi = mask ? mask + (size_t)i * n + j : NULL;
      if (nb == 3) tile_1_3(ai, k, bj, n, ci, biasj, act, mi);
      else if (nb == 2) tile_1_2(ai, k, bj, n, ci, biasj, act, mi);
      else tile_1_1(ai, k, bj, n, ci, biasj, act, mi);
    }
    j += nb * VW;
  }
}

// MARK: - exp and the smooth activations of transformers

static inline vf vexp(vf x) {
  x = vmin(vmax(x, vset1(-87.3f)), vset1(88.3f));
  vf n = vround(vmul(x, vset1(1.44269504088896341f)));
  // r = x − n ln 2, with ln 2 split in two parts so that n · 0.693359375 is exact.
  vf r = vfnma(n, vset1(0.693359375f), x);
  r = vfnma(n, vset1(-2.12194440e-4f), r);
  vf p = vset1(1.9875691500e-4f);
  p = vfma(p, r, vset1(1.3981999507e-3f));
  p = vfma(p, r, vset1(8.3334519073e-3f));
  p = vfma(p, r, vset1(4.1665795894e-2f));
  p = vfma(p, r, vset1(1.6666665459e-1f));
  p = vfma(p, r, vset1(5.0000001201e-1f));
  p = vfma(p, vmul(r, r), vadd(r, vset1(1.0f)));
  return vmul(p, vpow2i(n));
}

/// erf(x) = 1 − (a1 t + … + a5 t⁵) e^{−x²}, t = 1 / (1 + p|x|), odd in x (Abramowitz & Stegun 7.1.26).
static inline vf verf(vf x) {
  const vf sign_bit = vset1(-0.0f);
  const vf one = vset1(1.0f);
  vf sign = vand(x, sign_bit);
  vf a = vandnot(sign_bit, x);
  vf t = vdiv(one, vfma(vset1(0.3275911f), a, one));
  vf p = vset1(1.061405429f);
  p = vfma(p, t, vset1(-1.453152027f));
  p = vfma(p, t, vset1(1.421413741f));
  p = vfma(p, t, vset1(-0.284496736f));
  p = vfma(p, t, vset1(0.254829592f));
  p = vmul(p, t);
  vf y = vfnma(p, vexp(vsub(vzero(), vmul(a, a))), one);
  return vor(y, sign);
}

static inline vf vsigmoid(vf x) {
  const vf one = vset1(1.0f);
  return vdiv(one, vadd(one, vexp(vsub(vzero(), x))));
}

static inline vf vtanh(vf x) {
  const vf one = vset1(1.0f);
  vf e = vexp(vadd(x, x));
  return vsub(one, vdiv(vset1(2.0f), vadd(e, one)));
}

static inline vf smooth_value(vf x, int kind) {
  switch (kind) {
  case 0: {
    vf cdf = vmul(vset1(0.5f), vadd(vset1(1.0f), verf(vmul(x, vset1(0.70710678118654752f)))));
    return vmul(x, cdf);
  }
  case 1: return vmul(x, vsigmoid(vmul(x, vset1(1.702f))));
  default: return vtanh(x);
  }
}

static inline vf smooth_derivative(vf x, int kind) {
  const vf one = vset1(1.0f);
  switch (kind) {
  case 0: {
    // Φ(x) + x φ(x)
    vf cdf = vmul(vset1(0.5f), vadd(one, verf(vmul(x, vset1(0.70710678118654752f)))));
    vf pdf = vmul(vexp(vmul(vset1(-0.5f), vmul(x, x))), vset1(0.39894228040143268f));
    return vfma(x, pdf, cdf);
  }
  case 1: {
    vf s = vsigmoid(vmul(x, vset1(1.702f)));
    vf slope = vmul(vmul(vset1(1.702f), x), vmul(s, vsub(one, s)));
    return vadd(s, slope);
  }
  default: {
    vf t = vtanh(x);
    return vfnma(t, t, one);
  }
  }
}

// The last n mod VW elements go through the same vector code, from a zero-padded copy.
void VP_FN(vp_exp_shifted)(float *x, size_t n, float shift) {
  vf s = vset1(shift);
  size_t i = 0;
  for (; i + VW <= n; i += VW) vstore(x + i, vexp(vsub(vload(x + i), s)));
  if (i < n) {
    float tail[VW] = {0};
    for (size_t j = i; j < n; j++) tail[j - i] = x[j];
    vstore(tail, vexp(vsub(vload(tail), s)));
    for (size_t j = i; j < n; j++) x[j] = tail[j - i];
  }
}

void VP_FN(vp_smooth_activation_forward)(const float *x, float *y, size_t n, int kind) {
  size_t i = 0;
  for (; i + VW <= n; i += VW) vstore(y + i, smooth_value(vload(x + i), kind));
  if (i < n) {
    float tail[VW] = {0};
    for (size_t j = i; j < n; j++) tail[j - i] = x[j];
    vstore(tail, smooth_value(vload(tail), kind));
    for (size_t j = i; j < n; j++) y[j] = tail[j - i];
  }
}

void VP_FN(vp_smooth_activation_backward)(const float *x, float *g, size_t n, int kind) {
  size_t i = 0;
  for (; i + VW <= n; i += VW) vstore(g + i, vmul(vload(g + i), smooth_derivative(vload(x + i), kind)));
  if (i < n) {
    float tail[VW] = {0};
    for (size_t j = i; j < n; j++) tail[j - i] = x[j];
    vstore(tail, smooth_derivative(vload(tail), kind));
    for (size_t j = i; j < n; j++) g[j] *= tail[j - i];
  }
}
