#pragma once
#include <stddef.h>
#include <stdint.h>

// Hand-vectorised kernels for the layers that are not matrix products, built for AVX2 + FMA and for AVX-512 from
// one source and chosen at run time (dispatch.c; the same bits either way). Channels-last (NHWC) float32. Each call covers rows [row0, row1) of its output so that callers can split work over
// threads. `act`: 0 identity, 1 ReLU, 2 ReLU6; `mask` (may be NULL): one byte per output element, 1 where
// the activation's derivative is 1.

/// Whether the CPU (and the OS) support AVX-512 F, BW, VL and DQ.
int vp_cpu_has_avx512(void);
/// The vector width every kernel below runs with: 1 AVX-512, 0 AVX2. Chosen on first use: the best the CPU has.
int vp_kernels_level(void);
/// Asks for a width (1 AVX-512, 0 AVX2) before any work; returns the one in effect (AVX2 where the CPU lacks
/// AVX-512). Not to be called while kernels run on other threads.
int vp_kernels_select(int wanted);

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

/// In place: x[i] = exp(x[i] − shift) for n values (a softmax row). AVX2 exp: Cody–Waite reduction by ln 2 and
/// Cephes' degree-6 polynomial, relative error 1.2e-7 (measured on [−80, 80]); arguments are clamped to [−87.3, 88.3]. Every element,
/// including the last n mod 8, takes the same vector path, so results do not depend on how a caller splits
/// an array.
void vp_exp_shifted(float *x, size_t n, float shift);

/// Smooth activations, `kind`: 0 GELU (exact: ½x(1 + erf(x/√2)), erf by Abramowitz–Stegun 7.1.26, error
/// < 1.5e-7, with the exp above), 1 QuickGELU (x·σ(1.702x)), 2 tanh. Forward: y = f(x); backward: g *= f′(x)
/// in place. Measured against the float64 formulas on [−10, 10]: absolute error of f 4.7e-7 (GELU), 7.4e-7
/// (QuickGELU), 1.8e-7 (tanh), of f′ at most 9.8e-7. Same vector path for every element (see vp_exp_shifted).
void vp_smooth_activation_forward(const float *x, float *y, size_t n, int kind);
void vp_smooth_activation_backward(const float *x, float *g, size_t n, int kind);

// Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions (winograd.c). A batch's tiles are numbered by tile row
// (`row = n·tiles_h + ty`, tiles_h = ⌈H'/4⌉) and then column (`tile = row·tiles_w + tx`); a transformed tile's 36
// elements ξ = 6·i + k are stored `stride` floats apart, so element ξ of every tile is one `[tiles, c]` matrix at
// `v + ξ·stride` (channel j of tile t at `v[ξ·stride + t·c + j]`). Each call covers tile rows [row0, row1).

/// Input transform Bᵀ·D·B of the 6×6 input tiles at (4·ty − pad_top, 4·tx − pad_left), zeros outside the image.
void vp_winograd_f43_input(const float *x, int h, int w, int c, int pad_top, int pad_left, int tiles_h, int tiles_w,
                           int row0, int row1, float *v, size_t stride);

/// Output transform Aᵀ·M·A of each tile to its 4×4 output pixels (those inside oh × ow), plus bias, activation and
/// the activation's mask (`mask` may be NULL).
void vp_winograd_f43_output(const float *m, size_t stride, int c, int tiles_h, int tiles_w, int row0, int row1,
                            const float *bias, int act, float *y, int oh, int ow, uint8_t *mask);

/// Backward, the adjoint of the output transform: A·∂Y·Aᵀ of each 4×4 output-gradient tile (zeros beyond oh × ow).
void vp_winograd_f43_output_adjoint(const float *gy, int oh, int ow, int c, int tiles_h, int tiles_w, int row0,
                                    int row1, float *v, size_t stride);

/// Backward, the adjoint of the input transform: B·Z·Bᵀ of each tile *added* to its 6×6 input pixels inside the
/// image (gx must be zeroed first), for the tile rows in [row0, row1) whose ty has the given parity (0 or 1).
/// Neighbouring tiles overlap by two pixels; tile rows two apart never touch the same pixel, so the even rows
/// (then the odd ones) may be split over threads, and the sums come out in the same order however they are split.
void vp_winograd_f43_input_adjoint(const float *z, size_t stride, int c, int tiles_h, int tiles_w, int row0, int row1,
                                   int parity, float *gx, int h, int w, int pad_top, int pad_left);

// Fused inverted-residual blocks (InvertedResidual.swift).

/// Input gradient of a depthwise convolution for the input rows [iy0, iy1) of one image, written to gx (row iy at
/// gx + (iy − iy0)·w·c). A gather that adds each pixel's taps in the order of vp_depthwise_backward's scatter
/// (output position ascending, from zero, one FMA each), so the bits are the same. `gy` holds the output-gradient
/// rows from gy_row0 on (row oy at gy + (oy − gy_row0)·ow·c): every row a tap of [iy0, iy1) reads.
void vp_depthwise_backward_rows(const float *gy, int gy_row0, int oh, int ow, const float *wt, int kh, int kw,
                                int sh, int sw, int pad_top, int pad_left, float *gx, int h, int w, int c, int iy0,
                                int iy1);
