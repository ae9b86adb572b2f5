#include <immintrin.h>
#include <stddef.h>

#include "vp_kernels.h"

// The input gradient of a depthwise convolution for input rows [iy0, iy1) of one image, as a gather: each input
// pixel sums its taps in the order vp_depthwise_backward's scatter adds them — output position (oy, ox)
// ascending, starting from zero, one fused multiply-add per tap — so the two give the same bits.
void vp_depthwise_backward_rows(const float *gy, int gy_row0, int oh, int ow, const float *wt, int kh, int kw,
                                int sh, int sw, int pad_top, int pad_left, float *gx, int h, int w, int c, int iy0,
                                int iy1) {
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
      int j = 0;
      for (; j + 8 <= c; j += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int oy = oy0; oy < oy1; oy++) {
          const int ky = iy + pad_top - oy * sh;
          const float *grow = gy + (size_t)(oy - gy_row0) * ow * c;
          for (int ox = ox0; ox < ox1; ox++) {
            const int kx = ix + pad_left - ox * sw;
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(grow + (size_t)ox * c + j),
                                  _mm256_loadu_ps(wt + (size_t)(ky * kw + kx) * c + j), acc);
          }
        }
        _mm256_storeu_ps(dst + j, acc);
      }
      for (; j < c; j++) {
        float acc = 0.0f;
        for (int oy = oy0; oy < oy1; oy++) {
          const int ky = iy + pad_top - oy * sh;
          const float *grow = gy + (size_t)(oy - gy_row0) * ow * c;
          for (int ox = ox0; ox < ox1; ox++) {
            const int kx = ix + pad_left - ox * sw;
            acc += grow[(size_t)ox * c + j] * wt[(size_t)(ky * kw + kx) * c + j];
          }
        }
        dst[j] = acc;
      }
    }
  }
}
