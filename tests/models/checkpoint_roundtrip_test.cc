// Write -> read back for the project format (every dtype, every attention variant and MLP / norm /
// position kind) through save_checkpoint / load_checkpoint.
#include <gtest/gtest.h>

#include "ckpt_test_util.h"
#include "models/config.h"
#include "models/half.h"

namespace qh {
namespace {

using testing::TempDir;

TEST(CheckpointRoundTrip, ProjectFormatF32IsExact) {
  TempDir tmp;
  ArchSpec s = testing::tiny_spec();
  s.recipe_json = R"({"task":"bb","seed":7})";
  const Model m = testing::random_model(s);
  save_checkpoint(tmp.path(), m);
  const Model r = load_checkpoint(tmp.path());
  EXPECT_EQ(r.spec.architecture, "QHarnessForCausalLM");
  EXPECT_EQ(r.spec.num_layers, 2);
  EXPECT_EQ(r.spec.d_model, 8);
  EXPECT_EQ(r.spec.head_dim, 4);
  EXPECT_EQ(r.spec.bos_token_id, 10);
  EXPECT_EQ(nlohmann::json::parse(r.spec.recipe_json)["seed"], 7);
  testing::expect_same_weights(m, r);
}

TEST(CheckpointRoundTrip, HalfDtypesRoundToNearestEven) {
  for (DType dt : {DType::kF16, DType::kBF16}) {
    TempDir tmp;
    const Model m = testing::random_model(testing::tiny_spec(), 3);
    save_checkpoint(tmp.path(), m, dt);
    const auto info = inspect_checkpoint(tmp.path());
    for (const StoredTensor& t : info.tensors) EXPECT_EQ(t.dtype, dt) << t.name;
    const Model& r = info.model;
    // Each value equals the narrowing of the original, widened back.
    for (size_t i = 0; i < m.tok_emb.size(); ++i) {
      const float x = m.tok_emb.data[i];
      const float want = dt == DType::kF16 ? f16_to_f32(f32_to_f16(x)) : bf16_to_f32(f32_to_bf16(x));
      ASSERT_EQ(r.tok_emb.data[i], want) << to_string(dt) << " element " << i;
    }
    testing::expect_same_weights(m, r, dt == DType::kF16 ? 2e-3f : 1.6e-2f);
  }
}

struct VariantCase {
  const char* label;
  void (*apply)(ArchSpec*);
  const char* extra_tensor;  // a tensor only this variant stores
};

TEST(CheckpointRoundTrip, EveryVariantAndKind) {
  const VariantCase cases[] = {
      {"softmax", [](ArchSpec*) {}, nullptr},
      {"relu", [](ArchSpec* s) { s->attn.kind = AttnKind::kRelu; }, nullptr},
      {"sink", [](ArchSpec* s) { s->attn.kind = AttnKind::kSink; }, "model.layers.1.self_attn.sinks"},
      {"gated elementwise", [](ArchSpec* s) { s->attn.kind = AttnKind::kGated; }, "model.layers.0.self_attn.g_proj.weight"},
      {"gated head",
       [](ArchSpec* s) {
         s->attn.kind = AttnKind::kGated;
         s->attn.gate = GateKind::kPerHead;
       },
       "model.layers.0.self_attn.g_proj.weight"},
      {"clipped",
       [](ArchSpec* s) {
         s->attn.kind = AttnKind::kClipped;
         s->attn.clip_zeta = 1.03f;
         s->attn.clip_gamma = -0.03f;
       },
       nullptr},
      {"layernorm+bias, learned, relu, biases",
       [](ArchSpec* s) {
         s->norm = NormKind::kLayerNorm;
         s->norm_bias = true;
         s->positions = PosKind::kLearned;
         s->mlp = MlpKind::kRelu;
         s->qkv_bias = s->o_bias = s->mlp_bias = true;
       },
       "model.embed_positions.weight"},
      {"gelu, no positions, tied",
       [](ArchSpec* s) {
         s->mlp = MlpKind::kGelu;
         s->positions = PosKind::kNone;
         s->tied_embeddings = true;
       },
       nullptr},
      {"gelu_exact, GQA", [](ArchSpec* s) {
         s->mlp = MlpKind::kGeluExact;
         s->num_kv_heads = 1;
       }, nullptr},
  };
  for (const VariantCase& c : cases) {
    SCOPED_TRACE(c.label);
    TempDir tmp;
    ArchSpec s = testing::tiny_spec();
    c.apply(&s);
    const Model m = testing::random_model(s, 5);
    save_checkpoint(tmp.path(), m);
    const CheckpointInfo info = inspect_checkpoint(tmp.path());
    const Model& r = info.model;
    EXPECT_EQ(r.spec.attn.kind, s.attn.kind);
    EXPECT_EQ(r.spec.attn.gate, s.attn.gate);
    EXPECT_EQ(r.spec.attn.clip_zeta, s.attn.clip_zeta);
    EXPECT_EQ(r.spec.attn.clip_gamma, s.attn.clip_gamma);
    EXPECT_EQ(r.spec.norm, s.norm);
    EXPECT_EQ(r.spec.norm_bias, s.norm_bias);
    EXPECT_EQ(r.spec.positions, s.positions);
    EXPECT_EQ(r.spec.mlp, s.mlp);
    EXPECT_EQ(r.spec.qkv_bias, s.qkv_bias);
    EXPECT_EQ(r.spec.mlp_bias, s.mlp_bias);
    EXPECT_EQ(r.spec.num_kv_heads, s.num_kv_heads);
    EXPECT_EQ(r.spec.tied_embeddings, s.tied_embeddings);
    testing::expect_same_weights(m, r);
    if (c.extra_tensor) {
      bool found = false;
      for (const auto& t : info.tensors) found = found || t.name == c.extra_tensor;
      EXPECT_TRUE(found) << c.extra_tensor;
    }
    bool has_head = false;
    for (const auto& t : info.tensors) has_head = has_head || t.name == "lm_head.weight";
    EXPECT_EQ(has_head, !s.tied_embeddings);
    if (s.tied_embeddings) {
      EXPECT_EQ(r.lm_head.data, r.tok_emb.data);
    }
    if (s.attn.kind == AttnKind::kGated) {
      EXPECT_EQ(r.layers[0].wg.dim(0), s.attn.gate == GateKind::kPerHead ? 2 : 8);
    }
  }
}

TEST(CheckpointRoundTrip, ParameterCount) {
  ArchSpec s = testing::tiny_spec();
  // embed 11*8 + per layer (2 norms 16 + q,k,v,o 4*64 + gate,up,down 3*128) + final norm 8 + head 88
  const int64_t per_layer = 16 + 4 * 64 + 3 * 128;
  EXPECT_EQ(num_params(testing::random_model(s)), 88 + 2 * per_layer + 8 + 88);
  s.tied_embeddings = true;
  EXPECT_EQ(num_params(testing::random_model(s)), 88 + 2 * per_layer + 8);
}

TEST(CheckpointRoundTrip, SaveOverwritesAndConfigIsReadable) {
  TempDir tmp;
  save_checkpoint(tmp.path(), testing::random_model(testing::tiny_spec(), 1));
  const Model second = testing::random_model(testing::tiny_spec(), 2);
  save_checkpoint(tmp.path(), second);
  testing::expect_same_weights(second, load_checkpoint(tmp.path()));
  const auto cfg = nlohmann::json::parse(testing::read_text(tmp.file("config.json")));
  EXPECT_EQ(cfg["architectures"][0], "QHarnessForCausalLM");
  EXPECT_EQ(cfg["norm_eps"].dump(), "1e-05");
  EXPECT_EQ(cfg["qharness"]["format_version"], 1);
}

TEST(CheckpointRoundTrip, SaveRejectsWrongShapes) {
  TempDir tmp;
  Model m = testing::random_model(testing::tiny_spec());
  m.layers[1].wq = Tensor({3, 8});
  const std::string msg = testing::error_of([&] { save_checkpoint(tmp.path(), m); });
  EXPECT_NE(msg.find("model.layers.1.self_attn.q_proj.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 8]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace qh
