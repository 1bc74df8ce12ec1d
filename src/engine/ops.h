// Row-wise operations of the forward pass (normalisation, rotary positions, MLP activations). Plain loops
// parallelised over rows with OpenMP; accumulation in double where a sum over the row decides the result.
#pragma once

#include <cstdint>

#include "models/arch.h"

namespace qh::engine {

// out[T, d] = norm(x) * w (+ b). LayerNorm: (x - mean) / sqrt(var + eps); RMSNorm: x / sqrt(mean(x^2) + eps).
void norm_rows(NormKind kind, const float* x, int64_t T, int64_t d, const float* w, const float* b, float eps,
               float* out);

// Rotary embedding, rotate-half convention (HF Llama), in place on x laid out [heads][T][hd]:
// for i < hd/2, angle = pos * theta^(-2i/hd): (x_i, x_{i+hd/2}) -> (x_i c - x_{i+h} s, x_{i+h} c + x_i s).
void rope_heads(float* x, int64_t heads, int64_t T, int64_t hd, float theta);

// MLP activation in place on x[T, n] (row stride ld): relu, gelu (tanh approximation), gelu_exact (erf).
void activate_rows(MlpKind kind, float* x, int64_t T, int64_t n, int64_t ld);
// SwiGLU: out[T, n] = silu(gate) * up, gate / up rows with stride ld.
void swiglu_rows(const float* gate, const float* up, int64_t T, int64_t n, int64_t ld, float* out);

inline float sigmoidf(float x) { return 1.0f / (1.0f + __builtin_expf(-x)); }

}  // namespace qh::engine
