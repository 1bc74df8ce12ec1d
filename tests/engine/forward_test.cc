// fp32 forward of the engine against the naive forward of tiny_models.h, for every architecture flavour and
// attention variant.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "src/core/error.h"
#include "quant/scheme.h"
#include "src/engine/engine.h"
#include "tests/engine/tiny_models.h"

namespace qh {
namespace {

using enginetest::max_rel_error;
using enginetest::naive_forward;
using enginetest::random_model;
using enginetest::random_tokens;
using enginetest::tiny_spec;

struct Flavour {
  std::string name;
  std::function<void(ArchSpec&)> apply;
};
void PrintTo(const Flavour& f, std::ostream* os) { *os << f.name; }  // not the struct's raw bytes

class ForwardTest : public ::testing::TestWithParam<Flavour> {};

TEST_P(ForwardTest, MatchesNaiveForward) {
  ArchSpec a = tiny_spec();
  GetParam().apply(a);
  // Windows longer than one causal query block of the attention (128 rows), with a partial last block.
  a.context = 300;
  const Model m = random_model(a, 1234);
  engine::Engine eng(m, parse_scheme("FP32"));
  for (int64_t T : {1, 7, 32, 128, 129, 300}) {
    const auto tok = random_tokens(T, a.vocab_size, static_cast<uint32_t>(T));
    std::vector<float> logits(T * a.vocab_size);
    eng.forward(tok.data(), T, logits.data());
    const auto want = naive_forward(m, tok);
    EXPECT_LE(max_rel_error(logits, want), 1e-4) << GetParam().name << " T=" << T;
  }
}

const Flavour kFlavours[] = {
    {"llama", [](ArchSpec&) {}},
    {"llama_gqa_tied", [](ArchSpec& a) { a.num_kv_heads = 2; a.tied_embeddings = true; a.rope_theta = 500.0f; }},
    {"llama_gqa_1kv", [](ArchSpec& a) { a.num_kv_heads = 1; }},
    {"gpt2", [](ArchSpec& a) {
       a.norm = NormKind::kLayerNorm; a.norm_bias = true; a.positions = PosKind::kLearned;
       a.mlp = MlpKind::kGelu; a.qkv_bias = a.o_bias = a.mlp_bias = true; }},
    {"qwen2", [](ArchSpec& a) { a.qkv_bias = true; a.num_kv_heads = 2; }},
    {"bb_reference", [](ArchSpec& a) {
       a.norm = NormKind::kLayerNorm; a.positions = PosKind::kLearned; a.mlp = MlpKind::kRelu; a.num_heads = 1;
       a.num_kv_heads = 1; a.head_dim = 32; }},
    {"gelu_exact_nopos", [](ArchSpec& a) { a.mlp = MlpKind::kGeluExact; a.positions = PosKind::kNone; }},
    {"relu_attention", [](ArchSpec& a) { a.attn.kind = AttnKind::kRelu; }},
    {"sink_attention", [](ArchSpec& a) { a.attn.kind = AttnKind::kSink; a.num_kv_heads = 2; }},
    {"gated_elementwise", [](ArchSpec& a) { a.attn.kind = AttnKind::kGated; }},
    {"gated_per_head", [](ArchSpec& a) { a.attn.kind = AttnKind::kGated; a.attn.gate = GateKind::kPerHead; }},
    {"clipped", [](ArchSpec& a) { a.attn.kind = AttnKind::kClipped; a.attn.clip_zeta = 1.03f; a.attn.clip_gamma = -0.03f; }},
};

INSTANTIATE_TEST_SUITE_P(AllFlavours, ForwardTest, ::testing::ValuesIn(kFlavours),
                         [](const ::testing::TestParamInfo<Flavour>& i) { return i.param.name; });

TEST(Forward, RejectsWindowLongerThanContextAndBadIds) {
  const Model m = random_model(tiny_spec(), 1);
  engine::Engine eng(m, parse_scheme("FP32"));
  std::vector<int32_t> tok(33, 1);
  std::vector<float> logits(33 * 40);
  EXPECT_THROW(eng.forward(tok.data(), 33, logits.data()), InputError);
  tok[3] = 40;
  EXPECT_THROW(eng.forward(tok.data(), 10, logits.data()), InputError);
}

TEST(Forward, RejectsNonFiniteWeights) {
  Model m = random_model(tiny_spec(), 2);
  engine::check_finite_weights(m);
  m.layers[1].w_up.data[5] = std::nanf("");
  try {
    engine::check_finite_weights(m);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qh
