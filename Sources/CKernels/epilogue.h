#pragma once
// The bias/activation/mask epilogue shared by the kernels (internal to CKernels). `act`: 0 identity, 1 ReLU,
// 2 ReLU6.
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

static inline __m256 activate(__m256 v, int act) {
  if (act == 0) return v;
  v = _mm256_max_ps(v, _mm256_setzero_ps());
  if (act == 2) v = _mm256_min_ps(v, _mm256_set1_ps(6.0f));
  return v;
}

// 8 mask bytes for the pre-activation v: 1 where 0 < v (< 6 for ReLU6).
static inline void store_mask8(uint8_t *m, __m256 v, int act) {
  __m256 inside;
  if (act == 0) {
    inside = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  } else {
    inside = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
    if (act == 2) inside = _mm256_and_ps(inside, _mm256_cmp_ps(v, _mm256_set1_ps(6.0f), _CMP_LT_OQ));
  }
  int bits = _mm256_movemask_ps(inside);
  // Spread 8 bits into 8 bytes of 0/1.
  uint64_t spread = _pdep_u64((uint64_t)bits, 0x0101010101010101ULL);
  memcpy(m, &spread, 8);
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
