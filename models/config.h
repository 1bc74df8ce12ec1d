// config.json <-> ArchSpec. Reads LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel and the project's
// QHarnessForCausalLM; writes the project format. Every field is type-checked; sizes must be positive and
// consistent (heads dividing d_model when head_dim is implied, kv heads dividing heads). HF features the
// harness does not implement (rope_scaling, sliding windows, partial rotary, other activations) are rejected
// with a message naming the field rather than silently computing something else.
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
