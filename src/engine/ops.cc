#include "src/engine/ops.h"

#include <cmath>
#include <vector>

namespace qh::engine {

void norm_rows(NormKind kind, const float* x, int64_t T, int64_t d, const float* w, const float* b, float eps,
               float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const float* r = x + t * d;
    float* o = out + t * d;
    double mean = 0;
    if (kind == NormKind::kLayerNorm) {
      for (int64_t i = 0; i < d; ++i) mean += r[i];
      mean /= static_cast<double>(d);
    }
    double var = 0;
    for (int64_t i = 0; i < d; ++i) {
      const double c = r[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    for (int64_t i = 0; i < d; ++i) o[i] = (r[i] - m) * inv * w[i] + (b ? b[i] : 0.0f);
  }
}

void rope_heads(float* x, int64_t heads, int64_t T, int64_t hd, float theta) {
  const int64_t half = hd / 2;
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(hd));
  std::vector<float> cs(T * half), sn(T * half);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(t) * inv_freq[i];
      cs[t * half + i] = static_cast<float>(std::cos(a));
      sn[t * half + i] = static_cast<float>(std::sin(a));
    }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < heads * T; ++r) {
    const int64_t t = r % T;
    float* v = x + r * hd;
    for (int64_t i = 0; i < half; ++i) {
      const float c = cs[t * half + i], s = sn[t * half + i];
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = b * c + a * s;
    }
  }
}

void activate_rows(MlpKind kind, float* x, int64_t T, int64_t n, int64_t ld) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    float* r = x + t * ld;
    switch (kind) {
      case MlpKind::kRelu:
        for (int64_t i = 0; i < n; ++i) r[i] = r[i] > 0.0f ? r[i] : 0.0f;
        break;
      case MlpKind::kGelu:
        for (int64_t i = 0; i < n; ++i) {
          const float v = r[i];
          r[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
        }
        break;
      case MlpKind::kGeluExact:
        for (int64_t i = 0; i < n; ++i) r[i] = 0.5f * r[i] * (1.0f + std::erf(r[i] * 0.70710678118654752f));
        break;
      case MlpKind::kSwiGLU:
        break;  // handled by swiglu_rows
    }
  }
}

void swiglu_rows(const float* gate, const float* up, int64_t T, int64_t n, int64_t ld, float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const float* g = gate + t * ld;
    const float* u = up + t * ld;
    float* o = out + t * n;
    for (int64_t i = 0; i < n; ++i) o[i] = g[i] * sigmoidf(g[i]) * u[i];
  }
}

}  // namespace qh::engine
