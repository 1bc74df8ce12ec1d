// What an evaluation will hold in memory, estimated from config.json before any weight is read, so that a
// model that cannot fit is refused (exit 2) before the expensive work (ARCHITECTURE.md 2.4). The figures
// follow the engine's storage: one f32 copy of the model shared by every engine, per engine what its paths
// derive (int8 codes and, where oneDNN does not read them in place, its reordered copy; dequantized f32
// matrices for the fake path), per forward
// running at once (one, or one per thread when windows run in parallel) the forward scratch of one window,
// which every engine and layer on that thread shares (the attention's score matrix [heads, T, T], the linear
// sites' activation buffers, the block's buffers) and the evaluator's logits, and oneDNN's per-thread scratch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/arch.h"
#include "quant/scheme.h"
#include "src/core/memory.h"

namespace qh::engine {

struct MemoryEstimate {
  uint64_t model_weights = 0;   // the model's f32 tensors (one copy; post-training methods add theirs)
  uint64_t one_model = 0;       // of model_weights: one copy
  uint64_t engine_weights = 0;  // derived per engine: codes, scales, dequantized matrices
  uint64_t activations = 0;     // forward scratch of every engine at the window, logits, thread scratch
  uint64_t statistics = 0;      // what the caller accumulates beside the engines (the audit's observers); 0 in eval
  uint64_t total() const { return model_weights + engine_weights + activations + statistics; }
  // "weights 4.40 GB (f32) + quantized copies 1.10 GB + activations 0.93 GB (window 2048) = 6.43 GB", with
  // " + statistics 0.20 GB" before the total when there are any.
  std::string describe(int64_t window) const;
};

// The pieces estimate_memory adds up, for callers that hold another set of engines (the audit):
// the model's f32 bytes (one copy; a tied lm_head is a copy of the embeddings);
uint64_t model_f32_bytes(const ArchSpec& spec);
// what an engine of `s` derives from the weights (int8 codes and any reordered copy of them, or dequantized
// f32 matrices per quantized site, not the per-row scales) when `quantized_layers` of its layers quantize their
// sites (-1: all; the audit's one-layer sensitivity engines quantize one), the lm_head and embeddings following
// the scheme either way;
uint64_t derived_weight_bytes(const ArchSpec& spec, const Scheme& s, int quantized_layers = -1);
// one engine's forward scratch at a window of `window` tokens (per thread: every engine on it shares it);
uint64_t forward_scratch_bytes(const ArchSpec& spec, const Scheme& s, int64_t window);
// and the allowance per OpenMP thread for oneDNN's scratch (brgemm's copies of weight blocks, the attention
// tasks' scratchpads) and the allocator's slack.
inline constexpr uint64_t kPerThreadScratchBytes = 64ull << 20;

// `engines`: the scheme of every engine alive at once (the evaluator keeps the fp engine and one per case);
// `model_copies`: f32 models in memory (1, plus one per post-training method that transforms the weights).
// threads <= 0: OpenMP's thread count. `forwards`: forward passes running at once (window-parallel threads).
MemoryEstimate estimate_memory(const ArchSpec& spec, const std::vector<Scheme>& engines, int model_copies,
                               int64_t window, int threads = 0, int forwards = 1);

// InputError when `need`, less `already_held` bytes of it that are resident already (a loaded model, which
// MemAvailable no longer counts), exceeds `available`: names `what`, the estimate and the available figure
// with its source, and ends with `hint` (what would need less; default: eval's). available.bytes == 0 (unknown):
// no check.
void check_memory_fits(const MemoryEstimate& need, int64_t window, const AvailableMemory& available,
                       const std::string& what, uint64_t already_held = 0, const std::string& hint = "");

}  // namespace qh::engine
