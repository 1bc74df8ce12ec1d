#include "src/engine/ops.h"

#include <cmath>
#include <vector>

#include "src/core/error.h"
#include "src/engine/exp_rows.h"
#include "src/engine/for_rows.h"

namespace qh::engine {

void norm_rows(NormKind kind, const float* x, int64_t T, int64_t d, const float* w, const float* b, float eps,
               float* out) {
  for_rows(T, d, [&](int64_t t) {
    const float* r = x + t * d;
    float* o = out + t * d;
    // The sums stay in double; `omp simd` lets them be vectorised (a reordering that changes nothing at
    // double precision for rows of a few thousand floats).
    double mean = 0;
    if (kind == NormKind::kLayerNorm) {
#pragma omp simd reduction(+ : mean)
      for (int64_t i = 0; i < d; ++i) mean += r[i];
      mean /= static_cast<double>(d);
    }
    double var = 0;
#pragma omp simd reduction(+ : var)
    for (int64_t i = 0; i < d; ++i) {
      const double c = r[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    if (b) {
      for (int64_t i = 0; i < d; ++i) o[i] = (r[i] - m) * inv * w[i] + b[i];
    } else {
      for (int64_t i = 0; i < d; ++i) o[i] = (r[i] - m) * inv * w[i];
    }
  });
}

void rms_norm_groups(float* x, int64_t T, int64_t ld, int64_t n, int64_t group, const float* w, float eps) {
  QH_CHECK(group > 0 && n % group == 0);
  for_rows(T, n, [&](int64_t t) {
    for (int64_t g0 = 0; g0 < n; g0 += group) {
      float* r = x + t * ld + g0;
      double ss = 0;
#pragma omp simd reduction(+ : ss)
      for (int64_t i = 0; i < group; ++i) ss += static_cast<double>(r[i]) * r[i];
      const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(group) + eps));
      for (int64_t i = 0; i < group; ++i) r[i] = r[i] * inv * w[i];
    }
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
  const int64_t half = table.head_dim / 2, rot = table.head_dim;
  const float* cs = table.cos.data();
  const float* sn = table.sin.data();
  for_rows(T, heads * hd, [&](int64_t t) {
    for (int64_t h = 0; h < heads; ++h) {
      const float* v = x + t * ld + h * hd;
      float* o = out + (h * T + t) * hd;
      for (int64_t i = 0; i < half; ++i) {
        const float c = cs[t * half + i], s = sn[t * half + i];
        const float a = v[i], b = v[i + half];
        o[i] = a * c - b * s;
        o[i + half] = b * c + a * s;
      }
      std::copy(v + rot, v + hd, o + rot);
    }
  });
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
