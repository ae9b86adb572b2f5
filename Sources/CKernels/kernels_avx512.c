// vp_kernels.h's kernels for AVX-512 (F, BW, VL, DQ; 16 lanes), compiled for those instructions whatever the
// target's flags say; called only where the CPU has them (dispatch.c).
#include "vp_kernels.h"

#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi2"))), \
                             apply_to = function)
#define VP_WIDTH 16
#include "simd.h"

#include "kernels_body.h"
#include "winograd_body.h"
#pragma clang attribute pop
