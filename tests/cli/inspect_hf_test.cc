// `qharness inspect` on Hugging Face checkpoints of the mapped architectures (the fixtures of
// tests/engine/hf_arch): architecture, block structure, sliding-window layers, mitigations, sharding and
// dtypes, in the table and in --json.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "models/checkpoint.h"
#include "tests/engine/hf_fixture.h"

namespace qh {
namespace {

using nlohmann::json;

struct InspectOutput {
  int code;
  std::string out;
};

InspectOutput inspect(const std::string& args, const std::string& scratch) {
  const std::string out = scratch + "/stdout.txt";
  const std::string cmd = std::string("'") + QH_BINARY + "' inspect " + args + " >'" + out + "' 2>/dev/null";
  const int status = std::system(cmd.c_str());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

// Re-saves a checkpoint's tensors as two shards with an index, in BF16.
void shard(const hftest::Fixture& f, const std::string& dir) {
  hftest::write_checkpoint(f, dir);
  std::filesystem::remove(dir + "/model.safetensors");
  const auto values = f.values();
  std::vector<Tensor> data;
  data.reserve(f.tensors.size());
  for (const auto& [n, shape] : f.tensors) data.emplace_back(shape, std::vector<float>(values.at(n).begin(), values.at(n).end()));
  std::vector<NamedTensor> a, b;
  json map;
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const bool first = i % 2 == 0;
    (first ? a : b).push_back({f.tensors[i].first, &data[i]});
    map[f.tensors[i].first] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_safetensors(dir + "/model-00001-of-00002.safetensors", a, DType::kBF16);
  write_safetensors(dir + "/model-00002-of-00002.safetensors", b, DType::kBF16);
  std::ofstream(dir + "/model.safetensors.index.json") << json{{"metadata", json::object()}, {"weight_map", map}}.dump();
}

TEST(InspectHf, Gemma2ShardedBf16WindowsAndSoftCaps) {
  hftest::ScratchDir dir, scratch;
  shard(hftest::load_fixture("gemma2"), dir.path());
  const InspectOutput table = inspect("'" + dir.path() + "'", scratch.path());
  ASSERT_EQ(table.code, 0);
  for (const char* want : {"Gemma2ForCausalLM", "mlp geglu", "pre-norm + post-norm", "soft-cap 2",
                           "final soft-cap 3", "embeddings x 4", "window 3 in layers 0\n", "sharded (2 files",
                           "BF16 x 24", "mitigations  none"})
    EXPECT_NE(table.out.find(want), std::string::npos) << want << "\n" << table.out;
  const InspectOutput js = inspect("'" + dir.path() + "' --json", scratch.path());
  ASSERT_EQ(js.code, 0);
  const json j = json::parse(js.out);
  EXPECT_EQ(j["architecture"], "Gemma2ForCausalLM");
  EXPECT_EQ(j["sharded"], true);
  EXPECT_EQ(j["files"].size(), 2u);
  EXPECT_EQ(j["dtypes"]["BF16"], 24);
  EXPECT_EQ(j["block"]["post_norm"], true);
  EXPECT_EQ(j["block"]["sliding_layers"], json::array({0}));
  EXPECT_FLOAT_EQ(j["block"]["score_scale"].get<float>(), 1.0f / std::sqrt(12.0f));
  EXPECT_TRUE(j["mitigations"].empty());
}

TEST(InspectHf, MitigationLayersOfSinksAndGates) {
  for (const auto& [name, kind] : {std::pair<std::string, std::string>{"llama_sinks", "sink"}, {"qwen3_gated", "gated"}}) {
    hftest::ScratchDir dir, scratch;
    hftest::write_checkpoint(hftest::load_fixture(name), dir.path());
    const InspectOutput table = inspect("'" + dir.path() + "'", scratch.path());
    ASSERT_EQ(table.code, 0) << name;
    EXPECT_NE(table.out.find("mitigations  " + kind + " in layers 0-1"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("single file"), std::string::npos);
    const json j = json::parse(inspect("'" + dir.path() + "' --json", scratch.path()).out);
    ASSERT_EQ(j["mitigations"].size(), 1u) << name;
    EXPECT_EQ(j["mitigations"][0]["kind"], kind);
    EXPECT_EQ(j["mitigations"][0]["layers"], json::array({0, 1}));
    EXPECT_EQ(j["attention"], kind);
  }
}

TEST(InspectHf, NeoxParallelResidualAndPartialRotary) {
  hftest::ScratchDir dir, scratch;
  hftest::write_checkpoint(hftest::load_fixture("neox_parallel"), dir.path());
  const json j = json::parse(inspect("'" + dir.path() + "' --json", scratch.path()).out);
  EXPECT_EQ(j["architecture"], "GPTNeoXForCausalLM");
  EXPECT_EQ(j["norm"], "layernorm");
  EXPECT_EQ(j["block"]["parallel_residual"], true);
  EXPECT_EQ(j["block"]["rotary_dims"], 4);
  EXPECT_EQ(j["tied_embeddings"], false);
  ASSERT_EQ(j["fused_tensors"].size(), 1u);
  EXPECT_EQ(j["fused_tensors"][0]["tensor"], "gpt_neox.layers.0.attention.query_key_value.weight");
  EXPECT_EQ(j["fused_tensors"][0]["parts"], 3);
  EXPECT_EQ(j["fused_tensors"][0]["per_head"], true);
}

TEST(InspectHf, Phi3FusedProjections) {
  hftest::ScratchDir dir, scratch;
  hftest::write_checkpoint(hftest::load_fixture("phi3"), dir.path());
  const InspectOutput table = inspect("'" + dir.path() + "'", scratch.path());
  ASSERT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("fused        model.layers.0.self_attn.qkv_proj.weight split into 3 weights on load"),
            std::string::npos) << table.out;
  EXPECT_NE(table.out.find("fused        model.layers.0.mlp.gate_up_proj.weight split into 2 weights on load"),
            std::string::npos) << table.out;
  EXPECT_NE(table.out.find("window 4 in layers 0-1"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace qh
