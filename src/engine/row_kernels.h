// Highway kernels of the forward pass's element-wise steps that need no exp: row normalisation (LayerNorm,
// RMSNorm, the q / k norms) and rotary positions. Without them these steps run as the compiler's baseline
// x86-64 code (two lanes of double, four of float); dispatched once per block of rows to the widest target.
//
// Each computes exactly the formula of its scalar reference beside it (ARCHITECTURE.md 2.4): the float
// arithmetic is the same operations in the same order (the file is compiled without FMA contraction), so RoPE
// is bit-identical to its reference and a normalised row differs at most by the reordering of its double sums.
#pragma once

#include <cstdint>

#include "models/arch.h"

namespace qh::engine {

// Rows r in [0, rows) of x (row r at x + r * ldx, d entries) into out (row r at out + r * ldo; out may be x):
// LayerNorm: mean and variance summed in double, out = (x - mean) * inv * w (+ b) in float with
// inv = float(1 / sqrt(var + eps)); RMSNorm the same with mean 0. b may be nullptr.
void norm_rows_block(NormKind kind, const float* x, int64_t rows, int64_t d, int64_t ldx, const float* w,
                     const float* b, float eps, float* out, int64_t ldo);
void norm_rows_block_reference(NormKind kind, const float* x, int64_t rows, int64_t d, int64_t ldx, const float* w,
                               const float* b, float eps, float* out, int64_t ldo);

// Rotary embedding (rotate-half) of positions t in [t0, t1), split into heads: x row t at x + t * ld holds
// `heads` heads of hd entries; head h of row t goes to out + (h * T + t) * hd. The first `rot` entries of each
// head rotate with cos / sin rows of rot / 2 entries at cos + t * rot / 2: (a, b) = (x_i, x_{i + rot/2}) ->
// (a c - b s, b c + a s); the rest are copied.
struct RopeRows {
  const float* x;
  int64_t ld, heads, T, hd, rot;
  const float* cos;
  const float* sin;
  float* out;
};
void rope_rows_block(const RopeRows& r, int64_t t0, int64_t t1);
void rope_rows_block_reference(const RopeRows& r, int64_t t0, int64_t t1);

}  // namespace qh::engine
