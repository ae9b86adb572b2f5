#include "vp_kernels.h"

#include <immintrin.h>
#include <string.h>

#include "epilogue.h"

void vp_bias_activation(float *y, size_t rows, int c, const float *bias, int act, uint8_t *mask) {
  for (size_t r = 0; r < rows; r++) {
    float *row = y + r * (size_t)c;
    uint8_t *m = mask ? mask + r * (size_t)c : NULL;
    int j = 0;
    for (; j + 8 <= c; j += 8) {
      __m256 v = _mm256_loadu_ps(row + j);
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
      if (m) store_mask8(m + j, v, act);
      _mm256_storeu_ps(row + j, activate(v, act));
    }
    for (; j < c; j++) {
      float v = row[j] + (bias ? bias[j] : 0.0f);
      if (m) m[j] = mask1(v, act);
      row[j] = activate1(v, act);
    }
  }
}

// One output pixel of a depthwise convolution over the taps [ky0, ky1) × [kx0, kx1); `base` points at the
// input pixel of tap (0, 0) (possibly outside the image; only valid taps are read).
static inline void dw_pixel(const float *base, int rowstride, int c, const float *wt, int kw, int ky0, int ky1,
                            int kx0, int kx1, const float *bias, float *out, uint8_t *m, int act) {
  int j = 0;
  for (; j + 32 <= c; j += 32) {
    __m256 a0 = _mm256_loadu_ps(bias + j), a1 = _mm256_loadu_ps(bias + j + 8);
    __m256 a2 = _mm256_loadu_ps(bias + j + 16), a3 = _mm256_loadu_ps(bias + j + 24);
    for (int ky = ky0; ky < ky1; ky++) {
      for (int kx = kx0; kx < kx1; kx++) {
        const float *xp = base + (ptrdiff_t)ky * rowstride + (ptrdiff_t)kx * c + j;
        const float *wp = wt + (size_t)(ky * kw + kx) * c + j;
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp), _mm256_loadu_ps(wp), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 8), _mm256_loadu_ps(wp + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 16), _mm256_loadu_ps(wp + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 24), _mm256_loadu_ps(wp + 24), a3);
      }
    }
    if (m) {
      store_mask8(m + j, a0, act);
      store_mask8(m + j + 8, a1, act);
      store_mask8(m + j + 16, a2, act);
      store_mask8(m + j + 24, a3, act);
    }
    _mm256_storeu_ps(out + j, activate(a0, act));
    _mm256_storeu_ps(out + j + 8, activate(a1, act));
    _mm256_storeu_ps(out + j + 16, activate(a2, act));
    _mm256_storeu_ps(out + j + 24, activate(a3, act));
  }
  for (; j + 8 <= c; j += 8) {
    __m256 a0 = _mm256_loadu_ps(bias + j);
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(base + (ptrdiff_t)ky * rowstride + (ptrdiff_t)kx * c + j),
                             _mm256_loadu_ps(wt + (size_t)(ky * kw + kx) * c + j), a0);
    if (m) store_mask8(m + j, a0, act);
    _mm256_storeu_ps(out + j, activate(a0, act));
  }
  for (; j < c; j++) {
    float a = bias[j];
    for (int ky = ky0; ky < ky1; ky++)
      for (int kx = kx0; kx < kx1; kx++)
        a += base[(ptrdiff_t)ky * rowstride + (ptrdiff_t)kx * c + j] * wt[(size_t)(ky * kw + kx) * c + j];
    if (m) m[j] = mask1(a, act);
    out[j] = activate1(a, act);
  }
}

void vp_depthwise_forward(const float *x, int h, int w, int c, const float *wt, const float *bias, int kh, int kw,
                          int sh, int sw, int pad_top, int pad_left, float *y, int oh, int ow, uint8_t *mask, int act,
                          int row0, int row1) {
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

void vp_depthwise_backward(const float *gy, int oh, int ow, const float *wt, int kh, int kw, int sh, int sw,
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
            float *dst = image + ((size_t)iy * w + ix) * c;
            const float *wp = wt + (size_t)(ky * kw + kx) * c;
            int j = 0;
            for (; j + 16 <= c; j += 16) {
              _mm256_storeu_ps(dst + j, _mm256_fmadd_ps(_mm256_loadu_ps(g + j), _mm256_loadu_ps(wp + j),
                                                        _mm256_loadu_ps(dst + j)));
              _mm256_storeu_ps(dst + j + 8, _mm256_fmadd_ps(_mm256_loadu_ps(g + j + 8), _mm256_loadu_ps(wp + j + 8),
                                                            _mm256_loadu_ps(dst + j + 8)));
            }
            for (; j + 8 <= c; j += 8)
              _mm256_storeu_ps(dst + j, _mm256_fmadd_ps(_mm256_loadu_ps(g + j), _mm256_loadu_ps(wp + j),
                                                        _mm256_loadu_ps(dst + j)));
            for (; j < c; j++) dst[j] += g[j] * wp[j];
          }
        }
      }
    }
  }
}

// A tile of ROWS rows × NB·8 columns, accumulated over k, then stored with the epilogue.
#define TILE(ROWS, NB)                                                                                          \
  static inline void tile_##ROWS##_##NB(const float *a, int k, const float *b, int n, float *c,                 \
                                        const float *bias, int act, uint8_t *mask) {                            \
    __m256 acc[ROWS][NB];                                                                                       \
    for (int i = 0; i < ROWS; i++)                                                                              \
      for (int q = 0; q < NB; q++) acc[i][q] = bias ? _mm256_loadu_ps(bias + 8 * q) : _mm256_setzero_ps();      \
    for (int p = 0; p < k; p++) {                                                                               \
      __m256 bv[NB];                                                                                            \
      for (int q = 0; q < NB; q++) bv[q] = _mm256_loadu_ps(b + (size_t)p * n + 8 * q);                          \
      for (int i = 0; i < ROWS; i++) {                                                                          \
        const __m256 av = _mm256_broadcast_ss(a + (size_t)i * k + p);                                           \
        for (int q = 0; q < NB; q++) acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);                         \
      }                                                                                                         \
    }                                                                                                           \
    for (int i = 0; i < ROWS; i++)                                                                              \
      for (int q = 0; q < NB; q++) {                                                                            \
        if (mask) store_mask8(mask + (size_t)i * n + 8 * q, acc[i][q], act);                                    \
        _mm256_storeu_ps(c + (size_t)i * n + 8 * q, activate(acc[i][q], act));                                  \
      }                                                                                                         \
  }
TILE(4, 3)
TILE(4, 2)
TILE(4, 1)
TILE(1, 3)
TILE(1, 2)
TILE(1, 1)

void vp_gemm_small(const float *a, int m, int k, const float *b, int n, float *c, const float *bias, int act,
                   uint8_t *mask) {
  int j = 0;
  while (j < n) {
    const int left = (n - j) / 8;
    const int nb = left >= 3 ? 3 : left;
    const float *bj = b + j;
    const float *biasj = bias ? bias + j : NULL;
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
    j += nb * 8;
  }
}

// MARK: - exp and the smooth activations of transformers

static inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x − n ln 2, with ln 2 split in two parts so that n · 0.693359375 is exact.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/// erf(x) = 1 − (a1 t + … + a5 t⁵) e^{−x²}, t = 1 / (1 + p|x|), odd in x (Abramowitz & Stegun 7.1.26).
static inline __m256 erf8(__m256 x) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 sign = _mm256_and_ps(x, sign_bit);
  __m256 a = _mm256_andnot_ps(sign_bit, x);
  __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, one));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  __m256 y = _mm256_fnmadd_ps(p, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a))), one);
  return _mm256_or_ps(y, sign);
}

static inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

static inline __m256 tanh8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e = exp8(_mm256_add_ps(x, x));
  return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
}

static inline __m256 smooth_value8(__m256 x, int kind) {
  const __m256 half = _mm256_set1_ps(0.5f);
  switch (kind) {
  case 0: {
    __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(_mm256_set1_ps(1.0f),
                                                   erf8(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)))));
    return _mm256_mul_ps(x, cdf);
  }
  case 1: return _mm256_mul_ps(x, sigmoid8(_mm256_mul_ps(x, _mm256_set1_ps(1.702f))));
  default: return tanh8(x);
  }
}

static inline __m256 smooth_derivative8(__m256 x, int kind) {
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (kind) {
  case 0: {
    // Φ(x) + x φ(x)
    __m256 cdf = _mm256_mul_ps(_mm256_set1_ps(0.5f),
                               _mm256_add_ps(one, erf8(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)))));
    __m256 pdf = _mm256_mul_ps(exp8(_mm256_mul_ps(_mm256_set1_ps(-0.5f), _mm256_mul_ps(x, x))),
                               _mm256_set1_ps(0.39894228040143268f));
    return _mm256_fmadd_ps(x, pdf, cdf);
  }
  case 1: {
    __m256 s = sigmoid8(_mm256_mul_ps(x, _mm256_set1_ps(1.702f)));
    __m256 slope = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(1.702f), x), _mm256_mul_ps(s, _mm256_sub_ps(one, s)));
    return _mm256_add_ps(s, slope);
  }
  default: {
    __m256 t = tanh8(x);
    return _mm256_fnmadd_ps(t, t, one);
  }
  }
}

void vp_exp_shifted(float *x, size_t n, float shift) {
  __m256 s = _mm256_set1_ps(shift);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
  if (i < n) {
    float tail[8] = {0};
    for (size_t j = i; j < n; j++) tail[j - i] = x[j];
    _mm256_storeu_ps(tail, exp8(_mm256_sub_ps(_mm256_loadu_ps(tail), s)));
    for (size_t j = i; j < n; j++) x[j] = tail[j - i];
  }
}

void vp_smooth_activation_forward(const float *x, float *y, size_t n, int kind) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, smooth_value8(_mm256_loadu_ps(x + i), kind));
  if (i < n) {
    float tail[8] = {0};
    for (size_t j = i; j < n; j++) tail[j - i] = x[j];
    _mm256_storeu_ps(tail, smooth_value8(_mm256_loadu_ps(tail), kind));
    for (size_t j = i; j < n; j++) y[j] = tail[j - i];
  }
}

void vp_smooth_activation_backward(const float *x, float *g, size_t n, int kind) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 d = smooth_derivative8(_mm256_loadu_ps(x + i), kind);
    _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), d));
  }
  if (i < n) {
    float tail[8] = {0};
    for (size_t j = i; j < n; j++) tail[j - i] = x[j];
    _mm256_storeu_ps(tail, smooth_derivative8(_mm256_loadu_ps(tail), kind));
    for (size_t j = i; j < n; j++) g[j] *= tail[j - i];
  }
}
