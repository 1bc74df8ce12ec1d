// Observers see the right shapes and values; the whole-model integer path agrees with the fake-quant path.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "quant/scheme.h"
#include "src/engine/engine.h"
#include "tests/engine/tiny_models.h"

namespace qh::engine {
namespace {

using enginetest::random_model;
using enginetest::random_tokens;
using enginetest::tiny_spec;

struct Recorder : Observer {
  std::vector<std::pair<int, int64_t>> residuals;  // (layer, T*d)
  int attention_calls = 0, value_calls = 0, sink_calls = 0, error_calls = 0;
  double max_row_sum_error = 0, max_above_diag = 0, max_sink_total_error = 0;
  std::map<int, int64_t> site_k;  // site -> K
  std::vector<float> last_probs;
  ArchSpec spec;
  void on_residual(int layer, const float*, int64_t T, int64_t d) override { residuals.push_back({layer, T * d}); }
  void on_attention(int, int h, const float* p, int64_t T) override {
    ++attention_calls;
    last_probs.assign(p, p + T * T);
    for (int64_t i = 0; i < T; ++i) {
      double s = 0;
      for (int64_t j = 0; j < T; ++j) {
        if (j > i) max_above_diag = std::max(max_above_diag, double(std::fabs(p[i * T + j])));
        s += p[i * T + j];
      }
      if (spec.attn.kind == AttnKind::kSoftmax) max_row_sum_error = std::max(max_row_sum_error, std::fabs(s - 1));
      if (spec.attn.kind == AttnKind::kSink) row_sums.push_back(s);
    }
  }
  void on_virtual_sink(int, int, const float* m, int64_t T) override {
    ++sink_calls;
    for (int64_t i = 0; i < T; ++i) {
      const double total = row_sums[row_sums.size() - T + i] + m[i];
      max_sink_total_error = std::max(max_sink_total_error, std::fabs(total - 1));
    }
  }
  void on_values(int, int, const float*, int64_t T, int64_t hd) override {
    ++value_calls;
    EXPECT_EQ(hd, spec.head_dim);
    EXPECT_GT(T, 0);
  }
  void on_site_input(int, Site s, const float*, int64_t, int64_t K) override { site_k[static_cast<int>(s)] = K; }
  void on_site_error(int, Site, const quant::ErrorStats& e) override {
    ++error_calls;
    EXPECT_GT(e.signal, 0);
    EXPECT_GT(e.noise, 0);
  }
  bool wants_attention() const override { return true; }
  bool wants_values() const override { return true; }
  bool wants_site_inputs() const override { return true; }
  bool wants_site_errors() const override { return true; }
  std::vector<double> row_sums;
};

TEST(Observer, SeesEveryHookWithTheRightShapes) {
  ArchSpec a = tiny_spec();
  a.num_kv_heads = 2;
  a.context = 160;  // a window of two causal query blocks: the probabilities seen are whole causal rows
  const Model m = random_model(a, 3);
  const int64_t T = 150;
  const auto tok = random_tokens(T, a.vocab_size, 4);
  std::vector<float> logits(T * a.vocab_size);
  Recorder r;
  r.spec = a;
  Engine fp(m, parse_scheme("FP32"));
  fp.forward(tok.data(), T, logits.data(), &r);
  ASSERT_EQ(r.residuals.size(), 3u);
  EXPECT_EQ(r.residuals[0].first, -1);
  EXPECT_EQ(r.residuals[2].first, 1);
  EXPECT_EQ(r.residuals[1].second, T * a.d_model);
  EXPECT_EQ(r.attention_calls, a.num_layers * a.num_heads);
  EXPECT_EQ(r.value_calls, a.num_layers * a.num_heads);
  EXPECT_LT(r.max_row_sum_error, 1e-5);
  EXPECT_EQ(r.max_above_diag, 0.0);
  ASSERT_EQ(r.site_k.size(), 7u);
  EXPECT_EQ(r.site_k[static_cast<int>(Site::kO)], a.num_heads * a.head_dim);
  EXPECT_EQ(r.site_k[static_cast<int>(Site::kDown)], a.d_ff);
  EXPECT_EQ(r.error_calls, 0);  // fp: nothing is quantized
  // Row 0 attends only to itself.
  EXPECT_FLOAT_EQ(r.last_probs[0], 1.0f);

  Recorder q;
  q.spec = a;
  Engine w8(m, parse_scheme("W8A8"));
  w8.forward(tok.data(), T, logits.data(), &q);
  EXPECT_EQ(q.error_calls, a.num_layers * kNumSites);
}

TEST(Observer, SinkVariantReportsTheVirtualSinkMass) {
  ArchSpec a = tiny_spec();
  a.attn.kind = AttnKind::kSink;
  const Model m = random_model(a, 5);
  const int64_t T = 9;
  const auto tok = random_tokens(T, a.vocab_size, 6);
  std::vector<float> logits(T * a.vocab_size);
  Recorder r;
  r.spec = a;
  Engine fp(m, parse_scheme("FP32"));
  fp.forward(tok.data(), T, logits.data(), &r);
  EXPECT_EQ(r.sink_calls, a.num_layers * a.num_heads);
  EXPECT_LT(r.max_sink_total_error, 1e-5);  // keys + virtual sink = 1 for every query
}

TEST(Engine, WholeModelIntegerPathMatchesFakeQuant) {
  ArchSpec a = tiny_spec();
  a.d_model = 64;
  a.head_dim = 16;
  a.d_ff = 128;
  const Model m = random_model(a, 8);
  const int64_t T = 20;
  const auto tok = random_tokens(T, a.vocab_size, 9);
  std::vector<float> yfp(T * a.vocab_size);
  Engine(m, parse_scheme("FP32")).forward(tok.data(), T, yfp.data());
  // Static activation scales come from a calibration pass on other tokens.
  CalibrationObserver calib_obs(a.num_layers);
  const auto calib_tok = random_tokens(T, a.vocab_size, 10);
  std::vector<float> scratch(T * a.vocab_size);
  Engine(m, parse_scheme("FP32")).forward(calib_tok.data(), T, scratch.data(), &calib_obs);
  for (const char* name : {"W8A8", "W4A8", "W4A4", "W8A8-asym", "W4A4-asym", "W8A8-static", "W8A8-static-asym",
                           "W4A4-kv4", "base=W8A8-static,kv_bits=8,kv_granularity=per_tensor",
                           "base=W4A4,kv_bits=4,kv_granularity=per_tensor,kv_symmetric=false"}) {
    const Scheme s = parse_scheme(name);
    Engine integer(m, s, {}, calib_obs.result());
    EngineOptions fake_opt;
    fake_opt.force_fake_quant = true;
    Engine fake(m, s, {}, calib_obs.result(), fake_opt);
    EXPECT_EQ(integer.site_path(Site::kQ), "integer") << name;
    EXPECT_EQ(fake.site_path(Site::kQ), "fake") << name;
    std::vector<float> yi(T * a.vocab_size), yf(T * a.vocab_size);
    integer.forward(tok.data(), T, yi.data());
    fake.forward(tok.data(), T, yf.data());
    // The fake path runs the integer path's math in the same order (an f32 GEMM on the integer codes, exact
    // at these sizes, then (acc * s_w) * s_x + b), so every activation code downstream is the same and the
    // logits agree to f32 rounding of the epilogue and of the f32 parts (attention, norms, lm_head).
    const double paths = enginetest::rel_error(yi, yf), quant_effect = enginetest::rel_error(yi, yfp);
    EXPECT_LE(paths, 1e-5) << name;
    EXPECT_GT(quant_effect, 1e-3) << name << ": the scheme must change the logits for the check to mean anything";
    EXPECT_FALSE(integer.int8_impl().empty());
  }
}

// Values of layer 0 (whose inputs no quantization has touched yet) as each query head sees them.
struct ValueRecorder : Observer {
  void on_values(int layer, int head, const float* v, int64_t T, int64_t hd) override {
    if (layer == 0) values[head].assign(v, v + T * hd);
  }
  bool wants_values() const override { return true; }
  std::map<int, std::vector<float>> values;
};

TEST(Engine, StaticKvScalesComeFromTheCalibratedRangePerHead) {
  ArchSpec a = tiny_spec();
  a.num_kv_heads = 2;
  const Model m = random_model(a, 12);
  const int64_t T = 16;
  const auto calib_tok = random_tokens(T, a.vocab_size, 13), tok = random_tokens(T, a.vocab_size, 14);
  std::vector<float> logits(T * a.vocab_size);
  Engine fp(m, parse_scheme("FP32"));
  CalibrationObserver cal(a.num_layers);
  fp.forward(calib_tok.data(), T, logits.data(), &cal);
  const Scheme s = parse_scheme("base=FP32,kv_bits=8,kv_granularity=per_tensor");
  EXPECT_THROW(Engine(m, s), InputError);  // static KV scales need calibration data
  Engine q(m, s, {}, cal.result());
  ValueRecorder vfp, vq;
  fp.forward(tok.data(), T, logits.data(), &vfp);
  q.forward(tok.data(), T, logits.data(), &vq);
  const int64_t G = a.num_heads / a.num_kv_heads;
  for (int64_t kvh = 0; kvh < a.num_kv_heads; ++kvh) {
    // By hand: s = max(|min|, |max|) of this head's calibrated V range / 127; v -> clamp(round(v / s)) * s.
    const KvCalibration& c = cal.result().kv[0];
    const float scale = std::max(std::fabs(c.v_min[kvh]), std::fabs(c.v_max[kvh])) / 127.0f;
    ASSERT_GT(scale, 0.0f);
    const std::vector<float>& want_in = vfp.values.at(static_cast<int>(kvh * G));
    const std::vector<float>& got = vq.values.at(static_cast<int>(kvh * G));
    ASSERT_EQ(got.size(), want_in.size());
    int clamped = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const float code = std::min(127.0f, std::max(-128.0f, std::nearbyint(want_in[i] / scale)));
      clamped += code != std::nearbyint(want_in[i] / scale);
      EXPECT_NEAR(got[i], code * scale, 1e-6f * scale) << "head " << kvh << " i=" << i;
    }
    // Other tokens than the calibration ones: some values may exceed the calibrated range and clamp, but
    // most must not (else the scale would not be the calibrated one).
    EXPECT_LT(clamped, static_cast<int>(got.size()) / 10);
  }
}

// Attention probabilities of layer 0 (inputs untouched by quantization) per head.
struct ProbRecorder : Observer {
  void on_attention(int layer, int head, const float* p, int64_t T) override {
    if (layer == 0) probs[head].assign(p, p + T * T);
  }
  bool wants_attention() const override { return true; }
  std::map<int, std::vector<float>> probs;
};

TEST(Engine, AttentionProbabilitiesAreQuantizedPerQueryRow) {
  const Model m = random_model(tiny_spec(), 15);
  const int64_t T = 12, V = m.spec.vocab_size;
  const auto tok = random_tokens(T, V, 16);
  std::vector<float> logits(T * V);
  ProbRecorder pfp, pq, pprot;
  Engine(m, parse_scheme("FP32")).forward(tok.data(), T, logits.data(), &pfp);
  const Scheme s = parse_scheme("base=FP32,p_bits=4");
  Engine q(m, s);
  q.forward(tok.data(), T, logits.data(), &pq);
  Protection prot;
  prot.tokens = true;
  Engine qp(m, s, prot);
  std::vector<uint8_t> rows(T, 0);
  rows[5] = 1;
  qp.forward(tok.data(), T, logits.data(), &pprot, rows.data());
  for (const auto& [head, fp] : pfp.probs) {
    for (int64_t i = 0; i < T; ++i) {
      // By hand: probabilities are quantized asymmetrically by default, per query row over the range
      // [0, max_j p_ij] in 15 steps: s = max / 15, zero point 0, p -> round(p / s) * s.
      float pmax = 0;
      for (int64_t j = 0; j <= i; ++j) pmax = std::max(pmax, fp[i * T + j]);
      const float scale = pmax / 15.0f, inv = 1.0f / scale;
      for (int64_t j = 0; j < T; ++j) {
        const float want = j <= i ? std::nearbyint(fp[i * T + j] * inv) * scale : 0.0f;
        EXPECT_NEAR(pq.probs.at(head)[i * T + j], want, 1e-6f) << "head " << head << " row " << i << " key " << j;
      }
    }
    // A protected token's row keeps full-precision probabilities.
    for (int64_t j = 0; j <= 5; ++j) EXPECT_NEAR(pprot.probs.at(head)[5 * T + j], fp[5 * T + j], 1e-6f);
  }
}

TEST(Engine, TokenProtectionLeavesProtectedTokensClose) {
  // With every row protected, the quantized model equals the fp model exactly except for the lm_head
  // rounding: all sites run in full precision.
  const Model m = random_model(tiny_spec(), 10);
  const int64_t T = 10;
  const auto tok = random_tokens(T, 40, 11);
  Protection p;
  p.tokens = true;
  Engine q(m, parse_scheme("W4A4-kv4"), p);
  Engine fp(m, parse_scheme("FP32"));
  std::vector<uint8_t> all(T, 1);
  std::vector<float> yq(T * 40), yfp(T * 40);
  q.forward(tok.data(), T, yq.data(), nullptr, all.data());
  fp.forward(tok.data(), T, yfp.data());
  EXPECT_LE(enginetest::rel_error(yq, yfp), 1e-6);
  std::vector<uint8_t> first(T, 0);
  first[0] = 1;
  q.forward(tok.data(), T, yq.data(), nullptr, first.data());
  for (int v = 0; v < 40; ++v) EXPECT_NEAR(yq[v], yfp[v], 1e-5 * (1 + std::fabs(yfp[v])));  // causal: row 0 is fp
  EXPECT_GT(enginetest::rel_error(yq, yfp), 1e-3);
}

// The sink-token rule (ARCHITECTURE.md 1.6): token norms per observed layer, token t > 0 marked when its norm exceeds
// tau times the window's median at any layer; token 0 always. Norms are double sums (to float precision), for
// window lengths 1..17.
TEST(ResidualNormObserver, MarksTokensAboveTauTimesTheMedianAtAnyLayer) {
  for (int64_t T : {1, 2, 7, 8, 9, 17}) {
    const int64_t d = 11;  // one block of eight partial sums and a tail
    std::vector<float> layer0(T * d), layer1(T * d);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < d; ++i) {
        layer0[t * d + i] = 0.5f + 0.01f * static_cast<float>(t + i);
        layer1[t * d + i] = 0.5f - 0.01f * static_cast<float>(t + i);
      }
    // token T-1 is large after layer 0, token 1 after layer 1 (norm 100 against a median below 1)
    if (T > 2) layer0[(T - 1) * d] = 100.0f;
    if (T > 2) layer1[1 * d + 2] = -100.0f;
    ResidualNormObserver obs;
    obs.on_residual(-1, layer0.data(), T, d);
    obs.on_residual(0, layer1.data(), T, d);
    for (int l = 0; l < 2; ++l) {
      const std::vector<float>& h = l == 0 ? layer0 : layer1;
      for (int64_t t = 0; t < T; ++t) {
        double s = 0;
        for (int64_t i = 0; i < d; ++i) s += double(h[t * d + i]) * h[t * d + i];
        EXPECT_NEAR(obs.norms()[l][t], std::sqrt(s), 1e-6 * std::sqrt(s)) << "T=" << T << " layer " << l << " token " << t;
      }
    }
    const std::vector<uint8_t> mask = obs.sink_tokens(10.0f);
    ASSERT_EQ(static_cast<int64_t>(mask.size()), T);
    for (int64_t t = 0; t < T; ++t) {
      const bool want = t == 0 || (T > 2 && (t == T - 1 || t == 1));
      EXPECT_EQ(mask[t], want ? 1 : 0) << "T=" << T << " token " << t;
    }
    // tau above the ratio: only token 0
    const std::vector<uint8_t> none = obs.sink_tokens(1e6f);
    for (int64_t t = 1; t < T; ++t) EXPECT_EQ(none[t], 0) << "T=" << T << " token " << t;
  }
}

}  // namespace
}  // namespace qh::engine
