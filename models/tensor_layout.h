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
  std::vector<Tensor*> targets; // split along the first (canonical) dimension into equal parts
  bool ignore = false;          // may be present but is not loaded (lm_head of a tied model)
};

// The project's names (HF Llama names plus embed_positions / sinks / g_proj), no transposition: what
// save_checkpoint writes and what inspect's statistics are keyed by. Applies to any architecture's spec.
std::vector<TensorSlot> canonical_layout(const ArchSpec& spec, Model* m);

// Every tensor of a model under its canonical name (the slots of canonical_layout(m.spec), a tied lm_head
// included), for checks that read a loaded model and must name what they reject.
std::vector<std::pair<std::string, const Tensor*>> canonical_tensors(const Model& m);

// The layout of a checkpoint of spec.architecture. For GPT-2, `prefix` is "" or "transformer.".
std::vector<TensorSlot> file_layout(const ArchSpec& spec, Model* m, const std::string& gpt2_prefix = "");

// Non-parameter buffers some exporters store (rotary inv_freq, GPT-2's causal mask): skipped on load.
bool is_ignored_buffer(const ArchSpec& spec, const std::string& name);

}  // namespace qh
