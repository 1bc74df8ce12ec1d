// Row-wise operations of the forward pass (normalisation, rotary positions, MLP activations). Plain loops
// parallelised over rows with OpenMP; accumulation in double where a sum over the row decides the result.
#pragma once

#include <cstdint>
#include <vector>

#include "models/arch.h"

namespace qh::engine {

// out[T, d] = norm(x) * w (+ b). LayerNorm: (x - mean) / sqrt(var + eps); RMSNorm: x / sqrt(mean(x^2) + eps).
void norm_rows(NormKind kind, const float* x, int64_t T, int64_t d, const float* w, const float* b, float eps,
               float* out);

// Rotary tables: cos / sin of pos * theta^(-2i/hd) for positions 0..T-1 and i < hd/2, row t at t * hd/2.
// Built once and reused by every layer and window (ensure() rebuilds only for a longer window or other
// parameters): the sincos calls would otherwise cost as much as the rotation itself.
struct RopeTable {
  void ensure(int64_t T, int64_t hd, float theta);
  int64_t positions = 0, head_dim = 0;
  float theta = 0.0f;
  std::vector<float> cos, sin;
};

// Rotary embedding, rotate-half convention (HF Llama), fused with the split into heads: x [T, heads*hd] rows
// with stride ld -> out [heads][T][hd], for i < hd/2, angle = pos * theta^(-2i/hd):
// (x_i, x_{i+hd/2}) -> (x_i c - x_{i+h} s, x_{i+h} c + x_i s). The table must cover T positions of size hd.
void rope_to_heads(const float* x, int64_t ld, int64_t heads, int64_t T, int64_t hd, const RopeTable& table,
                   float* out);

// MLP activation in place on x[T, n] (row stride ld): relu, gelu (tanh approximation), gelu_exact (erf).
void activate_rows(MlpKind kind, float* x, int64_t T, int64_t n, int64_t ld);
// SwiGLU: out[T, n] = silu(gate) * up, gate / up rows with stride ld.
void swiglu_rows(const float* gate, const float* up, int64_t T, int64_t n, int64_t ld, float* out);

inline float sigmoidf(float x) { return 1.0f / (1.0f + __builtin_expf(-x)); }

}  // namespace qh::engine
