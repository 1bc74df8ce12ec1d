// Checkpoints written with foreign (HF) names and layouts, read back into the canonical model:
// Llama with GQA and tied embeddings, Qwen2 q/k/v biases, GPT-2 Conv1D transposition and the c_attn split
// (with and without the "transformer." prefix), and a sharded checkpoint.
#include <gtest/gtest.h>

#include <map>

#include "ckpt_test_util.h"

namespace qh {
namespace {

using nlohmann::json;
using testing::TempDir;

// Tensors by name, written as one safetensors file (or split over shards).
struct RawCheckpoint {
  std::map<std::string, Tensor> tensors;
  std::mt19937 rng{11};
  const Tensor& add(const std::string& name, std::vector<int64_t> shape) {
    return tensors[name] = testing::random_tensor(std::move(shape), rng);
  }
  void write(const std::string& dir, const json& config, DType dtype = DType::kF32) const {
    std::vector<NamedTensor> list;
    for (const auto& kv : tensors) list.push_back({kv.first, &kv.second});
    write_safetensors(dir + "/model.safetensors", list, dtype);
    testing::write_text(dir + "/config.json", config.dump());
  }
};

json llama_config(int layers, int d, int heads, int kv, int ff, int vocab, bool tied) {
  return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", d},
          {"num_hidden_layers", layers}, {"num_attention_heads", heads}, {"num_key_value_heads", kv},
          {"intermediate_size", ff}, {"vocab_size", vocab}, {"max_position_embeddings", 32},
          {"rms_norm_eps", 1e-6}, {"rope_theta", 500000.0}, {"tie_word_embeddings", tied},
          {"hidden_act", "silu"}, {"rope_scaling", nullptr}, {"bos_token_id", 1}, {"torch_dtype", "float32"}};
}

void add_llama_tensors(RawCheckpoint* ck, int layers, int d, int heads, int kv, int ff, int vocab, bool tied,
                       bool qkv_bias) {
  const int hd = d / heads;
  ck->add("model.embed_tokens.weight", {vocab, d});
  for (int i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    ck->add(p + "input_layernorm.weight", {d});
    ck->add(p + "post_attention_layernorm.weight", {d});
    ck->add(p + "self_attn.q_proj.weight", {heads * hd, d});
    ck->add(p + "self_attn.k_proj.weight", {kv * hd, d});
    ck->add(p + "self_attn.v_proj.weight", {kv * hd, d});
    ck->add(p + "self_attn.o_proj.weight", {d, heads * hd});
    if (qkv_bias) {
      ck->add(p + "self_attn.q_proj.bias", {heads * hd});
      ck->add(p + "self_attn.k_proj.bias", {kv * hd});
      ck->add(p + "self_attn.v_proj.bias", {kv * hd});
    }
    ck->add(p + "mlp.gate_proj.weight", {ff, d});
    ck->add(p + "mlp.up_proj.weight", {ff, d});
    ck->add(p + "mlp.down_proj.weight", {d, ff});
  }
  ck->add("model.norm.weight", {d});
  if (!tied) ck->add("lm_head.weight", {vocab, d});
}

TEST(ForeignArch, LlamaGqaTied) {
  TempDir tmp;
  RawCheckpoint ck;
  add_llama_tensors(&ck, 5, 16, 4, 2, 24, 30, /*tied=*/true, false);
  ck.add("model.layers.0.self_attn.rotary_emb.inv_freq", {2});  // an old exporter's buffer: skipped
  ck.write(tmp.path(), llama_config(5, 16, 4, 2, 24, 30, true));
  const Model m = load_checkpoint(tmp.path());
  EXPECT_EQ(m.spec.architecture, "LlamaForCausalLM");
  EXPECT_EQ(m.spec.num_layers, 5);
  EXPECT_EQ(m.spec.num_heads, 4);
  EXPECT_EQ(m.spec.num_kv_heads, 2);
  EXPECT_EQ(m.spec.head_dim, 4);
  EXPECT_EQ(m.spec.norm, NormKind::kRMSNorm);
  EXPECT_EQ(m.spec.positions, PosKind::kRope);
  EXPECT_EQ(m.spec.mlp, MlpKind::kSwiGLU);
  EXPECT_FLOAT_EQ(m.spec.norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(m.spec.rope_theta, 500000.0f);
  EXPECT_TRUE(m.spec.tied_embeddings);
  EXPECT_EQ(m.layers[3].wk.shape, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(m.layers[3].wk.data, ck.tensors["model.layers.3.self_attn.k_proj.weight"].data);
  EXPECT_EQ(m.layers[4].w_gate.data, ck.tensors["model.layers.4.mlp.gate_proj.weight"].data);
  EXPECT_EQ(m.lm_head.data, ck.tensors["model.embed_tokens.weight"].data);
  EXPECT_EQ(num_params(m), 30 * 16 + 5 * (2 * 16 + 16 * 16 * 2 + 8 * 16 * 2 + 3 * 24 * 16) + 16);
}

TEST(ForeignArch, LlamaExplicitHeadDimAndUntiedHeadInEveryDtype) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(to_string(dt));
    TempDir tmp;
    RawCheckpoint ck;
    add_llama_tensors(&ck, 1, 8, 2, 1, 12, 10, false, false);
    ck.write(tmp.path(), llama_config(1, 8, 2, 1, 12, 10, false), dt);
    const Model m = load_checkpoint(tmp.path());
    EXPECT_FALSE(m.spec.tied_embeddings);
    const Tensor& head = ck.tensors["lm_head.weight"];
    for (size_t i = 0; i < head.size(); ++i) {
      const float x = head.data[i];
      const float want = dt == DType::kF32 ? x : dt == DType::kF16 ? f16_to_f32(f32_to_f16(x)) : bf16_to_f32(f32_to_bf16(x));
      ASSERT_EQ(m.lm_head.data[i], want) << i;
    }
  }
}

TEST(ForeignArch, Qwen2Biases) {
  TempDir tmp;
  RawCheckpoint ck;
  add_llama_tensors(&ck, 2, 8, 2, 2, 12, 10, false, /*qkv_bias=*/true);
  json cfg = llama_config(2, 8, 2, 2, 12, 10, false);
  cfg["architectures"] = {"Qwen2ForCausalLM"};
  cfg["use_sliding_window"] = false;
  cfg["sliding_window"] = 32;
  ck.write(tmp.path(), cfg);
  const Model m = load_checkpoint(tmp.path());
  EXPECT_TRUE(m.spec.qkv_bias);
  EXPECT_FALSE(m.spec.o_bias);
  EXPECT_EQ(m.layers[1].bq.data, ck.tensors["model.layers.1.self_attn.q_proj.bias"].data);
  EXPECT_EQ(m.layers[1].bv.data, ck.tensors["model.layers.1.self_attn.v_proj.bias"].data);
  EXPECT_TRUE(m.layers[1].bo.empty());

  // Without the biases a Qwen2 checkpoint is incomplete.
  TempDir tmp2;
  RawCheckpoint nob;
  add_llama_tensors(&nob, 2, 8, 2, 2, 12, 10, false, false);
  nob.write(tmp2.path(), cfg);
  const std::string msg = testing::error_of([&] { load_checkpoint(tmp2.path()); });
  EXPECT_NE(msg.find("model.layers.0.self_attn.q_proj.bias': missing"), std::string::npos) << msg;
}

json gpt2_config(int layers, int d, int heads, int vocab, int ctx) {
  return {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"n_embd", d},
          {"n_layer", layers}, {"n_head", heads}, {"n_positions", ctx}, {"n_ctx", ctx}, {"vocab_size", vocab},
          {"layer_norm_epsilon", 1e-5}, {"activation_function", "gelu_new"}, {"n_inner", nullptr},
          {"bos_token_id", vocab - 1}};
}

TEST(ForeignArch, Gpt2Conv1DTransposedAndSplit) {
  for (const std::string prefix : {"", "transformer."}) {
    SCOPED_TRACE("prefix '" + prefix + "'");
    TempDir tmp;
    RawCheckpoint ck;
    const int d = 8, ff = 32, V = 12, ctx = 16;
    ck.add(prefix + "wte.weight", {V, d});
    ck.add(prefix + "wpe.weight", {ctx, d});
    for (int i = 0; i < 2; ++i) {
      const std::string p = prefix + "h." + std::to_string(i) + ".";
      for (const char* ln : {"ln_1", "ln_2"}) {
        ck.add(p + ln + ".weight", {d});
        ck.add(p + ln + ".bias", {d});
      }
      ck.add(p + "attn.c_attn.weight", {d, 3 * d});
      ck.add(p + "attn.c_attn.bias", {3 * d});
      ck.add(p + "attn.c_proj.weight", {d, d});
      ck.add(p + "attn.c_proj.bias", {d});
      ck.add(p + "attn.bias", {1, 1, ctx, ctx});  // the causal-mask buffer some exports keep: skipped
      ck.add(p + "mlp.c_fc.weight", {d, ff});
      ck.add(p + "mlp.c_fc.bias", {ff});
      ck.add(p + "mlp.c_proj.weight", {ff, d});
      ck.add(p + "mlp.c_proj.bias", {d});
    }
    ck.add(prefix + "ln_f.weight", {d});
    ck.add(prefix + "ln_f.bias", {d});
    ck.write(tmp.path(), gpt2_config(2, d, 2, V, ctx));
    const Model m = load_checkpoint(tmp.path());
    EXPECT_EQ(m.spec.architecture, "GPT2LMHeadModel");
    EXPECT_EQ(m.spec.norm, NormKind::kLayerNorm);
    EXPECT_TRUE(m.spec.norm_bias);
    EXPECT_EQ(m.spec.positions, PosKind::kLearned);
    EXPECT_EQ(m.spec.mlp, MlpKind::kGelu);
    EXPECT_EQ(m.spec.d_ff, 32);
    EXPECT_TRUE(m.spec.tied_embeddings);
    EXPECT_EQ(m.spec.bos_token_id, V - 1);
    const LayerWeights& L = m.layers[1];
    const Tensor& c_attn = ck.tensors[prefix + "h.1.attn.c_attn.weight"];  // [in=d, out=3d]
    ASSERT_EQ(L.wq.shape, (std::vector<int64_t>{d, d}));
    for (int o = 0; o < d; ++o)
      for (int in = 0; in < d; ++in) {
        ASSERT_EQ(L.wq.data[o * d + in], c_attn.data[in * 3 * d + o]);
        ASSERT_EQ(L.wk.data[o * d + in], c_attn.data[in * 3 * d + d + o]);
        ASSERT_EQ(L.wv.data[o * d + in], c_attn.data[in * 3 * d + 2 * d + o]);
      }
    const Tensor& bias = ck.tensors[prefix + "h.1.attn.c_attn.bias"];
    EXPECT_EQ(L.bk.data, std::vector<float>(bias.data.begin() + d, bias.data.begin() + 2 * d));
    const Tensor& fc = ck.tensors[prefix + "h.1.mlp.c_fc.weight"];  // [d, ff]
    ASSERT_EQ(L.w_up.shape, (std::vector<int64_t>{ff, d}));
    EXPECT_EQ(L.w_up.data[5 * d + 3], fc.data[3 * ff + 5]);
    const Tensor& proj = ck.tensors[prefix + "h.1.mlp.c_proj.weight"];  // [ff, d]
    ASSERT_EQ(L.w_down.shape, (std::vector<int64_t>{d, ff}));
    EXPECT_EQ(L.w_down.data[2 * ff + 7], proj.data[7 * d + 2]);
    EXPECT_EQ(m.pos_emb.data, ck.tensors[prefix + "wpe.weight"].data);
    EXPECT_EQ(m.lm_head.data, ck.tensors[prefix + "wte.weight"].data);
    EXPECT_EQ(m.final_norm_b.data, ck.tensors[prefix + "ln_f.bias"].data);

    // The canonical model saves in the project format and loads back identically.
    TempDir out;
    save_checkpoint(out.path(), m);
    const Model back = load_checkpoint(out.path());
    EXPECT_EQ(back.spec.architecture, "QHarnessForCausalLM");
    testing::expect_same_weights(m, back);
  }
}

TEST(ForeignArch, ShardedCheckpoint) {
  TempDir tmp;
  RawCheckpoint ck;
  add_llama_tensors(&ck, 2, 8, 2, 2, 12, 10, true, false);
  std::vector<NamedTensor> first, second;
  json weight_map = json::object();
  for (const auto& kv : ck.tensors) {
    const bool in_first = kv.first.find("layers.1.") == std::string::npos;
    (in_first ? first : second).push_back({kv.first, &kv.second});
    weight_map[kv.first] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_safetensors(tmp.file("model-00001-of-00002.safetensors"), first, DType::kBF16);
  write_safetensors(tmp.file("model-00002-of-00002.safetensors"), second, DType::kF32);
  testing::write_text(tmp.file("model.safetensors.index.json"),
                      json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump());
  testing::write_text(tmp.file("config.json"), llama_config(2, 8, 2, 2, 12, 10, true).dump());
  const CheckpointInfo info = inspect_checkpoint(tmp.path());
  EXPECT_EQ(info.model.layers[1].wq.data, ck.tensors["model.layers.1.self_attn.q_proj.weight"].data);
  for (const StoredTensor& t : info.tensors) {
    const bool in_first = t.name.find("layers.1.") == std::string::npos;
    EXPECT_EQ(t.dtype, in_first ? DType::kBF16 : DType::kF32) << t.name;
    EXPECT_EQ(t.file, in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
  }
}

}  // namespace
}  // namespace qh
