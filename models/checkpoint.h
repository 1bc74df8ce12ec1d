// Checkpoint IO: a directory with config.json and model.safetensors (or shards listed in
// model.safetensors.index.json) <-> qh::Model. Architectures: those of models/config.h, in their HF tensor
// layouts (models/tensor_layout.h), and the project's own QHarnessForCausalLM (HF Llama tensor names + a
// "qharness" block). A `model.layers.N.self_attn.sinks` tensor in an HF checkpoint makes its attention the
// sink variant; Gemma's stored norm weights w become the multipliers 1 + w.
// A checkpoint is untrusted input: every problem is a qh::InputError whose message names the file, the
// tensor or field, and what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dtype.h"
#include "models/model.h"

namespace qh {

struct LoadOptions {
  // Non-finite weights (NaN / Inf) are an InputError naming the tensor unless this is set (inspect sets it,
  // to report them instead).
  bool allow_nonfinite = false;
};

// Loads and validates a checkpoint directory: the config is mapped to an ArchSpec, every tensor the
// architecture needs is checked for presence, dtype (F32 / F16 / BF16, converted to f32) and shape, and
// tensors the architecture does not use are an error (known buffers such as rotary inv_freq or GPT-2's
// attention mask are skipped). Weights come out in the canonical layout of models/model.h.
Model load_checkpoint(const std::string& dir, const LoadOptions& options = {});

// Writes `m` in the project's own format (config.json with the "qharness" block + model.safetensors with
// HF Llama names) to `dir`, created if needed. Each file is written atomically. Weights are stored as
// `dtype` (round-to-nearest-even for F16 / BF16). With max_shard_bytes > 0 and more bytes than that, the
// tensors go, in order, into shards of at most max_shard_bytes of data each (one larger tensor alone),
// named as Hugging Face names them (model-00001-of-00003.safetensors), with model.safetensors.index.json
// ({"metadata": {"total_size"}, "weight_map"}) written last.
void save_checkpoint(const std::string& dir, const Model& m, DType dtype = DType::kF32,
                     uint64_t max_shard_bytes = 0);

// What a checkpoint holds as stored, for `qharness inspect`.
struct StoredTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string file;  // the safetensors file (shard) holding it, relative to the checkpoint directory
};
struct CheckpointInfo {
  std::string dir;
  Model model;                        // loaded with the caller's LoadOptions
  std::vector<StoredTensor> tensors;  // every tensor in the files, by name (layer numbers in numeric order)
};
CheckpointInfo inspect_checkpoint(const std::string& dir, const LoadOptions& options = {});

// Parameter count of the canonical model (a tied lm_head counts once).
int64_t num_params(const Model& m);

}  // namespace qh
