#pragma once
#include <stddef.h>
#include <stdint.h>

// Hand-vectorised (AVX2 + FMA) kernels for the layers that are not matrix products. Channels-last
// (NHWC) float32. Each call covers rows [row0, row1) of its output so that callers can split work over
// threads. `act`: 0 identity, 1 ReLU, 2 ReLU6; `mask` (may be NULL): one byte per output element, 1 where
// the activation's derivative is 1.

/// Depthwise convolution (channel multiplier 1). `wt` is [kh][kw][c]; output rows are n·oh + oy.
void vp_depthwise_forward(const float *x, int h, int w, int c, const float *wt, const float *bias, int kh, int kw,
                          int sh, int sw, int pad_top, int pad_left, float *y, int oh, int ow, uint8_t *mask, int act,
                          int row0, int row1);

/// Input gradient of a depthwise convolution for images [n0, n1): gx = Σ_taps gy · w (scatter within each
/// image, so images may run in parallel). gx is overwritten.
void vp_depthwise_backward(const float *gy, int oh, int ow, const float *wt, int kh, int kw, int sh, int sw,
                           int pad_top, int pad_left, float *gx, int h, int w, int c, int n0, int n1);

/// Bias + activation (+ mask) in place on rows × c.
void vp_bias_activation(float *y, size_t rows, int c, const float *bias, int act, uint8_t *mask);

/// C[m×n] = A[m×k] · B[k×n] (row-major; lda = k, ldc = n) for the small matrices of 1×1 convolutions with few
/// input or output channels, where a general GEMM spends most of its time packing. n % 8 == 0. With
/// `bias`/`act`/`mask`, the convolution's epilogue is applied to each tile while it is in registers.
void vp_gemm_small(const float *a, int m, int k, const float *b, int n, float *c, const float *bias, int act,
                   uint8_t *mask);
