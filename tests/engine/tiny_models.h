// Tiny random models for the engine tests, and an independent naive forward pass written with plain loops
// (double accumulation) straight from the formulas of ARCHITECTURE.md 1.3 — it shares no code with the engine.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "models/model.h"

namespace qh::enginetest {

inline Tensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng, float scale, float offset = 0.0f) {
  Tensor t(std::move(shape));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : t.data) v = offset + scale * u(rng);
  return t;
}

inline ArchSpec tiny_spec() {
  ArchSpec a;
  a.architecture = "QHarnessForCausalLM";
  a.num_layers = 2;
  a.d_model = 32;
  a.num_heads = 4;
  a.num_kv_heads = 4;
  a.head_dim = 8;
  a.d_ff = 64;
  a.vocab_size = 40;
  a.context = 32;
  a.norm = NormKind::kRMSNorm;
  a.positions = PosKind::kRope;
  a.mlp = MlpKind::kSwiGLU;
  a.bos_token_id = 39;
  return a;
}

inline Model random_model(const ArchSpec& a, uint32_t seed) {
  std::mt19937 rng(seed);
  Model m;
  m.spec = a;
  const int64_t d = a.d_model, H = a.num_heads, KV = a.num_kv_heads, hd = a.head_dim, ff = a.d_ff;
  const float ws = 1.0f / std::sqrt(static_cast<float>(d));
  m.tok_emb = random_tensor({a.vocab_size, d}, rng, 1.0f);
  if (a.positions == PosKind::kLearned) m.pos_emb = random_tensor({a.context, d}, rng, 0.5f);
  for (int l = 0; l < a.num_layers; ++l) {
    LayerWeights w;
    w.attn_norm_w = random_tensor({d}, rng, 0.2f, 1.0f);
    w.mlp_norm_w = random_tensor({d}, rng, 0.2f, 1.0f);
    if (a.norm_bias) {
      w.attn_norm_b = random_tensor({d}, rng, 0.1f);
      w.mlp_norm_b = random_tensor({d}, rng, 0.1f);
    }
    w.wq = random_tensor({H * hd, d}, rng, 2 * ws);
    w.wk = random_tensor({KV * hd, d}, rng, 2 * ws);
    w.wv = random_tensor({KV * hd, d}, rng, ws);
    if (a.qkv_bias) {
      w.bq = random_tensor({H * hd}, rng, 0.1f);
      w.bk = random_tensor({KV * hd}, rng, 0.1f);
      w.bv = random_tensor({KV * hd}, rng, 0.1f);
    }
    w.wo = random_tensor({d, H * hd}, rng, ws);
    if (a.o_bias) w.bo = random_tensor({d}, rng, 0.1f);
    if (a.attn.kind == AttnKind::kSink) w.sink = random_tensor({H}, rng, 1.0f);
    if (a.attn.kind == AttnKind::kGated)
      w.wg = random_tensor({a.attn.gate == GateKind::kPerHead ? H : H * hd, d}, rng, ws);
    if (is_glu(a.mlp)) w.w_gate = random_tensor({ff, d}, rng, ws);
    w.w_up = random_tensor({ff, d}, rng, ws);
    w.w_down = random_tensor({d, ff}, rng, 1.0f / std::sqrt(static_cast<float>(ff)));
    if (a.mlp_bias) {
      w.b_up = random_tensor({ff}, rng, 0.1f);
      w.b_down = random_tensor({d}, rng, 0.1f);
    }
    m.layers.push_back(std::move(w));
  }
  m.final_norm_w = random_tensor({d}, rng, 0.2f, 1.0f);
  if (a.norm_bias) m.final_norm_b = random_tensor({d}, rng, 0.1f);
  m.lm_head = a.tied_embeddings ? m.tok_emb : random_tensor({a.vocab_size, d}, rng, ws);
  return m;
}

// ---- naive reference forward --------------------------------------------------------------------------
using Mat = std::vector<std::vector<double>>;  // [rows][cols]

// Max |got - want| over all logits (got [T * V] row-major), relative to the largest |want| logit.
inline double max_rel_error(const std::vector<float>& got, const Mat& want) {
  double err = 0, scale = 0;
  const size_t V = want[0].size();
  for (size_t t = 0; t < want.size(); ++t)
    for (size_t v = 0; v < V; ++v) {
      err = std::max(err, std::fabs(got[t * V + v] - want[t][v]));
      scale = std::max(scale, std::fabs(want[t][v]));
    }
  return err / scale;
}

inline Mat naive_linear(const Mat& x, const Tensor& w, const Tensor& b) {
  const int64_t N = w.dim(0), K = w.dim(1);
  Mat y(x.size(), std::vector<double>(N, 0.0));
  for (size_t t = 0; t < x.size(); ++t)
    for (int64_t n = 0; n < N; ++n) {
      double s = b.empty() ? 0.0 : b.data[n];
      for (int64_t k = 0; k < K; ++k) s += x[t][k] * w.data[n * K + k];
      y[t][n] = s;
    }
  return y;
}

inline Mat naive_norm(const ArchSpec& a, const Mat& x, const Tensor& w, const Tensor& b) {
  Mat y = x;
  for (size_t t = 0; t < x.size(); ++t) {
    const size_t d = x[t].size();
    double mean = 0, var = 0;
    if (a.norm == NormKind::kLayerNorm) {
      for (double v : x[t]) mean += v;
      mean /= d;
    }
    for (double v : x[t]) var += (v - mean) * (v - mean);
    var /= d;
    for (size_t i = 0; i < d; ++i)
      y[t][i] = (x[t][i] - mean) / std::sqrt(var + a.norm_eps) * w.data[i] + (b.empty() ? 0.0 : b.data[i]);
  }
  return y;
}

inline void naive_rope(const ArchSpec& a, Mat& x, int64_t heads) {
  const int64_t hd = a.head_dim, half = hd / 2;
  for (size_t t = 0; t < x.size(); ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const double ang = static_cast<double>(t) * std::pow(static_cast<double>(a.rope_theta), -2.0 * i / hd);
        const double x1 = x[t][h * hd + i], x2 = x[t][h * hd + i + half];
        x[t][h * hd + i] = x1 * std::cos(ang) - x2 * std::sin(ang);
        x[t][h * hd + i + half] = x2 * std::cos(ang) + x1 * std::sin(ang);
      }
}

inline double naive_act(MlpKind k, double v) {
  switch (k) {
    case MlpKind::kRelu: return v > 0 ? v : 0;
    case MlpKind::kGelu: return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    case MlpKind::kGeluExact: return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    case MlpKind::kSwiGLU: return v / (1 + std::exp(-v));  // silu (of the gate)
    case MlpKind::kGeGLU: return naive_act(MlpKind::kGelu, v);  // gelu_tanh (of the gate)
  }
  return v;
}

// logits [T][V].
inline Mat naive_forward(const Model& m, const std::vector<int32_t>& tok) {
  const ArchSpec& a = m.spec;
  const int64_t T = static_cast<int64_t>(tok.size()), d = a.d_model, H = a.num_heads, KV = a.num_kv_heads,
                hd = a.head_dim;
  Mat h(T, std::vector<double>(d));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < d; ++i)
      h[t][i] = m.tok_emb.data[tok[t] * d + i] + (a.positions == PosKind::kLearned ? m.pos_emb.data[t * d + i] : 0);
  for (const LayerWeights& w : m.layers) {
    Mat xn = naive_norm(a, h, w.attn_norm_w, w.attn_norm_b);
    Mat q = naive_linear(xn, w.wq, w.bq), k = naive_linear(xn, w.wk, w.bk), v = naive_linear(xn, w.wv, w.bv);
    if (a.positions == PosKind::kRope) {
      naive_rope(a, q, H);
      naive_rope(a, k, KV);
    }
    Mat att(T, std::vector<double>(H * hd, 0.0));
    for (int64_t hh = 0; hh < H; ++hh) {
      const int64_t kvh = hh / (H / KV);
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> l(i + 1), p(i + 1);
        double mx = -1e300;
        for (int64_t j = 0; j <= i; ++j) {
          double s = 0;
          for (int64_t c = 0; c < hd; ++c) s += q[i][hh * hd + c] * k[j][kvh * hd + c];
          l[j] = s / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, l[j]);
        }
        double den = 0;
        for (int64_t j = 0; j <= i; ++j) den += std::exp(l[j] - mx);
        for (int64_t j = 0; j <= i; ++j) {
          switch (a.attn.kind) {
            case AttnKind::kRelu: p[j] = std::max(0.0, l[j]) / (i + 1); break;
            case AttnKind::kSink: {
              // p_j = exp(l_j) / (exp(s_h) + sum_k exp(l_k))
              double full = std::exp(static_cast<double>(w.sink.data[hh]) - mx) + den;
              p[j] = std::exp(l[j] - mx) / full;
              break;
            }
            case AttnKind::kClipped: {
              const double sm = std::exp(l[j] - mx) / den;
              p[j] = std::min(1.0, std::max(0.0, (a.attn.clip_zeta - a.attn.clip_gamma) * sm + a.attn.clip_gamma));
              break;
            }
            default: p[j] = std::exp(l[j] - mx) / den;
          }
        }
        for (int64_t c = 0; c < hd; ++c) {
          double s = 0;
          for (int64_t j = 0; j <= i; ++j) s += p[j] * v[j][kvh * hd + c];
          att[i][hh * hd + c] = s;
        }
      }
    }
    if (a.attn.kind == AttnKind::kGated) {
      Mat g = naive_linear(xn, w.wg, Tensor());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < H * hd; ++c) {
          const double gl = a.attn.gate == GateKind::kPerHead ? g[t][c / hd] : g[t][c];
          att[t][c] *= 1.0 / (1.0 + std::exp(-gl));
        }
    }
    Mat o = naive_linear(att, w.wo, w.bo);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < d; ++i) h[t][i] += o[t][i];
    xn = naive_norm(a, h, w.mlp_norm_w, w.mlp_norm_b);
    Mat up = naive_linear(xn, w.w_up, w.b_up);
    if (is_glu(a.mlp)) {
      Mat gate = naive_linear(xn, w.w_gate, Tensor());
      for (int64_t t = 0; t < T; ++t)
        for (size_t i = 0; i < up[t].size(); ++i) up[t][i] *= naive_act(a.mlp, gate[t][i]);
    } else {
      for (auto& r : up)
        for (double& x : r) x = naive_act(a.mlp, x);
    }
    Mat dn = naive_linear(up, w.w_down, w.b_down);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < d; ++i) h[t][i] += dn[t][i];
  }
  Mat xn = naive_norm(a, h, m.final_norm_w, m.final_norm_b);
  return naive_linear(xn, m.lm_head, Tensor());
}

inline std::vector<int32_t> random_tokens(int64_t T, int64_t V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(T);
  for (auto& x : t) x = static_cast<int32_t>(rng() % V);
  return t;
}

// ||a - b|| / ||b|| over all entries.
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1.0));
}

}  // namespace qh::enginetest
