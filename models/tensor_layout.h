// Which tensors an architecture stores, under which names and shapes, and where each lands in qh::Model.
// One table drives loading (presence / dtype / shape checks), saving, parameter counts and inspect's
// weight statistics, so the four cannot disagree.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "models/model.h"

namespace qh {

struct TensorSlot {
  std::string name;             // name in the file
  std::vector<int64_t> shape;   // shape as stored
  bool transpose = false;       // GPT-2 Conv1D: stored [in, out], canonical [out, in]
  std::vector<Tensor*> targets; // split along the first (canonical) dimension (see part_rows / groups)
  bool ignore = false;          // may be present but is not loaded (lm_head of a tied model)
  // How a fused tensor splits: the first dimension is `groups` consecutive blocks, each holding part_rows[i]
  // rows for targets[i] in order (empty part_rows: equal parts). groups > 1 is a per-head interleave:
  // GPT-NeoX's query_key_value is [head][q|k|v][head_dim], a gated q_proj [head][query|gate][head_dim].
  std::vector<int64_t> part_rows;
  int64_t groups = 1;
  // Rows of target i (all groups together).
  int64_t target_rows(size_t i) const;
};

// The project's names (HF Llama names plus embed_positions / sinks / g_proj), no transposition: what
// save_checkpoint writes and what inspect's statistics are keyed by. Applies to any architecture's spec.
std::vector<TensorSlot> canonical_layout(const ArchSpec& spec, Model* m);

// Every tensor of a model under its canonical name (the slots of canonical_layout(m.spec), a tied lm_head
// included), for checks that read a loaded model and must name what they reject.
std::vector<std::pair<std::string, const Tensor*>> canonical_tensors(const Model& m);

// The layout of a checkpoint of spec.architecture: the HF names and fused tensors of each architecture (Phi-3's
// qkv_proj / gate_up_proj, GPT-NeoX's per-head query_key_value, a gated q_proj holding [query|gate] per head,
// Gemma-2's and OLMo-2's norm names). For GPT-2, `prefix` is "" or "transformer.".
std::vector<TensorSlot> file_layout(const ArchSpec& spec, Model* m, const std::string& gpt2_prefix = "");

// Non-parameter buffers some exporters store (rotary inv_freq, GPT-2's causal mask): skipped on load.
bool is_ignored_buffer(const ArchSpec& spec, const std::string& name);

// The name of layer 0's attention-sink logits in an HF checkpoint of this architecture (GPT-OSS's
// `self_attn.sinks`), or "" when the architecture has no place for them: its presence makes the attention
// the sink variant (config.json does not say so).
std::string hf_sinks_name(const ArchSpec& spec);

}  // namespace qh
