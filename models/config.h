// config.json <-> ArchSpec. Reads the HF configs of LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// Qwen3ForCausalLM, Olmo2ForCausalLM, GemmaForCausalLM, Gemma2ForCausalLM, Phi3ForCausalLM, GPTNeoXForCausalLM,
// GPT2LMHeadModel and the project's QHarnessForCausalLM; writes the project format. Every field is
// type-checked; sizes must be positive and consistent. Every field that changes the computation is honoured
// (sliding windows and layer_types, partial rotary, soft-caps, query_pre_attn_scalar, attention biases,
// attn_output_gate, ...) or refused with a message naming it (rope_scaling types other than default,
// mixture-of-experts sizes, linear-attention layer types, clip_qkv, unsupported activations or biases),
// never silently computing something else.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "models/arch.h"

namespace qh {

// `file` names config.json in messages.
ArchSpec parse_config(const nlohmann::json& doc, const std::string& file);
// Reads and parses a config.json file (missing file, invalid JSON: InputError naming it).
ArchSpec read_config(const std::string& path);
// The project format (architectures: ["QHarnessForCausalLM"], model_type "qharness", "qharness" block).
nlohmann::json config_to_json(const ArchSpec& spec);
// Consistency checks shared by all architectures (also applied by save_checkpoint to what it writes).
void validate_spec(const ArchSpec& spec, const std::string& file);

}  // namespace qh
