#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "vp_kernels.h"

// The input gradient of a depthwise convolution for input rows [iy0, iy1) of one image, as a gather: each input
// pixel sums its taps in the order vp_depthwise_backward's scatter adds them — output position (oy, ox)
// ascending, starting from zero, one fused multiply-add per tap, with the scatter's loop over channels — so the
// two give the same bits.
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
      memset(dst, 0, sizeof(float) * (size_t)c);
      for (int oy = oy0; oy < oy1; oy++) {
        const int ky = iy + pad_top - oy * sh;
        const float *grow = gy + (size_t)(oy - gy_row0) * ow * c;
        for (int ox = ox0; ox < ox1; ox++) {
          const int kx = ix + pad_left - ox * sw;
          const float *g = grow + (size_t)ox * c;
          const float *wp = wt + (size_t)(ky * kw + kx) * c;
          // The scatter's loop, for one tap: the same fused multiply-add per element.
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
