#pragma once
// The vector vocabulary the kernel bodies (kernels_body.h, winograd_body.h) are written in, for one vector width:
// VP_WIDTH 8 (AVX2 + FMA, `__m256`) or 16 (AVX-512 F/BW/VL/DQ, `__m512`). Each kernel translation unit defines
// VP_WIDTH and includes this header and the bodies once, so the same source is compiled for both instruction sets
// (kernels_avx2.c, kernels_avx512.c) and dispatch.c picks one at run time.
//
// Every operation here acts lane by lane with the same IEEE operation at both widths (loads, stores, add, sub,
// mul, div, min, max, fused multiply–add, round-to-nearest, conversion), so a kernel gives the same bits at either
// width as long as each output element sees the same sequence of operations — which the bodies keep (tests:
// KernelDispatchTests). `act`: 0 identity, 1 ReLU, 2 ReLU6.
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#if VP_WIDTH == 16

typedef __m512 vf;
typedef __mmask16 vlanes;  // which lanes a partial load or store touches
#define VW 16
#define VP_FN(name) name##_avx512

static inline vf vload(const float *p) { return _mm512_loadu_ps(p); }
static inline void vstore(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vset1(float x) { return _mm512_set1_ps(x); }
static inline vf vzero(void) { return _mm512_setzero_ps(); }
static inline vf vbroadcast(const float *p) { return _mm512_set1_ps(*p); }
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vdiv _mm512_div_ps
#define vmin _mm512_min_ps
#define vmax _mm512_max_ps
#define vfma _mm512_fmadd_ps    // a·b + c
#define vfnma _mm512_fnmadd_ps  // c − a·b
static inline vf vand(vf a, vf b) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
static inline vf vor(vf a, vf b) {
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
static inline vf vandnot(vf a, vf b) {  // ~a & b
  return _mm512_castsi512_ps(_mm512_andnot_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
static inline vf vround(vf x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// 2^n for integral n in float's exponent range.
static inline vf vpow2i(vf n) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
}

static inline vlanes vlanes_first(int lanes) { return (vlanes)((1u << lanes) - 1u); }
static inline vf vload_part(const float *p, int lanes, vlanes m) {
  return lanes == VW ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}
static inline void vstore_part(float *p, vf v, int lanes, vlanes m) {
  if (lanes == VW) _mm512_storeu_ps(p, v);
  else _mm512_mask_storeu_ps(p, m, v);
}

// The activation's mask for the pre-activation v, one byte per lane: 1 where 0 < v (< 6 for ReLU6).
static inline __mmask16 activation_lanes(vf v, int act) {
  if (act == 0) return (__mmask16)0xFFFF;
  __mmask16 k = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
  if (act == 2) k &= _mm512_cmp_ps_mask(v, _mm512_set1_ps(6.0f), _CMP_LT_OQ);
  return k;
}
static inline void vstore_mask(uint8_t *m, vf v, int act) {
  _mm_storeu_si128((__m128i *)m, _mm_maskz_set1_epi8(activation_lanes(v, act), 1));
}
static inline void vstore_mask_part(uint8_t *m, vf v, int act, int lanes) {
  _mm_mask_storeu_epi8(m, (__mmask16)((1u << lanes) - 1u), _mm_maskz_set1_epi8(activation_lanes(v, act), 1));
}

#elif VP_WIDTH == 8

typedef __m256 vf;
typedef __m256i vlanes;
#define VW 8
#define VP_FN(name) name##_avx2

static inline vf vload(const float *p) { return _mm256_loadu_ps(p); }
static inline void vstore(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vset1(float x) { return _mm256_set1_ps(x); }
static inline vf vzero(void) { return _mm256_setzero_ps(); }
static inline vf vbroadcast(const float *p) { return _mm256_broadcast_ss(p); }
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vdiv _mm256_div_ps
#define vmin _mm256_min_ps
#define vmax _mm256_max_ps
#define vfma _mm256_fmadd_ps
#define vfnma _mm256_fnmadd_ps
#define vand _mm256_and_ps
#define vor _mm256_or_ps
#define vandnot _mm256_andnot_ps
static inline vf vround(vf x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vpow2i(vf n) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}

static inline vlanes vlanes_first(int lanes) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline vf vload_part(const float *p, int lanes, vlanes m) {
  return lanes == VW ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}
static inline void vstore_part(float *p, vf v, int lanes, vlanes m) {
  if (lanes == VW) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, m, v);
}

static inline int activation_bits(vf v, int act) {
  if (act == 0) return 0xFF;
  __m256 inside = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
  if (act == 2) inside = _mm256_and_ps(inside, _mm256_cmp_ps(v, _mm256_set1_ps(6.0f), _CMP_LT_OQ));
  return _mm256_movemask_ps(inside);
}
static inline void vstore_mask(uint8_t *m, vf v, int act) {
  // Spread 8 bits into 8 bytes of 0/1.
  uint64_t spread = _pdep_u64((uint64_t)activation_bits(v, act), 0x0101010101010101ULL);
  memcpy(m, &spread, 8);
}
static inline void vstore_mask_part(uint8_t *m, vf v, int act, int lanes) {
  uint64_t spread = _pdep_u64((uint64_t)activation_bits(v, act), 0x0101010101010101ULL);
  memcpy(m, &spread, (size_t)lanes);
}

#else
#error "VP_WIDTH must be 8 or 16"
#endif

// The 8-lane (AVX2) forms, available at both widths: the AVX-512 bodies finish a channel row whose length is not a
// multiple of 16 with one 8-lane step, as the AVX2 bodies do, so every channel is computed by the same path.
static inline __m256 activate8(__m256 v, int act) {
  if (act == 0) return v;
  v = _mm256_max_ps(v, _mm256_setzero_ps());
  if (act == 2) v = _mm256_min_ps(v, _mm256_set1_ps(6.0f));
  return v;
}
static inline void store_mask8(uint8_t *m, __m256 v, int act) {
  int bits = 0xFF;
  if (act != 0) {
    __m256 inside = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
    if (act == 2) inside = _mm256_and_ps(inside, _mm256_cmp_ps(v, _mm256_set1_ps(6.0f), _CMP_LT_OQ));
    bits = _mm256_movemask_ps(inside);
  }
  uint64_t spread = _pdep_u64((uint64_t)bits, 0x0101010101010101ULL);
  memcpy(m, &spread, 8);
}

static inline vf vactivate(vf v, int act) {
  if (act == 0) return v;
  v = vmax(v, vzero());
  if (act == 2) v = vmin(v, vset1(6.0f));
  return v;
}

static inline float activate1(float v, int act) {
  if (act == 0) return v;
  if (v < 0) v = 0;
  if (act == 2 && v > 6) v = 6;
  return v;
}
static inline uint8_t mask1(float v, int act) {
  if (act == 0) return 1;
  return (v > 0 && (act == 1 || v < 6)) ? 1 : 0;
}
