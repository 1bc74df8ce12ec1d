// Every broken checkpoint of the corpus is rejected with an InputError that names the file, the tensor or
// field, and what was expected — on one line.
#include <gtest/gtest.h>

#include "bad_corpus.h"
#include "models/config.h"

namespace qh {
namespace {

using testing::TempDir;

TEST(BadCheckpoint, GoodCheckpointLoads) {
  TempDir tmp;
  testing::write_good_checkpoint(tmp.path());
  EXPECT_NO_THROW(load_checkpoint(tmp.path()));
}

TEST(BadCheckpoint, EveryCorpusCaseIsAOneLineInputError) {
  for (const testing::BadCase& c : testing::bad_checkpoint_corpus()) {
    SCOPED_TRACE(c.name);
    TempDir tmp;
    testing::write_good_checkpoint(tmp.path());
    c.corrupt(tmp.path());
    const std::string msg = testing::error_of([&] { load_checkpoint(tmp.path()); });
    ASSERT_FALSE(msg.empty()) << "no InputError";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind(tmp.path(), 0), 0u) << "message should start with the file: " << msg;
    for (const std::string& fragment : c.expect) EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

TEST(BadCheckpoint, NonFiniteWeightsAreAllowedOnRequest) {
  TempDir tmp;
  testing::write_good_checkpoint(tmp.path());
  std::string b = testing::read_text(tmp.file("model.safetensors"));
  for (int i = 1; i <= 4; ++i) b[b.size() - i] = static_cast<char>(0xFF);
  testing::write_text(tmp.file("model.safetensors"), b);
  LoadOptions options;
  options.allow_nonfinite = true;
  const Model m = load_checkpoint(tmp.path(), options);
  EXPECT_TRUE(std::isnan(m.lm_head.data.back()));  // lm_head.weight is the last tensor in the data section
}

TEST(BadCheckpoint, NotADirectory) {
  const std::string msg = testing::error_of([] { load_checkpoint("/nonexistent/qh/ckpt"); });
  EXPECT_NE(msg.find("/nonexistent/qh/ckpt: not a checkpoint directory"), std::string::npos) << msg;
}

TEST(BadCheckpoint, ShardIndexMustAgreeWithShards) {
  TempDir tmp;
  testing::write_good_checkpoint(tmp.path());
  // The index names a tensor the shard does not hold.
  testing::write_text(tmp.file("model.safetensors.index.json"),
                      nlohmann::json{{"weight_map", {{"model.ghost.weight", "model.safetensors"}}}}.dump());
  std::string msg = testing::error_of([&] { load_checkpoint(tmp.path()); });
  EXPECT_NE(msg.find("weight_map.model.ghost.weight: tensor not found in shard"), std::string::npos) << msg;
  // The same tensor in two shards.
  std::filesystem::copy_file(tmp.file("model.safetensors"), tmp.file("copy.safetensors"));
  testing::write_text(tmp.file("model.safetensors.index.json"),
                      nlohmann::json{{"weight_map", {{"model.norm.weight", "model.safetensors"},
                                                     {"lm_head.weight", "copy.safetensors"}}}}
                          .dump());
  msg = testing::error_of([&] { load_checkpoint(tmp.path()); });
  EXPECT_NE(msg.find("also stored in"), std::string::npos) << msg;
}

TEST(ConfigParse, ArchitectureFieldsAndDefaults) {
  nlohmann::json gpt2 = {{"architectures", {"GPT2LMHeadModel"}}, {"n_embd", 12}, {"n_layer", 1}, {"n_head", 3},
                         {"n_positions", 8}, {"vocab_size", 5}, {"activation_function", "gelu"}};
  ArchSpec s = parse_config(gpt2, "c.json");
  EXPECT_EQ(s.head_dim, 4);
  EXPECT_EQ(s.d_ff, 48);  // n_inner absent: 4 x n_embd
  EXPECT_EQ(s.mlp, MlpKind::kGeluExact);
  EXPECT_TRUE(s.qkv_bias && s.o_bias && s.mlp_bias && s.norm_bias);
  gpt2["activation_function"] = "swish";
  EXPECT_NE(testing::error_of([&] { parse_config(gpt2, "c.json"); })
                .find("c.json: activation_function: unsupported 'swish'"),
            std::string::npos);
  nlohmann::json llama = {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 8}, {"num_hidden_layers", 1},
                          {"num_attention_heads", 2}, {"intermediate_size", 4}, {"vocab_size", 5},
                          {"max_position_embeddings", 8}, {"head_dim", 6}};
  s = parse_config(llama, "c.json");
  EXPECT_EQ(s.head_dim, 6);  // explicit head_dim need not be hidden_size / heads
  EXPECT_EQ(s.num_kv_heads, 2);
  EXPECT_FALSE(s.tied_embeddings);
  llama["hidden_act"] = "gelu";
  EXPECT_NE(testing::error_of([&] { parse_config(llama, "c.json"); }).find("hidden_act"), std::string::npos);
  llama["hidden_act"] = "silu";
  llama["mlp_bias"] = true;
  EXPECT_NE(testing::error_of([&] { parse_config(llama, "c.json"); }).find("mlp_bias: unsupported"),
            std::string::npos);
}

TEST(ConfigParse, ProjectFormatRoundTripsThroughJson) {
  ArchSpec s = testing::tiny_spec();
  s.norm = NormKind::kLayerNorm;
  s.norm_bias = true;
  s.positions = PosKind::kLearned;
  s.mlp = MlpKind::kRelu;
  s.attn.kind = AttnKind::kClipped;
  s.attn.clip_zeta = 1.0f;
  s.attn.clip_gamma = -0.03f;
  s.recipe_json = R"({"optimizer":"sgd","lr":0.03})";
  const ArchSpec r = parse_config(config_to_json(s), "c.json");
  EXPECT_EQ(r.norm, s.norm);
  EXPECT_EQ(r.positions, s.positions);
  EXPECT_EQ(r.mlp, s.mlp);
  EXPECT_EQ(r.attn.kind, s.attn.kind);
  EXPECT_EQ(r.attn.clip_gamma, -0.03f);
  EXPECT_EQ(nlohmann::json::parse(r.recipe_json), nlohmann::json::parse(s.recipe_json));
  nlohmann::json bad = config_to_json(s);
  bad["qharness"]["attention"]["gamma"] = 0.5;
  EXPECT_NE(testing::error_of([&] { parse_config(bad, "c.json"); }).find("qharness.attention.gamma: expected gamma <= 0"),
            std::string::npos);
  bad = config_to_json(s);
  bad["qharness"]["recipe"] = "adam";
  EXPECT_NE(testing::error_of([&] { parse_config(bad, "c.json"); }).find("qharness.recipe: expected an object"),
            std::string::npos);
}

}  // namespace
}  // namespace qh
