// Winograd F(4×4, 3×3) tile transforms for 3×3 stride-1 convolutions (Lavin & Gray 2016, interpolation points
// 0, ±1, ±2, ∞), channels-last, vectorised over VW channels (the last c mod VW with masked loads and stores; lane
// by lane the same operations at both widths).
//
//   forward    Y = Aᵀ [U ⊙ (Bᵀ D B)] A      D: a 6×6 input tile, Y: its 4×4 output tile
//   backward   ∂D = B [U ⊙ (A ∂Y Aᵀ)] Bᵀ    the exact adjoint of the forward pass with the same U
//
// The 36 products U ⊙ · summed over channels are the caller's GEMMs. Transformed tiles are stored element-major:
// element ξ = 6·i + k of tile t, channel j at `v[ξ·stride + t·c + j]`, so each element's tiles form one
// `[tiles, c]` matrix. Tiles are numbered row by row: tile row `row = n·tiles_h + ty`, tile `row·tiles_w + tx`.
// Included by kernels_avx2.c and kernels_avx512.c after VP_WIDTH and simd.h (see kernels_body.h).

#define ADD vadd
#define SUB vsub
#define FMA vfma    // a·b + c
#define FNMA vfnma  // c − a·b

// t = Bᵀ d:  Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
static inline void bt6(const vf d[6], vf t[6]) {
  const vf two = vset1(2), four = vset1(4), five = vset1(5);
  t[0] = FMA(four, d[0], FNMA(five, d[2], d[4]));
  t[1] = FNMA(four, ADD(d[1], d[2]), ADD(d[3], d[4]));
  t[2] = FMA(four, SUB(d[1], d[2]), SUB(d[4], d[3]));
  const vf f = SUB(d[3], d[1]), g = SUB(d[4], d[2]);
  t[3] = FMA(two, f, g);
  t[4] = FNMA(two, f, g);
  t[5] = FMA(four, d[1], FNMA(five, d[3], d[5]));
}

// o = Aᵀ m:  Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
static inline void at4(const vf m[6], vf o[4]) {
  const vf a = ADD(m[1], m[2]), b = ADD(m[3], m[4]), c = SUB(m[1], m[2]), d = SUB(m[3], m[4]);
  o[0] = ADD(ADD(m[0], a), b);
  o[1] = FMA(vset1(2), d, c);
  o[2] = FMA(vset1(4), b, a);
  o[3] = ADD(FMA(vset1(8), d, c), m[5]);
}

// s = A g (the transpose of at4): 4 values to 6.
static inline void a6(const vf g[4], vf s[6]) {
  const vf p = ADD(g[0], g[2]), q = ADD(g[1], g[3]);
  const vf r = FMA(vset1(4), g[2], g[0]), u = FMA(vset1(8), g[3], ADD(g[1], g[1]));
  s[0] = g[0];
  s[1] = ADD(p, q);
  s[2] = SUB(p, q);
  s[3] = ADD(r, u);
  s[4] = SUB(r, u);
  s[5] = g[3];
}

// r = B z (the transpose of bt6).
static inline void b6(const vf z[6], vf r[6]) {
  const vf two = vset1(2), four = vset1(4), five = vset1(5);
  r[0] = vmul(four, z[0]);
  r[1] = FMA(four, ADD(SUB(z[2], z[1]), z[5]), vmul(two, SUB(z[4], z[3])));
  r[2] = vsub(vzero(), FMA(five, z[0], FMA(four, ADD(z[1], z[2]), ADD(z[3], z[4]))));
  r[3] = FNMA(five, z[5], FMA(two, SUB(z[3], z[4]), SUB(z[1], z[2])));
  r[4] = ADD(ADD(ADD(z[0], z[1]), ADD(z[2], z[3])), z[4]);
  r[5] = z[5];
}

// One input tile whose top-left pixel is (iy0, ix0), channels [j, j + lanes).
static inline void input_tile(const float *image, int h, int w, int c, int iy0, int ix0, int j, int lanes, vlanes m,
                              int inside, float *v, size_t stride) {
  vf cols[6][6];  // cols[i][k]: Bᵀ applied down column k
  for (int k = 0; k < 6; k++) {
    vf d[6];
    const int ix = ix0 + k;
    for (int i = 0; i < 6; i++) {
      const int iy = iy0 + i;
      if (inside || (iy >= 0 && iy < h && ix >= 0 && ix < w)) {
        d[i] = vload_part(image + ((size_t)iy * w + ix) * c + j, lanes, m);
      } else {
        d[i] = vzero();
      }
    }
    vf t[6];
    bt6(d, t);
    for (int i = 0; i < 6; i++) cols[i][k] = t[i];
  }
  for (int i = 0; i < 6; i++) {
    vf t[6];
    bt6(cols[i], t);
    for (int k = 0; k < 6; k++) vstore_part(v + (size_t)(6 * i + k) * stride + j, t[k], lanes, m);
  }
}

void VP_FN(vp_winograd_f43_input)(const float *x, int h, int w, int c, int pad_top, int pad_left, int tiles_h, int tiles_w,
                           int row0, int row1, float *v, size_t stride) {
  for (int row = row0; row < row1; row++) {
    const int n = row / tiles_h, ty = row % tiles_h;
    const float *image = x + (size_t)n * h * w * c;
    const int iy0 = 4 * ty - pad_top;
    for (int tx = 0; tx < tiles_w; tx++) {
      const int ix0 = 4 * tx - pad_left;
      const int inside = iy0 >= 0 && iy0 + 6 <= h && ix0 >= 0 && ix0 + 6 <= w;
      float *vt = v + ((size_t)row * tiles_w + tx) * c;
      int j = 0;
      const vlanes all = vlanes_first(VW);
      if (inside) {
        for (; j + VW <= c; j += VW) input_tile(image, h, w, c, iy0, ix0, j, VW, all, 1, vt, stride);
      } else {
        for (; j + VW <= c; j += VW) input_tile(image, h, w, c, iy0, ix0, j, VW, all, 0, vt, stride);
      }
      if (j < c) input_tile(image, h, w, c, iy0, ix0, j, c - j, vlanes_first(c - j), 0, vt, stride);
    }
  }
}

// One output tile at (oy0, ox0), channels [j, j + lanes), with the bias/activation/mask epilogue.
static inline void output_tile(const float *mt, size_t stride, int j, int lanes, vlanes lm, const float *bias,
                               int act, float *image, uint8_t *mask_image, int oh, int ow, int c, int oy0, int ox0) {
  vf rows[4][6];  // Aᵀ applied down each column
  for (int k = 0; k < 6; k++) {
    vf e[6], o[4];
    for (int i = 0; i < 6; i++) e[i] = vload_part(mt + (size_t)(6 * i + k) * stride + j, lanes, lm);
    at4(e, o);
    for (int i = 0; i < 4; i++) rows[i][k] = o[i];
  }
  const vf b = bias ? vload_part(bias + j, lanes, lm) : vzero();
  for (int i = 0; i < 4 && oy0 + i < oh; i++) {
    vf o[4];
    at4(rows[i], o);
    for (int k = 0; k < 4 && ox0 + k < ow; k++) {
      const size_t at = ((size_t)(oy0 + i) * ow + ox0 + k) * c + j;
      const vf pre = ADD(o[k], b);
      if (mask_image) {
        if (lanes == VW) vstore_mask(mask_image + at, pre, act);
        else vstore_mask_part(mask_image + at, pre, act, lanes);
      }
      vstore_part(image + at, vactivate(pre, act), lanes, lm);
    }
  }
}

void VP_FN(vp_winograd_f43_output)(const float *mt, size_t stride, int c, int tiles_h, int tiles_w, int row0, int row1,
                            const float *bias, int act, float *y, int oh, int ow, uint8_t *mask) {
  const vlanes all = vlanes_first(VW);
  for (int row = row0; row < row1; row++) {
    const int n = row / tiles_h, ty = row % tiles_h;
    float *image = y + (size_t)n * oh * ow * c;
    uint8_t *mask_image = mask ? mask + (size_t)n * oh * ow * c : NULL;
    for (int tx = 0; tx < tiles_w; tx++) {
      const float *t = mt + ((size_t)row * tiles_w + tx) * c;
      int j = 0;
      for (; j + VW <= c; j += VW)
        output_tile(t, stride, j, VW, all, bias, act, image, mask_image, oh, ow, c, 4 * ty, 4 * tx);
      if (j < c)
        output_tile(t, stride, j, c - j, vlanes_first(c - j), bias, act, image, mask_image, oh, ow, c, 4 * ty, 4 * tx);
    }
  }
}

// One output-gradient tile at (oy0, ox0) (zeros beyond the output), transformed by A · ∂Y · Aᵀ.
static inline void output_adjoint_tile(const float *image, int oh, int ow, int c, int oy0, int ox0, int j, int lanes,
                                       vlanes m, float *v, size_t stride) {
  vf cols[6][4];  // A applied down each of the 4 columns
  for (int k = 0; k < 4; k++) {
    vf g[4] = {vzero(), vzero(), vzero(), vzero()};
    if (ox0 + k < ow) {
      for (int i = 0; i < 4 && oy0 + i < oh; i++) g[i] = vload_part(image + ((size_t)(oy0 + i) * ow + ox0 + k) * c + j, lanes, m);
    }
    vf s[6];
    a6(g, s);
    for (int i = 0; i < 6; i++) cols[i][k] = s[i];
  }
  for (int i = 0; i < 6; i++) {
    vf s[6];
    a6(cols[i], s);
    for (int k = 0; k < 6; k++) vstore_part(v + (size_t)(6 * i + k) * stride + j, s[k], lanes, m);
  }
}

void VP_FN(vp_winograd_f43_output_adjoint)(const float *gy, int oh, int ow, int c, int tiles_h, int tiles_w, int row0,
                                    int row1, float *v, size_t stride) {
  const vlanes all = vlanes_first(VW);
  for (int row = row0; row < row1; row++) {
    const int n = row / tiles_h, ty = row % tiles_h;
    const float *image = gy + (size_t)n * oh * ow * c;
    for (int tx = 0; tx < tiles_w; tx++) {
      float *vt = v + ((size_t)row * tiles_w + tx) * c;
      int j = 0;
      for (; j + VW <= c; j += VW) output_adjoint_tile(image, oh, ow, c, 4 * ty, 4 * tx, j, VW, all, vt, stride);
      if (j < c) output_adjoint_tile(image, oh, ow, c, 4 * ty, 4 * tx, j, c - j, vlanes_first(c - j), vt, stride);
    }
  }
}

// One input-gradient tile at (iy0, ix0): B · Z · Bᵀ added to the pixels inside the image.
static inline void input_adjoint_tile(const float *zt, size_t stride, int j, int lanes, vlanes m, float *image, int h,
                                      int w, int c, int iy0, int ix0, int inside) {
  vf cols[6][6];
  for (int k = 0; k < 6; k++) {
    vf z[6], r[6];
    for (int i = 0; i < 6; i++) z[i] = vload_part(zt + (size_t)(6 * i + k) * stride + j, lanes, m);
    b6(z, r);
    for (int i = 0; i < 6; i++) cols[i][k] = r[i];
  }
  for (int i = 0; i < 6; i++) {
    const int iy = iy0 + i;
    if (!inside && (iy < 0 || iy >= h)) continue;
    vf r[6];
    b6(cols[i], r);
    for (int k = 0; k < 6; k++) {
      const int ix = ix0 + k;
      if (!inside && (ix < 0 || ix >= w)) continue;
      float *p = image + ((size_t)iy * w + ix) * c + j;
      vstore_part(p, ADD(vload_part(p, lanes, m), r[k]), lanes, m);
    }
  }
}

void VP_FN(vp_winograd_f43_input_adjoint)(const float *z, size_t stride, int c, int tiles_h, int tiles_w, int row0, int row1,
                                   int parity, float *gx, int h, int w, int pad_top, int pad_left) {
  const vlanes all = vlanes_first(VW);
  for (int row = row0; row < row1; row++) {
    const int n = row / tiles_h, ty = row % tiles_h;
    if ((ty & 1) != parity) continue;
    float *image = gx + (size_t)n * h * w * c;
    const int iy0 = 4 * ty - pad_top;
    for (int tx = 0; tx < tiles_w; tx++) {
      const int ix0 = 4 * tx - pad_left;
      const int inside = iy0 >= 0 && iy0 + 6 <= h && ix0 >= 0 && ix0 + 6 <= w;
      const float *zt = z + ((size_t)row * tiles_w + tx) * c;
      int j = 0;
      if (inside) {
        for (; j + VW <= c; j += VW) input_adjoint_tile(zt, stride, j, VW, all, image, h, w, c, iy0, ix0, 1);
      } else {
        for (; j + VW <= c; j += VW) input_adjoint_tile(zt, stride, j, VW, all, image, h, w, c, iy0, ix0, 0);
      }
      if (j < c) input_adjoint_tile(zt, stride, j, c - j, vlanes_first(c - j), image, h, w, c, iy0, ix0, 0);
    }
  }
}
