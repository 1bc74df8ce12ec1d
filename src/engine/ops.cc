#include "src/engine/ops.h"

#include <cmath>
#include <vector>

#include "src/core/error.h"
#include "src/engine/exp_rows.h"
#include "src/engine/for_rows.h"
#include "src/engine/row_kernels.h"

namespace qh::engine {

void norm_rows(NormKind kind, const float* x, int64_t T, int64_t d, const float* w, const float* b, float eps,
               float* out) {
  for_row_blocks(T, d, [&](int64_t r0, int64_t r1) {
    norm_rows_block(kind, x + r0 * d, r1 - r0, d, d, w, b, eps, out + r0 * d, d);
  });
}

void rms_norm_groups(float* x, int64_t T, int64_t ld, int64_t n, int64_t group, const float* w, float eps) {
  QH_CHECK(group > 0 && n % group == 0);
  for_row_blocks(T, n, [&](int64_t r0, int64_t r1) {
    for (int64_t t = r0; t < r1; ++t)  // the row's groups as rows of `group` entries
      norm_rows_block(NormKind::kRMSNorm, x + t * ld, n / group, group, group, w, nullptr, eps, x + t * ld, group);
  });
}

void softcap(float* x, int64_t n, float cap) {
  const float inv = 1.0f / cap;
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] * inv);
}

void RopeTable::ensure(int64_t T, int64_t hd, float th) {
  if (T <= positions && hd == head_dim && th == theta) return;
  const int64_t half = hd / 2;
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = std::pow(static_cast<double>(th), -2.0 * static_cast<double>(i) / static_cast<double>(hd));
  cos.resize(T * half);
  sin.resize(T * half);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(t) * inv_freq[i];
      cos[t * half + i] = static_cast<float>(std::cos(a));
      sin[t * half + i] = static_cast<float>(std::sin(a));
    }
  positions = T;
  head_dim = hd;
  theta = th;
}

void rope_to_heads(const float* x, int64_t ld, int64_t heads, int64_t T, int64_t hd, const RopeTable& table,
                   float* out) {
  QH_CHECK(table.positions >= T && table.head_dim <= hd && table.head_dim % 2 == 0);
  const RopeRows rows{x, ld, heads, T, hd, table.head_dim, table.cos.data(), table.sin.data(), out};
  for_row_blocks(T, heads * hd, [&](int64_t t0, int64_t t1) { rope_rows_block(rows, t0, t1); });
}

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;
inline float gelu_tanh(float v) { return 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v))); }
}  // namespace

void activate_rows(MlpKind kind, float* x, int64_t T, int64_t n, int64_t ld) {
  for_rows(T, n, [&](int64_t t) {
    float* r = x + t * ld;
    switch (kind) {
      case MlpKind::kRelu:
        for (int64_t i = 0; i < n; ++i) r[i] = r[i] > 0.0f ? r[i] : 0.0f;
        break;
      case MlpKind::kGelu:
        for (int64_t i = 0; i < n; ++i) r[i] = gelu_tanh(r[i]);
        break;
      case MlpKind::kGeluExact:
        for (int64_t i = 0; i < n; ++i) r[i] = 0.5f * r[i] * (1.0f + std::erf(r[i] * 0.70710678118654752f));
        break;
      case MlpKind::kSwiGLU:
      case MlpKind::kGeGLU:
        break;  // gated: swiglu_rows / geglu_rows
    }
  });
}

void swiglu_rows(const float* gate, const float* up, int64_t T, int64_t n, int64_t ld, float* out) {
  for_row_blocks(T, n, [&](int64_t r0, int64_t r1) {
    swiglu_rows_block(gate + r0 * ld, up + r0 * ld, r1 - r0, n, ld, out + r0 * n, n);
  });
}

}  // namespace qh::engine

namespace qh::engine {

void geglu_rows(const float* gate, const float* up, int64_t T, int64_t n, int64_t ld, float* out) {
  for_rows(T, n, [&](int64_t t) {
    const float* g = gate + t * ld;
    const float* u = up + t * ld;
    float* o = out + t * n;
    for (int64_t i = 0; i < n; ++i) o[i] = gelu_tanh(g[i]) * u[i];
  });
}

}  // namespace qh::engine
