// vp_kernels.h's kernels for AVX2 + FMA (8 lanes); the target's compiler flags enable those instructions.
#include "vp_kernels.h"

#define VP_WIDTH 8
#include "simd.h"

#include "kernels_body.h"
#include "winograd_body.h"
