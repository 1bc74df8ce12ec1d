// Every Hugging Face architecture the loader maps (Llama with GPT-OSS sinks, Mistral's sliding window, Qwen3
// with and without Qwen3-Next's output gate, OLMo-2, Gemma, Gemma-2, Phi-3, GPT-NeoX with and without the
// parallel residual), checked on a tiny random checkpoint in that architecture's exact HF layout:
//   - logits of the engine's fp forward against PyTorch's (tests/engine/hf_arch/make_fixtures.py) and against
//     naive_hf_forward below, a double-precision forward that reads the HF tensors by name (so it checks the
//     loader's mapping too), both to 1e-4 relative;
//   - the virtual sink mass and gate statistics the engine reports against PyTorch's;
//   - W8A8 and W4A4 with every site quantized, protections on: all sites on a quantized path, logits finite
//     and near fp, and the integer path against the fake-quant cross-check.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "quant/scheme.h"
#include "src/engine/engine.h"
#include "tests/engine/hf_fixture.h"
#include "tests/engine/tiny_models.h"

namespace qh {
namespace {

using hftest::Fixture;
using nlohmann::json;
using enginetest::Mat;  // [T][n]
using Values = std::map<std::string, std::vector<double>>;

// ---- the naive double-precision forward, by HF tensor names -------------------------------------------------

Mat linear(const Mat& x, const std::vector<double>& w, const std::vector<double>* b = nullptr) {
  const size_t K = x[0].size(), N = w.size() / K;
  Mat y(x.size(), std::vector<double>(N, 0.0));
  for (size_t t = 0; t < x.size(); ++t)
    for (size_t n = 0; n < N; ++n) {
      double s = b ? (*b)[n] : 0.0;
      for (size_t k = 0; k < K; ++k) s += x[t][k] * w[n * K + k];
      y[t][n] = s;
    }
  return y;
}

// RMSNorm of each group of `group` entries, times w (indexed within the group) + offset.
Mat rms(Mat x, const std::vector<double>& w, double eps, size_t group, double offset = 0.0) {
  for (auto& r : x)
    for (size_t g0 = 0; g0 < r.size(); g0 += group) {
      double ss = 0;
      for (size_t i = 0; i < group; ++i) ss += r[g0 + i] * r[g0 + i];
      const double inv = 1.0 / std::sqrt(ss / group + eps);
      for (size_t i = 0; i < group; ++i) r[g0 + i] = r[g0 + i] * inv * (w[i] + offset);
    }
  return x;
}

Mat layer_norm(Mat x, const std::vector<double>& w, const std::vector<double>& b, double eps) {
  for (auto& r : x) {
    double mean = 0, var = 0;
    for (double v : r) mean += v;
    mean /= r.size();
    for (double v : r) var += (v - mean) * (v - mean);
    var /= r.size();
    for (size_t i = 0; i < r.size(); ++i) r[i] = (r[i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
  }
  return x;
}

// Rotate-half RoPE on the first `rot` dims of each head of x [T][heads*hd].
void rope(Mat& x, size_t hd, size_t rot, double theta) {
  for (size_t t = 0; t < x.size(); ++t)
    for (size_t h0 = 0; h0 < x[t].size(); h0 += hd)
      for (size_t i = 0; i < rot / 2; ++i) {
        const double a = t * std::pow(theta, -2.0 * i / rot), c = std::cos(a), s = std::sin(a);
        const double x1 = x[t][h0 + i], x2 = x[t][h0 + i + rot / 2];
        x[t][h0 + i] = x1 * c - x2 * s;
        x[t][h0 + i + rot / 2] = x2 * c + x1 * s;
      }
}

struct AttnOpts {
  double scale = 0, softcap = 0;
  size_t window = 0;  // 0: full causal
  const std::vector<double>* sinks = nullptr;
};

Mat attention(const Mat& q, const Mat& k, const Mat& v, size_t H, size_t KV, size_t hd, const AttnOpts& o) {
  const size_t T = q.size();
  Mat out(T, std::vector<double>(H * hd, 0.0));
  for (size_t h = 0; h < H; ++h) {
    const size_t kh = h / (H / KV);
    for (size_t i = 0; i < T; ++i) {
      std::vector<double> s;
      std::vector<size_t> keys;
      for (size_t j = 0; j <= i; ++j) {
        if (o.window && i - j >= o.window) continue;
        double dot = 0;
        for (size_t c = 0; c < hd; ++c) dot += q[i][h * hd + c] * k[j][kh * hd + c];
        dot *= o.scale;
        if (o.softcap > 0) dot = o.softcap * std::tanh(dot / o.softcap);
        s.push_back(dot);
        keys.push_back(j);
      }
      double m = *std::max_element(s.begin(), s.end());
      if (o.sinks) m = std::max(m, (*o.sinks)[h]);
      double z = o.sinks ? std::exp((*o.sinks)[h] - m) : 0.0;
      for (double& x : s) z += (x = std::exp(x - m));
      for (size_t n = 0; n < keys.size(); ++n)
        for (size_t c = 0; c < hd; ++c) out[i][h * hd + c] += s[n] / z * v[keys[n]][kh * hd + c];
    }
  }
  return out;
}

double gelu_tanh(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
double gelu_erf(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double silu(double x) { return x / (1 + std::exp(-x)); }

Mat columns(const Mat& x, size_t from, size_t n) {
  Mat y(x.size());
  for (size_t t = 0; t < x.size(); ++t) y[t].assign(x[t].begin() + from, x[t].begin() + from + n);
  return y;
}

void add(Mat& a, const Mat& b) {
  for (size_t t = 0; t < a.size(); ++t)
    for (size_t i = 0; i < a[t].size(); ++i) a[t][i] += b[t][i];
}

Mat gpt_neox(const json& c, Values& W, const std::vector<int32_t>& tokens) {
  const size_t d = c["hidden_size"], H = c["num_attention_heads"], L = c["num_hidden_layers"], hd = d / H;
  const double eps = c["layer_norm_eps"];
  const size_t rot = static_cast<size_t>(hd * c["rotary_pct"].get<double>());
  const double theta = c["rotary_emb_base"];
  Mat h;
  for (int32_t t : tokens) h.emplace_back(W["gpt_neox.embed_in.weight"].begin() + t * d,
                                          W["gpt_neox.embed_in.weight"].begin() + (t + 1) * d);
  for (size_t l = 0; l < L; ++l) {
    const std::string p = "gpt_neox.layers." + std::to_string(l) + ".";
    const Mat x = layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps);
    const Mat qkv = linear(x, W[p + "attention.query_key_value.weight"], &W[p + "attention.query_key_value.bias"]);
    Mat q(h.size(), std::vector<double>(d)), k = q, v = q;  // per head: [q | k | v] of hd each
    for (size_t t = 0; t < h.size(); ++t)
      for (size_t hh = 0; hh < H; ++hh)
        for (size_t i = 0; i < hd; ++i) {
          q[t][hh * hd + i] = qkv[t][hh * 3 * hd + i];
          k[t][hh * hd + i] = qkv[t][hh * 3 * hd + hd + i];
          v[t][hh * hd + i] = qkv[t][hh * 3 * hd + 2 * hd + i];
        }
    rope(q, hd, rot, theta);
    rope(k, hd, rot, theta);
    AttnOpts o;
    o.scale = 1 / std::sqrt(static_cast<double>(hd));
    const Mat a = linear(attention(q, k, v, H, H, hd, o), W[p + "attention.dense.weight"], &W[p + "attention.dense.bias"]);
    auto mlp = [&](const Mat& y) {
      Mat u = linear(y, W[p + "mlp.dense_h_to_4h.weight"], &W[p + "mlp.dense_h_to_4h.bias"]);
      for (auto& r : u)
        for (double& e : r) e = gelu_erf(e);
      return linear(u, W[p + "mlp.dense_4h_to_h.weight"], &W[p + "mlp.dense_4h_to_h.bias"]);
    };
    const auto& w2 = W[p + "post_attention_layernorm.weight"];
    const auto& b2 = W[p + "post_attention_layernorm.bias"];
    if (c["use_parallel_residual"].get<bool>()) {
      const Mat m = mlp(layer_norm(h, w2, b2, eps));
      add(h, a);
      add(h, m);
    } else {
      add(h, a);
      add(h, mlp(layer_norm(h, w2, b2, eps)));
    }
  }
  h = layer_norm(h, W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"], eps);
  return linear(h, W["embed_out.weight"]);
}

Mat llama_family(const json& c, Values& W, const std::vector<int32_t>& tokens) {
  const std::string arch = c["architectures"][0];
  const bool gemma = arch == "GemmaForCausalLM" || arch == "Gemma2ForCausalLM", gemma2 = arch == "Gemma2ForCausalLM";
  const bool olmo2 = arch == "Olmo2ForCausalLM", qwen3 = arch == "Qwen3ForCausalLM", phi3 = arch == "Phi3ForCausalLM";
  const size_t d = c["hidden_size"], H = c["num_attention_heads"], L = c["num_hidden_layers"];
  const size_t KV = c.value("num_key_value_heads", H), hd = c.value("head_dim", d / H), ff = c["intermediate_size"];
  const double eps = c["rms_norm_eps"], theta = c.value("rope_theta", 10000.0);
  const size_t rot = static_cast<size_t>(hd * c.value("partial_rotary_factor", 1.0));
  const bool gated = c.value("attn_output_gate", false);
  const double off = gemma ? 1.0 : 0.0;
  const auto& emb = W["model.embed_tokens.weight"];
  Mat h;
  for (int32_t t : tokens) {
    h.emplace_back(emb.begin() + t * d, emb.begin() + (t + 1) * d);
    if (gemma)
      for (double& x : h.back()) x *= static_cast<float>(std::sqrt(static_cast<double>(d)));
  }
  for (size_t l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const Mat x = olmo2 ? h : rms(h, W[p + "input_layernorm.weight"], eps, d, off);
    Mat q, k, v, gate;
    if (phi3) {
      const Mat qkv = linear(x, W[p + "self_attn.qkv_proj.weight"]);
      q = columns(qkv, 0, H * hd);
      k = columns(qkv, H * hd, KV * hd);
      v = columns(qkv, H * hd + KV * hd, KV * hd);
    } else {
      const Mat qg = linear(x, W[p + "self_attn.q_proj.weight"]);
      if (gated) {  // per head: [query | gate]
        q = gate = Mat(h.size(), std::vector<double>(H * hd));
        for (size_t t = 0; t < h.size(); ++t)
          for (size_t hh = 0; hh < H; ++hh)
            for (size_t i = 0; i < hd; ++i) {
              q[t][hh * hd + i] = qg[t][hh * 2 * hd + i];
              gate[t][hh * hd + i] = qg[t][hh * 2 * hd + hd + i];
            }
      } else {
        q = qg;
      }
      k = linear(x, W[p + "self_attn.k_proj.weight"]);
      v = linear(x, W[p + "self_attn.v_proj.weight"]);
    }
    if (qwen3) {
      q = rms(q, W[p + "self_attn.q_norm.weight"], eps, hd);
      k = rms(k, W[p + "self_attn.k_norm.weight"], eps, hd);
    } else if (olmo2) {
      q = rms(q, W[p + "self_attn.q_norm.weight"], eps, H * hd);
      k = rms(k, W[p + "self_attn.k_norm.weight"], eps, KV * hd);
    }
    rope(q, hd, rot, theta);
    rope(k, hd, rot, theta);
    AttnOpts o;
    o.scale = gemma2 ? 1 / std::sqrt(c["query_pre_attn_scalar"].get<double>()) : 1 / std::sqrt(static_cast<double>(hd));
    if (gemma2) o.softcap = c["attn_logit_softcapping"];
    if ((arch == "MistralForCausalLM" || phi3) && c.contains("sliding_window")) o.window = c["sliding_window"];
    if (gemma2 && l % 2 == 0) o.window = c["sliding_window"];
    if (W.count(p + "self_attn.sinks")) o.sinks = &W[p + "self_attn.sinks"];
    Mat a = attention(q, k, v, H, KV, hd, o);
    if (gated)
      for (size_t t = 0; t < a.size(); ++t)
        for (size_t i = 0; i < a[t].size(); ++i) a[t][i] *= 1 / (1 + std::exp(-gate[t][i]));
    a = linear(a, W[p + "self_attn.o_proj.weight"]);
    if (olmo2 || gemma2) a = rms(a, W[p + "post_attention_layernorm.weight"], eps, d, off);
    add(h, a);
    const std::string pre = gemma2 ? "pre_feedforward_layernorm" : "post_attention_layernorm";
    const Mat y = olmo2 ? h : rms(h, W[p + pre + ".weight"], eps, d, off);
    Mat g, u;
    if (phi3) {
      const Mat gu = linear(y, W[p + "mlp.gate_up_proj.weight"]);
      g = columns(gu, 0, ff);
      u = columns(gu, ff, ff);
    } else {
      g = linear(y, W[p + "mlp.gate_proj.weight"]);
      u = linear(y, W[p + "mlp.up_proj.weight"]);
    }
    for (size_t t = 0; t < g.size(); ++t)
      for (size_t i = 0; i < ff; ++i) g[t][i] = (gemma ? gelu_tanh(g[t][i]) : silu(g[t][i])) * u[t][i];
    Mat m = linear(g, W[p + "mlp.down_proj.weight"]);
    if (olmo2 || gemma2) m = rms(m, W[p + "post_feedforward_layernorm.weight"], eps, d, off);
    add(h, m);
  }
  h = rms(h, W["model.norm.weight"], eps, d, off);
  Mat logits = linear(h, W.count("lm_head.weight") ? W["lm_head.weight"] : emb);
  if (gemma2 && c.contains("final_logit_softcapping")) {
    const double cap = c["final_logit_softcapping"];
    for (auto& r : logits)
      for (double& x : r) x = cap * std::tanh(x / cap);
  }
  return logits;
}

Mat naive_hf_forward(const Fixture& f) {
  Values W = f.values();
  if (f.config["architectures"][0] == "GPTNeoXForCausalLM") return gpt_neox(f.config, W, f.tokens);
  return llama_family(f.config, W, f.tokens);
}

// ---- comparisons ----------------------------------------------------------------------------------------------

// Mean virtual sink mass over queries i >= 1 and mean gate per (layer, head), as the fixtures define them.
class MitigationObserver : public engine::Observer {
 public:
  explicit MitigationObserver(const ArchSpec& a)
      : sink(a.num_layers, std::vector<double>(a.num_heads, -1)), gate(sink) {}
  void on_virtual_sink(int l, int h, const float* mass, int64_t T) override {
    double s = 0;
    for (int64_t i = 1; i < T; ++i) s += mass[i];
    sink[l][h] = s / (T - 1);
  }
  void on_gate(int l, int h, const float* g, int64_t T, int64_t n, int64_t ld) override {
    double s = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < n; ++c) s += g[t * ld + c];
    gate[l][h] = s / (T * n);
  }
  bool wants_attention() const override { return true; }
  Mat sink, gate;
};

std::vector<float> run(const Model& m, const std::string& scheme, const std::vector<int32_t>& tokens,
                       engine::Observer* obs = nullptr, const std::string& protection = "none",
                       bool force_fake = false) {
  engine::EngineOptions opt;
  opt.force_fake_quant = force_fake;
  const engine::Protection p = engine::parse_protection(protection);
  engine::Calibration calib;
  if (engine::needs_calibration(parse_scheme(scheme), p)) {
    engine::Engine fp(m, parse_scheme("fp"));
    engine::CalibrationObserver co(m.spec.num_layers);
    std::vector<float> tmp(tokens.size() * m.spec.vocab_size);
    fp.forward(tokens.data(), static_cast<int64_t>(tokens.size()), tmp.data(), &co);
    calib = co.result();
  }
  engine::Engine e(m, parse_scheme(scheme), p, calib, opt);
  std::vector<float> logits(tokens.size() * m.spec.vocab_size);
  e.forward(tokens.data(), static_cast<int64_t>(tokens.size()), logits.data(), obs);
  if (scheme != "fp") {
    for (Site s : {Site::kQ, Site::kK, Site::kV, Site::kO, Site::kGate, Site::kUp, Site::kDown}) {
      if (s != Site::kGate || is_glu(m.spec.mlp)) {
        EXPECT_NE(e.site_path(s), "fp") << to_string(s);
      }
    }
  }
  return logits;
}

class HfArchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfArchTest, LogitsMatchPyTorchAndNaiveDouble) {
  const Fixture f = hftest::load_fixture(GetParam());
  hftest::ScratchDir dir;
  hftest::write_checkpoint(f, dir.path());
  const Model m = load_checkpoint(dir.path());
  EXPECT_EQ(m.spec.architecture, f.config["architectures"][0].get<std::string>());
  MitigationObserver obs(m.spec);
  const std::vector<float> logits = run(m, "fp", f.tokens, &obs);
  EXPECT_LT(enginetest::max_rel_error(logits, f.logits), 1e-4) << "against PyTorch";
  const Mat naive = naive_hf_forward(f);
  EXPECT_LT(enginetest::max_rel_error(logits, naive), 1e-4) << "against the naive double forward";
  // The two references agree with each other far below the tolerance (both are exact implementations).
  std::vector<float> naive_f;
  for (const auto& r : naive) naive_f.insert(naive_f.end(), r.begin(), r.end());
  EXPECT_LT(enginetest::max_rel_error(naive_f, f.logits), 1e-5);
  // Sink and gate statistics.
  EXPECT_EQ(m.spec.attn.kind == AttnKind::kSink, !f.sink_mass.empty());
  EXPECT_EQ(m.spec.attn.kind == AttnKind::kGated, !f.gate_mean.empty());
  for (size_t l = 0; l < f.sink_mass.size(); ++l)
    for (size_t h = 0; h < f.sink_mass[l].size(); ++h) EXPECT_NEAR(obs.sink[l][h], f.sink_mass[l][h], 1e-4);
  for (size_t l = 0; l < f.gate_mean.size(); ++l)
    for (size_t h = 0; h < f.gate_mean[l].size(); ++h) EXPECT_NEAR(obs.gate[l][h], f.gate_mean[l][h], 1e-4);
}

TEST_P(HfArchTest, EverySiteQuantizedWithProtections) {
  const Fixture f = hftest::load_fixture(GetParam());
  hftest::ScratchDir dir;
  hftest::write_checkpoint(f, dir.path());
  const Model m = load_checkpoint(dir.path());
  const std::vector<float> fp = run(m, "fp", f.tokens);
  Mat want(f.tokens.size());
  for (size_t t = 0; t < want.size(); ++t)
    want[t].assign(fp.begin() + t * m.spec.vocab_size, fp.begin() + (t + 1) * m.spec.vocab_size);
  for (const std::string prot : {"none", "both"}) {
    double err_bits[2] = {0, 0};  // W8A8, W4A4
    for (const std::string scheme : {"W8A8", "W4A4", "W8A8-static"}) {
      const std::vector<float> q = run(m, scheme, f.tokens, nullptr, prot);
      for (float x : q) ASSERT_TRUE(std::isfinite(x)) << scheme << " " << prot;
      const double err = enginetest::max_rel_error(q, want);
      EXPECT_GT(err, 0.0) << scheme << " " << prot << ": quantization changed nothing";
      if (scheme == "W8A8") err_bits[0] = err;
      if (scheme == "W4A4") err_bits[1] = err;
      // The integer path against its fake-quant cross-check (same math in f32).
      const std::vector<float> fake = run(m, scheme, f.tokens, nullptr, prot, /*force_fake=*/true);
      Mat qm(want.size());
      for (size_t t = 0; t < qm.size(); ++t)
        qm[t].assign(q.begin() + t * m.spec.vocab_size, q.begin() + (t + 1) * m.spec.vocab_size);
      EXPECT_LT(enginetest::max_rel_error(fake, qm), 1e-4) << scheme << " " << prot;
    }
    // 8 bits stay near fp (a 16-channel random model: a few percent of the largest logit); 4 bits are worse.
    EXPECT_LT(err_bits[0], 0.15) << prot;
    EXPECT_LT(err_bits[0], err_bits[1]) << prot;
  }
}

// The project's own format keeps everything an HF architecture adds (block structure, windows, soft-caps,
// embedding scale, sinks, gates): saved and reloaded, the model computes the same logits bit for bit.
TEST_P(HfArchTest, ProjectFormatRoundTripKeepsTheLogits) {
  const Fixture f = hftest::load_fixture(GetParam());
  hftest::ScratchDir dir, saved;
  hftest::write_checkpoint(f, dir.path());
  const Model m = load_checkpoint(dir.path());
  save_checkpoint(saved.path(), m);
  const Model back = load_checkpoint(saved.path());
  EXPECT_EQ(back.spec.architecture, "QHarnessForCausalLM");
  EXPECT_EQ(back.spec.attn.kind, m.spec.attn.kind);
  EXPECT_EQ(run(back, "fp", f.tokens), run(m, "fp", f.tokens));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfArchTest, ::testing::ValuesIn(hftest::fixture_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace qh
