// A corpus of broken checkpoints, each derived from a good tiny one, with the message fragments the
// resulting InputError must contain. Shared by the loader tests (tests/models) and the end-to-end
// `qharness inspect` tests (tests/cli).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ckpt_test_util.h"

namespace qh::testing {

using nlohmann::json;

// Parses a safetensors file's header, lets `edit` change it, writes it back with the same data section.
inline void rewrite_header(const std::string& path, const std::function<void(json&)>& edit) {
  const std::string bytes = read_text(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  json header = json::parse(bytes.substr(8, n));
  edit(header);
  std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  write_text(path, out + text + bytes.substr(8 + n));
}

inline void rewrite_config(const std::string& dir, const std::function<void(json&)>& edit) {
  json cfg = json::parse(read_text(dir + "/config.json"));
  edit(cfg);
  write_text(dir + "/config.json", cfg.dump());
}

// Overwrites the 8-byte header length.
inline void set_header_length(const std::string& path, uint64_t n) {
  std::string bytes = read_text(path);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  write_text(path, bytes);
}

struct BadCase {
  std::string name;
  std::function<void(const std::string& dir)> corrupt;  // applied to a good checkpoint in dir
  std::vector<std::string> expect;                      // fragments of the error message
};

inline std::vector<BadCase> bad_checkpoint_corpus() {
  const std::string st = "model.safetensors";
  const std::string q0 = "model.layers.0.self_attn.q_proj.weight";
  auto weights = [](const std::string& dir) { return dir + "/model.safetensors"; };
  return {
      {"empty_file", [=](const std::string& d) { write_text(weights(d), ""); },
       {st, "header length", "truncated"}},
      {"truncated_in_header", [=](const std::string& d) { write_text(weights(d), read_text(weights(d)).substr(0, 5)); },
       {st, "header length", "truncated"}},
      {"truncated_in_data",
       [=](const std::string& d) {
         const std::string b = read_text(weights(d));
         write_text(weights(d), b.substr(0, b.size() - 100));
       },
       {st, "data_offsets", "beyond the data section"}},
      {"header_length_beyond_file",
       [=](const std::string& d) { set_header_length(weights(d), read_text(weights(d)).size()); },
       {st, "header length", "beyond the end of the file"}},
      {"header_over_100mb", [=](const std::string& d) { set_header_length(weights(d), 200000000ull); },
       {st, "header length", "100 MB"}},
      {"header_invalid_json",
       [=](const std::string& d) {
         std::string b = read_text(weights(d));
         b[8 + 1] = ',';  // "{," 
         write_text(weights(d), b);
       },
       {st, "header", "invalid JSON"}},
      {"header_not_object",
       [=](const std::string& d) {
         std::string b = read_text(weights(d));
         b[8] = '[';
         write_text(weights(d), b);
       },
       {st, "header", "expected a JSON object"}},
      {"offsets_out_of_range",
       [=](const std::string& d) {
         rewrite_header(weights(d), [&](json& h) {
           auto& off = h[q0]["data_offsets"];
           const uint64_t len = off[1].get<uint64_t>() - off[0].get<uint64_t>();
           off = {1000000, 1000000 + len};
         });
       },
       {st, q0, "data_offsets", "beyond the data section"}},
      {"offsets_overlapping",
       [=](const std::string& d) {
         rewrite_header(weights(d), [&](json& h) {
           h["model.layers.0.self_attn.o_proj.weight"]["data_offsets"] = h[q0]["data_offsets"];
         });
       },
       {st, "data_offsets", "overlaps"}},
      {"offsets_not_matching_shape",
       [=](const std::string& d) { rewrite_header(weights(d), [&](json& h) { h[q0]["shape"] = {8, 7}; }); },
       {st, q0, "does not match shape [8, 7] x F32"}},
      {"offsets_negative",
       [=](const std::string& d) { rewrite_header(weights(d), [&](json& h) { h[q0]["data_offsets"][0] = -4; }); },
       {st, q0, "data_offsets", "non-negative"}},
      {"unknown_dtype",
       [=](const std::string& d) { rewrite_header(weights(d), [&](json& h) { h[q0]["dtype"] = "F31"; }); },
       {st, q0, "unknown dtype 'F31'"}},
      {"integer_dtype_weight",
       [=](const std::string& d) { rewrite_header(weights(d), [&](json& h) { h[q0]["dtype"] = "I32"; }); },
       {st, q0, "dtype I32", "expected F32, F16 or BF16"}},
      {"metadata_not_strings",
       [=](const std::string& d) { rewrite_header(weights(d), [&](json& h) { h["__metadata__"] = {{"format", 3}}; }); },
       {st, "__metadata__.format", "expected a string"}},
      {"missing_tensor", [=](const std::string& d) { rewrite_header(weights(d), [&](json& h) { h.erase(q0); }); },
       {st, q0, "missing", "[8, 8]"}},
      {"unexpected_tensor",
       [=](const std::string& d) {
         rewrite_header(weights(d), [&](json& h) {
           h["model.layers.0.mlp.extra.weight"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
         });
       },
       {st, "model.layers.0.mlp.extra.weight", "unexpected"}},
      {"shape_contradicts_config",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["intermediate_size"] = 12; }); },
       {st, "model.layers.0.mlp.gate_proj.weight", "[16, 8] contradicts config.json", "expected [12, 8]"}},
      {"missing_weights_file", [=](const std::string& d) { std::filesystem::remove(weights(d)); },
       {st, "missing"}},
      {"missing_config", [=](const std::string& d) { std::filesystem::remove(d + "/config.json"); },
       {"config.json", "missing"}},
      {"config_invalid_json", [=](const std::string& d) { write_text(d + "/config.json", "{\"hidden_size\": 8,"); },
       {"config.json", "invalid JSON"}},
      {"unknown_architecture",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["architectures"] = {"MambaForCausalLM"}; }); },
       {"config.json", "architectures", "unknown architecture \"MambaForCausalLM\""}},
      {"config_wrong_type",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["hidden_size"] = "8"; }); },
       {"config.json", "hidden_size", "expected a positive integer, got \"8\""}},
      {"config_negative_size",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["num_hidden_layers"] = -2; }); },
       {"config.json", "num_hidden_layers", "positive integer"}},
      {"config_missing_field",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c.erase("vocab_size"); }); },
       {"config.json", "vocab_size", "missing"}},
      {"config_heads_not_dividing",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c.erase("head_dim");
           c["num_attention_heads"] = 3;
         });
       },
       {"config.json", "num_attention_heads", "divisor of hidden_size 8"}},
      {"config_kv_heads_not_dividing",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["num_key_value_heads"] = 3; }); },
       {"config.json", "num_key_value_heads", "divisor of num_attention_heads 2"}},
      {"config_unknown_qharness_key",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["qharness"]["flash"] = true; }); },
       {"config.json", "qharness.flash", "unknown key"}},
      {"config_unknown_variant",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["qharness"]["attention"]["variant"] = "linear"; }); },
       {"config.json", "qharness.attention.variant", "unknown value \"linear\""}},
      {"config_bad_format_version",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["qharness"]["format_version"] = 2; }); },
       {"config.json", "qharness.format_version", "expected 1"}},
      {"config_rope_scaling",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"LlamaForCausalLM"};
           c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
         });
       },
       {"config.json", "rope_scaling", "unsupported"}},
      // Config fields whose meaning the engine does not implement: refused by name, never ignored.
      {"config_moe_local_experts",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"MistralForCausalLM"};
           c["num_local_experts"] = 8;
         });
       },
       {"config.json", "num_local_experts", "mixture-of-experts"}},
      {"config_moe_gpt_oss",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"GptOssForCausalLM"};
           c["num_local_experts"] = 32;
         });
       },
       {"config.json", "num_local_experts", "mixture-of-experts"}},
      {"config_moe_num_experts",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Qwen3ForCausalLM"};
           c["num_experts"] = 128;
         });
       },
       {"config.json", "num_experts", "mixture-of-experts"}},
      {"config_linear_attention_layers",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Qwen3NextForCausalLM"};
           c["attn_output_gate"] = true;
           c["layer_types"] = {"linear_attention", "full_attention"};
         });
       },
       {"config.json", "layer_types", "\"linear_attention\": unsupported"}},
      {"config_linear_attention_in_qwen3",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Qwen3ForCausalLM"};
           c["layer_types"] = {"full_attention", "linear_attention"};
         });
       },
       {"config.json", "layer_types", "layer 1"}},
      {"config_rope_scaling_longrope",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Phi3ForCausalLM"};
           c["rope_scaling"] = {{"type", "longrope"}, {"short_factor", {1.0}}, {"long_factor", {1.0}}};
         });
       },
       {"config.json", "rope_scaling", "\"longrope\""}},
      {"config_rope_scaling_yarn",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Qwen3ForCausalLM"};
           c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
         });
       },
       {"config.json", "rope_scaling", "\"yarn\""}},
      {"config_attention_bias_phi3",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Phi3ForCausalLM"};
           c["attention_bias"] = true;
         });
       },
       {"config.json", "attention_bias", "unsupported"}},
      {"config_attention_bias_qwen2",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Qwen2ForCausalLM"};
           c["attention_bias"] = true;
         });
       },
       {"config.json", "attention_bias", "unsupported"}},
      {"config_mlp_bias_gemma",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"GemmaForCausalLM"};
           c["hidden_activation"] = "gelu_pytorch_tanh";
           c["mlp_bias"] = true;
         });
       },
       {"config.json", "mlp_bias", "unsupported"}},
      {"config_gemma_exact_gelu",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"GemmaForCausalLM"};
           c["hidden_act"] = "gelu";
         });
       },
       {"config.json", "hidden_act", "'gelu'"}},
      {"config_sliding_layers_without_window",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Gemma2ForCausalLM"};
           c["layer_types"] = {"sliding_attention", "full_attention"};
         });
       },
       {"config.json", "layer_types", "sliding_window"}},
      {"config_clip_qkv",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"Olmo2ForCausalLM"};
           c["clip_qkv"] = 8.0;
         });
       },
       {"config.json", "clip_qkv", "unsupported"}},
      {"config_neox_rotary_pct",
       [=](const std::string& d) {
         rewrite_config(d, [](json& c) {
           c["architectures"] = {"GPTNeoXForCausalLM"};
           c["rotary_pct"] = 0.1;  // int(4 * 0.1) = 0 rotary dims (head_dim 4)
         });
       },
       {"config.json", "rotary_pct", "even number"}},
      {"config_unknown_architecture",
       [=](const std::string& d) { rewrite_config(d, [](json& c) { c["architectures"] = {"FalconForCausalLM"}; }); },
       {"config.json", "architectures", "unknown architecture \"FalconForCausalLM\""}},
      {"shard_outside_directory",
       [=](const std::string& d) {
         write_text(d + "/model.safetensors.index.json",
                    json{{"weight_map", {{q0, "../model.safetensors"}}}}.dump());
       },
       {"model.safetensors.index.json", q0, "plain file name"}},
      {"nonfinite_weight",
       [=](const std::string& d) {
         std::string b = read_text(weights(d));
         for (int i = 1; i <= 4; ++i) b[b.size() - i] = static_cast<char>(0xFF);  // last float: NaN
         write_text(weights(d), b);
       },
       {st, "non-finite"}},
  };
}

// Writes the good checkpoint the corpus starts from (the project format, tiny_spec, untied).
inline void write_good_checkpoint(const std::string& dir) { save_checkpoint(dir, random_model(tiny_spec(), 9)); }

}  // namespace qh::testing
