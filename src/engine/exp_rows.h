// Row kernels built on a vector exp (Highway's contrib Exp, dynamic dispatch over the compiled targets): the
// attention softmax and the SwiGLU activation, the two places where the forward pass spends its time outside
// the GEMMs once the linears are integer. Dispatched once per block of rows (the *_rows forms); each has a scalar reference (double accumulation, std::exp) that
// the tests compare with the SIMD version on every compiled target.
#pragma once

#include <cstdint>
#include <limits>

namespace qh::engine {

inline constexpr float kNoExtraLogit = -std::numeric_limits<float>::infinity();

// In place over s[0, n): s[j] <- exp(s[j] - m) / Z with m = max(extra, max_j s[j]) and
// Z = exp(extra - m) + sum_j exp(s[j] - m). `extra` is a logit that takes part in the normalisation without
// an output slot (the sink variant's learnable sink; kNoExtraLogit for plain softmax). Returns the mass on
// it, exp(extra - m) / Z. -inf entries (masks) get probability 0; a row whose logits are all -inf (and no
// extra) becomes all zeros and returns 0. Inputs must not be +inf or NaN.
float softmax_row(float* s, int64_t n, float extra = kNoExtraLogit);
float softmax_row_reference(float* s, int64_t n, float extra = kNoExtraLogit);

// out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i < n (out may alias neither).
void swiglu_row(const float* gate, const float* up, int64_t n, float* out);
void swiglu_row_reference(const float* gate, const float* up, int64_t n, float* out);

// Block forms, dispatched once per block of rows and computing each row exactly as the row functions do.
// Causal attention rows i in [i0, i1) of one head: row i (at s + (i - i0) * ld) has its keys 0..i, so n = i + 1;
// masses[i - i0] receives the extra logit's mass (masses may be nullptr).
void softmax_causal_rows(float* s, int64_t ld, int64_t i0, int64_t i1, float extra, float* masses);
// rows x n: row r of gate / up at r * ld_in, of out at r * ld_out.
void swiglu_rows_block(const float* gate, const float* up, int64_t rows, int64_t n, int64_t ld_in, float* out,
                       int64_t ld_out);

}  // namespace qh::engine
