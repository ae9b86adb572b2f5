// The exported kernels: each calls the AVX-512 or the AVX2 build of the same source (kernels_body.h,
// winograd_body.h), chosen once when the library loads — AVX-512 where the CPU and the OS support it — and
// changeable before any work with vp_kernels_select (portable mode and `VPBOOK_OWN_KERNELS=avx2` ask for AVX2).
// Both give the same bits (simd.h); the choice changes speed only.
#include "vp_kernels.h"

#define DECLARE(SUFFIX)                                                                                          \
  void vp_depthwise_forward_##SUFFIX(const float *, int, int, int, const float *, const float *, int, int, int, \
                                     int, int, int, float *, int, int, uint8_t *, int, int, int);              \
  void vp_depthwise_backward_##SUFFIX(const float *, int, int, const float *, int, int, int, int, int, int,     \
                                      float *, int, int, int, int, int);                                       \
  void vp_depthwise_backward_rows_##SUFFIX(const float *, int, int, int, const float *, int, int, int, int, int, \
                                           int, float *, int, int, int, int, int);                             \
  void vp_bias_activation_##SUFFIX(float *, size_t, int, const float *, int, uint8_t *);                         \
  void vp_gemm_small_##SUFFIX(const float *, int, int, const float *, int, float *, const float *, int,         \
                              uint8_t *);                                                                       \
  void vp_exp_shifted_##SUFFIX(float *, size_t, float);                                                         \
  void vp_smooth_activation_forward_##SUFFIX(const float *, float *, size_t, int);                              \
  void vp_smooth_activation_backward_##SUFFIX(const float *, float *, size_t, int);                             \
  void vp_winograd_f43_input_##SUFFIX(const float *, int, int, int, int, int, int, int, int, int, float *,      \
                                      size_t);                                                                  \
  void vp_winograd_f43_output_##SUFFIX(const float *, size_t, int, int, int, int, int, const float *, int,      \
                                       float *, int, int, uint8_t *);                                           \
  void vp_winograd_f43_output_adjoint_##SUFFIX(const float *, int, int, int, int, int, int, int, float *,       \
                                               size_t);                                                         \
  void vp_winograd_f43_input_adjoint_##SUFFIX(const float *, size_t, int, int, int, int, int, int, float *,     \
                                              int, int, int, int);
DECLARE(avx2)
DECLARE(avx512)

int vp_cpu_has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

// -1: not chosen yet (the first call chooses the best the CPU has). Read by every kernel call on any thread, so
// loads and stores are atomic (relaxed: the value is all that is shared).
static int level = -1;

int vp_kernels_level(void) {
  int current = __atomic_load_n(&level, __ATOMIC_RELAXED);
  if (current < 0) {
    current = vp_cpu_has_avx512() ? 1 : 0;
    __atomic_store_n(&level, current, __ATOMIC_RELAXED);
  }
  return current;
}

int vp_kernels_select(int wanted) {
  int chosen = wanted >= 1 && vp_cpu_has_avx512() ? 1 : 0;
  __atomic_store_n(&level, chosen, __ATOMIC_RELAXED);
  return chosen;
}

#define CALL(NAME, ...) (vp_kernels_level() ? NAME##_avx512(__VA_ARGS__) : NAME##_avx2(__VA_ARGS__))

void vp_depthwise_forward(const float *x, int h, int w, int c, const float *wt, const float *bias, int kh, int kw,
                          int sh, int sw, int pad_top, int pad_left, float *y, int oh, int ow, uint8_t *mask, int act,
                          int row0, int row1) {
  CALL(vp_depthwise_forward, x, h, w, c, wt, bias, kh, kw, sh, sw, pad_top, pad_left, y, oh, ow, mask, act, row0,
       row1);
}

void vp_depthwise_backward(const float *gy, int oh, int ow, const float *wt, int kh, int kw, int sh, int sw,
                           int pad_top, int pad_left, float *gx, int h, int w, int c, int n0, int n1) {
  CALL(vp_depthwise_backward, gy, oh, ow, wt, kh, kw, sh, sw, pad_top, pad_left, gx, h, w, c, n0, n1);
}

void vp_depthwise_backward_rows(const float *gy, int gy_row0, int oh, int ow, const float *wt, int kh, int kw,
                                int sh, int sw, int pad_top, int pad_left, float *gx, int h, int w, int c, int iy0,
                                int iy1) {
  CALL(vp_depthwise_backward_rows, gy, gy_row0, oh, ow, wt, kh, kw, sh, sw, pad_top, pad_left, gx, h, w, c, iy0, iy1);
}

void vp_bias_activation(float *y, size_t rows, int c, const float *bias, int act, uint8_t *mask) {
  CALL(vp_bias_activation, y, rows, c, bias, act, mask);
}

void vp_gemm_small(const float *a, int m, int k, const float *b, int n, float *c, const float *bias, int act,
                   uint8_t *mask) {
  CALL(vp_gemm_small, a, m, k, b, n, c, bias, act, mask);
}

void vp_exp_shifted(float *x, size_t n, float shift) { CALL(vp_exp_shifted, x, n, shift); }

void vp_smooth_activation_forward(const float *x, float *y, size_t n, int kind) {
  CALL(vp_smooth_activation_forward, x, y, n, kind);
}

void vp_smooth_activation_backward(const float *x, float *g, size_t n, int kind) {
  CALL(vp_smooth_activation_backward, x, g, n, kind);
}

void vp_winograd_f43_input(const float *x, int h, int w, int c, int pad_top, int pad_left, int tiles_h, int tiles_w,
                           int row0, int row1, float *v, size_t stride) {
  CALL(vp_winograd_f43_input, x, h, w, c, pad_top, pad_left, tiles_h, tiles_w, row0, row1, v, stride);
}

void vp_winograd_f43_output(const float *m, size_t stride, int c, int tiles_h, int tiles_w, int row0, int row1,
                            const float *bias, int act, float *y, int oh, int ow, uint8_t *mask) {
  CALL(vp_winograd_f43_output, m, stride, c, tiles_h, tiles_w, row0, row1, bias, act, y, oh, ow, mask);
}

void vp_winograd_f43_output_adjoint(const float *gy, int oh, int ow, int c, int tiles_h, int tiles_w, int row0,
                                    int row1, float *v, size_t stride) {
  CALL(vp_winograd_f43_output_adjoint, gy, oh, ow, c, tiles_h, tiles_w, row0, row1, v, stride);
}

void vp_winograd_f43_input_adjoint(const float *z, size_t stride, int c, int tiles_h, int tiles_w, int row0, int row1,
                                   int parity, float *gx, int h, int w, int pad_top, int pad_left) {
  CALL(vp_winograd_f43_input_adjoint, z, stride, c, tiles_h, tiles_w, row0, row1, parity, gx, h, w, pad_top,
       pad_left);
}
