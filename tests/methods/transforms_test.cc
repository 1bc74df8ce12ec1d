// Every method's model transform keeps the full-precision function (logits to 1e-5 relative through the
// engine, online transforms included) across the architectures it folds, refuses by name what it cannot
// fold, and lowers the quantization error of a model with planted outlier channels (a no-op would not).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "src/core/error.h"
#include "src/engine/engine.h"
#include "src/methods/prepare.h"
#include "src/methods/transforms.h"
#include "tests/engine/tiny_models.h"

namespace qh::methods {
namespace {

using enginetest::random_model;
using enginetest::random_tokens;
using enginetest::rel_error;
using enginetest::tiny_spec;

std::vector<std::vector<int32_t>> calibration(const ArchSpec& a, int n, uint32_t seed) {
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < n; ++i) out.push_back(random_tokens(a.context, a.vocab_size, seed + i));
  return out;
}

std::vector<float> logits(const Model& m, const std::string& scheme, const engine::EngineOptions& o,
                          const std::vector<int32_t>& tok) {
  engine::Engine e(m, parse_scheme(scheme), {}, {}, o);
  std::vector<float> out(tok.size() * m.spec.vocab_size);
  e.forward(tok.data(), static_cast<int64_t>(tok.size()), out.data());
  return out;
}

struct Variant {
  const char* name;
  ArchSpec spec;
};

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"llama", tiny_spec()});
  ArchSpec a = tiny_spec();
  a.num_kv_heads = 2;
  a.qkv_bias = true;
  v.push_back({"gqa_qkv_bias", a});
  a = tiny_spec();
  a.norm = NormKind::kLayerNorm;
  a.positions = PosKind::kLearned;
  a.mlp = MlpKind::kRelu;
  a.o_bias = a.mlp_bias = true;
  v.push_back({"layernorm_learned_relu", a});
  a.mlp = MlpKind::kGeluExact;
  v.push_back({"layernorm_gelu", a});
  a = tiny_spec();
  a.attn.kind = AttnKind::kGated;
  v.push_back({"gated_elementwise", a});
  a.attn.gate = GateKind::kPerHead;
  v.push_back({"gated_per_head", a});
  a = tiny_spec();
  a.attn.kind = AttnKind::kSink;
  a.tied_embeddings = true;
  v.push_back({"sink_tied", a});
  a = tiny_spec();
  a.attn.kind = AttnKind::kRelu;
  v.push_back({"relu_attention", a});
  a = tiny_spec();  // the block variants the loader maps (NeoX, Gemma, Qwen3, Phi-3 features)
  a.parallel_residual = true;
  a.mlp = MlpKind::kGeGLU;
  a.rotary_dim = 4;
  a.embed_scale = 2.5f;
  a.final_softcap = 5.0f;
  a.qk_norm = QkNorm::kPerHead;
  v.push_back({"parallel_geglu_partial_rotary_qk_norm_softcap", a});
  a = tiny_spec();  // widths that are not powers of two: Kronecker blocks
  a.d_model = 48;
  a.num_heads = 4;
  a.num_kv_heads = 4;
  a.head_dim = 12;
  a.d_ff = 80;
  v.push_back({"odd_widths", a});
  return v;
}

TEST(Transforms, EveryMethodKeepsTheFullPrecisionFunction) {
  for (const Variant& v : variants()) {
    Model m = random_model(v.spec, 11);
    std::mt19937 norm_rng(3);
    if (v.spec.mlp == MlpKind::kGeGLU)  // tiny_models draws a gate for SwiGLU only
      for (LayerWeights& w : m.layers) w.w_gate = enginetest::random_tensor({v.spec.d_ff, v.spec.d_model}, norm_rng, 0.2f);
    if (v.spec.qk_norm == QkNorm::kPerHead)
      for (LayerWeights& w : m.layers) {
        w.q_norm_w = enginetest::random_tensor({v.spec.head_dim}, norm_rng, 0.2f, 1.0f);
        w.k_norm_w = enginetest::random_tensor({v.spec.head_dim}, norm_rng, 0.2f, 1.0f);
      }
    const auto tok = random_tokens(v.spec.context, v.spec.vocab_size, 5);
    const std::vector<float> want = logits(m, "FP32", {}, tok);
    for (const char* method : {"rotate", "rotate:seed=3", "rotate=random", "smoothquant:alpha=0.5",
                               "smoothquant:alpha=0.8", "gptq", "rotate+gptq"}) {
      const PreparedModel p = prepare(m, parse_method(method), calibration(v.spec, 2, 100));
      const std::vector<float> got = logits(p.model, "FP32", p.engine_options(), tok);
      EXPECT_LT(rel_error(got, want), 1e-5) << v.name << " " << method;
    }
  }
}

TEST(Transforms, NormFoldingTurnsLayerNormIntoRmsNormAndSetsWeightsToOne) {
  ArchSpec a = tiny_spec();
  a.norm = NormKind::kLayerNorm;
  Model m = random_model(a, 1);
  fold_norms(m);
  EXPECT_EQ(m.spec.norm, NormKind::kRMSNorm);
  for (float v : m.layers[0].attn_norm_w.data) EXPECT_EQ(v, 1.0f);
  for (float v : m.final_norm_w.data) EXPECT_EQ(v, 1.0f);
  // The embedding rows are centred.
  double mean = 0;
  for (int64_t i = 0; i < a.d_model; ++i) mean += m.tok_emb.row(3)[i];
  EXPECT_NEAR(mean, 0.0, 1e-5);
}

TEST(Transforms, RefusesByNameWhatItCannotFold) {
  ArchSpec a = tiny_spec();
  a.norm = NormKind::kLayerNorm;
  a.norm_bias = true;
  const Model m = random_model(a, 1);
  try {
    prepare(m, parse_method("rotate"), {});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("LayerNorm with a bias"), std::string::npos) << e.what();
  }
  EXPECT_THROW(prepare(random_model(tiny_spec(), 1), parse_method("gptq"), {}), InputError);  // no calibration
}

TEST(Transforms, RefusesPostNormsAndBlocksWithoutPreNorms) {
  ArchSpec a = tiny_spec();
  a.post_norm = true;
  Model m = random_model(a, 1);
  std::mt19937 norm_rng(5);
  for (LayerWeights& w : m.layers) {
    w.attn_out_norm_w = enginetest::random_tensor({a.d_model}, norm_rng, 0.1f, 1.0f);
    w.mlp_out_norm_w = enginetest::random_tensor({a.d_model}, norm_rng, 0.1f, 1.0f);
  }
  try {
    prepare(m, parse_method("rotate"), {});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("post-norms"), std::string::npos) << e.what();
  }
  a.post_norm = true;
  a.pre_norm = false;
  EXPECT_THROW(prepare(random_model(a, 1), parse_method("smoothquant"), calibration(a, 1, 5)), InputError);
}

TEST(Transforms, ElementwiseGateLeavesOutTheVoRotationAndSaysSo) {
  ArchSpec a = tiny_spec();
  a.attn.kind = AttnKind::kGated;
  const PreparedModel p = prepare(random_model(a, 1), parse_method("rotate"), {});
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("V/O"), std::string::npos);
}

// ---- planted outliers ------------------------------------------------------------------------------------

// A model whose residual stream carries a few huge channels that the readers weigh little (as massive
// activations are: embedding columns and the o projection's rows scaled up, the readers' columns scaled
// down), so per-token activation quantization spends its range on them and loses the channels that matter.
Model outlier_model(const ArchSpec& a, uint32_t seed) {
  Model m = random_model(a, seed);
  const int64_t d = a.d_model;
  auto scale_column = [d](Tensor& t, int c, float f) {
    for (int64_t i = 0; i < t.dim(0); ++i) t.data[i * d + c] *= f;
  };
  for (int c : {3, 17}) {
    for (int64_t v = 0; v < a.vocab_size; ++v) m.tok_emb.row(v)[c] *= 40.0f;
    for (LayerWeights& w : m.layers) {
      for (int64_t k = 0; k < w.wo.dim(1); ++k) w.wo.data[c * w.wo.dim(1) + k] *= 20.0f;
      for (Tensor* t : {&w.wq, &w.wk, &w.wv, &w.w_gate, &w.w_up}) scale_column(*t, c, 1.0f / 40.0f);
    }
    scale_column(m.lm_head, c, 1.0f / 40.0f);
  }
  return m;
}

double error_under(const Model& m, const PreparedModel& p, const std::string& scheme, uint32_t seed) {
  double e = 0;
  for (int i = 0; i < 4; ++i) {
    const auto tok = random_tokens(m.spec.context, m.spec.vocab_size, seed + i);
    e += rel_error(logits(p.model, scheme, p.engine_options(), tok), logits(m, "FP32", {}, tok));
  }
  return e;
}

TEST(Transforms, EachMethodLowersTheErrorOfAModelWithPlantedOutlierChannels) {
  const ArchSpec a = tiny_spec();
  const Model m = outlier_model(a, 21);
  const auto cal = calibration(a, 8, 300);
  const PreparedModel rtn = prepare(m, parse_method("rtn"), cal);
  struct Case {
    const char* method;
    const char* scheme;
  };
  // Rotation and smoothing address the activations: judged where activation error dominates (8-bit weights).
  for (const Case& c : {Case{"rotate", "base=W8A8,a_bits=4"}, Case{"rotate=random", "base=W8A8,a_bits=4"},
                        Case{"rotate", "W4A4"}, Case{"smoothquant", "W8A8"},
                        Case{"smoothquant", "W4A4"}, Case{"gptq", "W4A16"}, Case{"gptq:act_order=1", "W4A16"},
                        Case{"rotate+gptq", "W4A4"}}) {
    const PreparedModel p = prepare(m, parse_method(c.method), cal);
    const double base = error_under(m, rtn, c.scheme, 900), got = error_under(m, p, c.scheme, 900);
    EXPECT_LT(got, 0.8 * base) << c.method << " under " << c.scheme << ": " << got << " vs rtn " << base;
  }
}

TEST(Transforms, RotationLowersKvCacheErrorOfPlantedKeyOutliers) {
  // Keys with one huge channel per head: per-token KV4 loses the others unless K is rotated per head.
  const ArchSpec a = tiny_spec();
  Model m = random_model(a, 31);
  for (LayerWeights& w : m.layers)
    for (int64_t h = 0; h < a.num_kv_heads; ++h)
      for (int64_t k = 0; k < a.d_model; ++k) w.wk.data[(h * a.head_dim + 1) * a.d_model + k] *= 30.0f;
  const PreparedModel rtn = prepare(m, parse_method("rtn"), {});
  const PreparedModel rot = prepare(m, parse_method("rotate"), {});
  Scheme kv_only = parse_scheme("kv_bits=4");
  const auto kv_error = [&](const PreparedModel& p) {
    double e = 0;
    for (int i = 0; i < 4; ++i) {
      const auto tok = random_tokens(a.context, a.vocab_size, 70 + i);
      engine::Engine eng(p.model, kv_only, {}, {}, p.engine_options());
      std::vector<float> out(tok.size() * a.vocab_size);
      eng.forward(tok.data(), a.context, out.data());
      e += rel_error(out, logits(m, "FP32", {}, tok));
    }
    return e;
  };
  EXPECT_LT(kv_error(rot), 0.8 * kv_error(rtn));
}

}  // namespace
}  // namespace qh::methods
