// Row-wise operations of the forward pass (normalisation, rotary positions, MLP activations), parallelised over
// rows with OpenMP (for_rows.h); accumulation in double where a sum over the row decides the result. The hot
// ones run Highway kernels: norms and RoPE (row_kernels.h), SwiGLU (exp_rows.h).
#pragma once

#include <cstdint>
#include <vector>

#include "models/arch.h"

namespace qh::engine {

// out[T, d] = norm(x) * w (+ b). LayerNorm: (x - mean) / sqrt(var + eps); RMSNorm: x / sqrt(mean(x^2) + eps).
void norm_rows(NormKind kind, const float* x, int64_t T, int64_t d, const float* w, const float* b, float eps,
               float* out);

// RMSNorm in place of groups of `group` consecutive entries: for each row t of x (stride ld), the first n
// entries split into n / group groups, each normalised and multiplied by w[group] (q / k norms: per head with
// group = head_dim, or over the whole projection with group = n).
void rms_norm_groups(float* x, int64_t T, int64_t ld, int64_t n, int64_t group, const float* w, float eps);

// x -> cap * tanh(x / cap) in place on n entries (Gemma-2's soft-capping).
void softcap(float* x, int64_t n, float cap);

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
// with stride ld -> out [heads][T][hd]. The first r = table.head_dim entries of each head rotate (r = hd, or
// fewer with partial rotary: GPT-NeoX's rotary_pct, partial_rotary_factor), the rest pass through; for
// i < r/2, angle = pos * theta^(-2i/r): (x_i, x_{i+r/2}) -> (x_i c - x_{i+r/2} s, x_{i+r/2} c + x_i s).
// The table must cover T positions.
void rope_to_heads(const float* x, int64_t ld, int64_t heads, int64_t T, int64_t hd, const RopeTable& table,
                   float* out);

// MLP activation in place on x[T, n] (row stride ld): relu, gelu (tanh approximation), gelu_exact (erf).
void activate_rows(MlpKind kind, float* x, int64_t T, int64_t n, int64_t ld);
// SwiGLU: out[T, n] = silu(gate) * up, gate / up rows with stride ld.
void swiglu_rows(const float* gate, const float* up, int64_t T, int64_t n, int64_t ld, float* out);
// GeGLU: out[T, n] = gelu_tanh(gate) * up (Gemma's gelu_pytorch_tanh), gate / up rows with stride ld.
void geglu_rows(const float* gate, const float* up, int64_t T, int64_t n, int64_t ld, float* out);

inline float sigmoidf(float x) { return 1.0f / (1.0f + __builtin_expf(-x)); }

}  // namespace qh::engine
