// Write -> read back for the project format (every dtype, every attention variant and MLP / norm /
// position kind) through save_checkpoint / load_checkpoint.
#include <gtest/gtest.h>

#include "ckpt_test_util.h"
#include "models/config.h"
#include "models/half.h"
#include "models/tensor_layout.h"

#include <fmt/format.h>

#include <cstring>
#include <functional>
#include <set>

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

namespace qh {
namespace {

using testing::TempDir;

// Sharded checkpoints (model.safetensors.index.json + model-0000i-of-0000n.safetensors) load as the same
// model as a single F32 file: bit for bit in F32, and in F16 / BF16 each value is the narrowing of the F32
// one (round to nearest even) widened back, bit for bit.
TEST(ShardedCheckpoint, HalfAndFullDtypesEqualF32LoadingAfterConversion) {
  const Model m = testing::random_model(testing::tiny_spec(), 5);
  TempDir single;
  save_checkpoint(single.path(), m, DType::kF32);
  const Model ref = load_checkpoint(single.path());
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    TempDir tmp;
    save_checkpoint(tmp.path(), m, dt, /*max_shard_bytes=*/256);
    ASSERT_TRUE(std::filesystem::exists(tmp.file("model.safetensors.index.json")));
    ASSERT_FALSE(std::filesystem::exists(tmp.file("model.safetensors")));
    const auto info = inspect_checkpoint(tmp.path());
    std::set<std::string> files;
    for (const StoredTensor& t : info.tensors) files.insert(t.file);
    EXPECT_GT(files.size(), 3u) << to_string(dt);
    EXPECT_TRUE(files.count("model-00001-of-" + fmt::format("{:05d}", files.size()) + ".safetensors"));
    const auto got = canonical_tensors(info.model), want = canonical_tensors(ref);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const Tensor &g = *got[i].second, &w = *want[i].second;
      ASSERT_EQ(g.shape, w.shape) << got[i].first;
      for (size_t k = 0; k < g.size(); ++k) {
        const float x = w.data[k];
        const float conv = dt == DType::kF32 ? x : dt == DType::kF16 ? f16_to_f32(f32_to_f16(x))
                                                                     : bf16_to_f32(f32_to_bf16(x));
        ASSERT_EQ(std::memcmp(&g.data[k], &conv, sizeof(float)), 0)
            << to_string(dt) << " " << got[i].first << " [" << k << "]";
      }
    }
  }
  // Saving again as one file removes the shard index (it would win on load).
  TempDir again;
  save_checkpoint(again.path(), m, DType::kBF16, 256);
  save_checkpoint(again.path(), m, DType::kF32);
  EXPECT_FALSE(std::filesystem::exists(again.file("model.safetensors.index.json")));
  testing::expect_same_weights(load_checkpoint(again.path()), ref);
}

// Rewrites one shard's JSON header (the data section is kept as is).
void edit_shard_header(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  const std::string bytes = testing::read_text(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  edit(header);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  testing::write_text(path, out + text + bytes.substr(8 + n));
}

// A broken shard is bad input: exit 2 (InputError) naming the shard file and the tensor, never a crash.
TEST(ShardedCheckpoint, BrokenShardsNameTheFileAndTheTensor) {
  const Model m = testing::random_model(testing::tiny_spec(), 6);
  const std::string shard = "model-00002-of-";
  auto fresh = [&](const TempDir& tmp) {
    save_checkpoint(tmp.path(), m, DType::kBF16, 256);
    for (const auto& e : std::filesystem::directory_iterator(tmp.path()))
      if (e.path().filename().string().rfind(shard, 0) == 0) return e.path().string();
    ADD_FAILURE() << "no second shard";
    return std::string();
  };
  auto first_tensor = [](const std::string& path) {
    const std::string bytes = testing::read_text(path);
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    const nlohmann::json h = nlohmann::json::parse(bytes.substr(8, n));
    std::string last;
    uint64_t end = 0;
    for (auto it = h.begin(); it != h.end(); ++it)
      if (it.key() != "__metadata__" && it.value()["data_offsets"][1].get<uint64_t>() >= end) {
        end = it.value()["data_offsets"][1].get<uint64_t>();
        last = it.key();
      }
    return last;  // the tensor stored last: the one a truncation cuts
  };
  {  // truncated: the last tensor's bytes run past the end of the file
    TempDir tmp;
    const std::string path = fresh(tmp), last = first_tensor(path);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
    const std::string msg = testing::error_of([&] { load_checkpoint(tmp.path()); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(last), std::string::npos) << msg;
    EXPECT_NE(msg.find("beyond the data section"), std::string::npos) << msg;
  }
  {  // out of range: offsets past the data section
    TempDir tmp;
    const std::string path = fresh(tmp), last = first_tensor(path);
    edit_shard_header(path, [&](nlohmann::json& h) {
      auto& off = h[last]["data_offsets"];
      off = {off[0].get<uint64_t>() + 4096, off[1].get<uint64_t>() + 4096};
    });
    const std::string msg = testing::error_of([&] { load_checkpoint(tmp.path()); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(last), std::string::npos) << msg;
  }
  {  // overlapping: two tensors share bytes
    TempDir tmp;
    const std::string path = fresh(tmp), last = first_tensor(path);
    std::string other;
    edit_shard_header(path, [&](nlohmann::json& h) {
      for (auto it = h.begin(); it != h.end(); ++it)
        if (it.key() != "__metadata__" && it.key() != last) other = it.key();
      ASSERT_FALSE(other.empty());
      // `last` moved onto the first bytes of `other` (same length as before, so sizes still match shapes).
      const uint64_t len = h[last]["data_offsets"][1].get<uint64_t>() - h[last]["data_offsets"][0].get<uint64_t>();
      const uint64_t at = h[other]["data_offsets"][0].get<uint64_t>();
      h[last]["data_offsets"] = {at, at + len};
    });
    const std::string msg = testing::error_of([&] { load_checkpoint(tmp.path()); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("overlaps"), std::string::npos) << msg;
    EXPECT_TRUE(msg.find(last) != std::string::npos || msg.find(other) != std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace qh
