#include "src/engine/memory_estimate.h"

#include <omp.h>

#include <algorithm>

#include "models/checkpoint.h"
#include "src/core/error.h"
#include "src/engine/linear.h"
#include "src/engine/matmul.h"

namespace qh::engine {

namespace {

constexpr uint64_t kF32 = sizeof(float);

// Whether the integer path of `s` holds its 8-bit codes split in two halves (Int8Matmul, CPUs without VNNI):
// symmetric codes of 8 bits reach 127, those of fewer bits stay inside [-64, 64].
bool splits_codes(const Scheme& s) {
  return runs_on_integers(s.weights, s.activations) && s.weights.bits >= 8 && int8_pair_sums_saturate();
}

}  // namespace

// Parameters of the canonical model; the tied lm_head is a copy of the embeddings in memory.
uint64_t model_f32_bytes(const ArchSpec& a) {
  Model shell;
  shell.spec = a;
  shell.layers.resize(static_cast<size_t>(std::max(a.num_layers, 0)));
  uint64_t n = static_cast<uint64_t>(num_params(shell));
  if (a.tied_embeddings) n += static_cast<uint64_t>(a.vocab_size) * a.d_model;
  return n * kF32;
}

// Per quantized linear site, int8 codes (integer path; twice as many where split) or a dequantized f32 matrix
// (fake path); the per-row scales are left out (under 10% at K >= 128). Where oneDNN does not read the codes in
// place, they count twice: the first forward reorders them into oneDNN's blocked layout and Int8Matmul keeps
// both (matmul.cc packed_weights; measured: an engine's int8 bytes double after its first window).
uint64_t derived_weight_bytes(const ArchSpec& a, const Scheme& s, int quantized_layers) {
  if (!s.weights.enabled() && !s.activations.enabled()) return 0;
  const uint64_t d = a.d_model, hd = a.head_dim, H = a.num_heads, KV = a.num_kv_heads, ff = a.d_ff;
  const uint64_t g_rows = a.attn.kind == AttnKind::kGated ? (a.attn.gate == GateKind::kPerHead ? H : H * hd) : 0;
  const uint64_t site_elems[kNumSites] = {(H * hd + g_rows) * d, KV * hd * d, KV * hd * d, d * H * hd,
                                          is_glu(a.mlp) ? ff * d : 0, ff * d, ff * d};
  const uint64_t per_elem =
      !s.weights.enabled()                        ? 0
      : !runs_on_integers(s.weights, s.activations) ? kF32
                                                    : (splits_codes(s) ? 2 : 1) * (int8_codes_in_place() ? 1 : 2);
  uint64_t bytes = 0;
  for (int i = 0; i < kNumSites; ++i)
    if (s.sites[i]) bytes += site_elems[i] * per_elem;
  bytes *= static_cast<uint64_t>(quantized_layers < 0 ? a.num_layers : std::min(quantized_layers, a.num_layers));
  const uint64_t emb = static_cast<uint64_t>(a.vocab_size) * d;
  if (s.quantize_lm_head && s.weights.enabled()) bytes += emb * per_elem;
  if (s.quantize_embeddings && s.weights.enabled()) bytes += emb * kF32;
  return bytes;
}

// The forward scratch of one window (the engine's ForwardScratch and the sites' LinearScratch).
uint64_t forward_scratch_bytes(const ArchSpec& a, const Scheme& s, int64_t window) {
  const uint64_t T = static_cast<uint64_t>(std::max<int64_t>(window, 1));
  const uint64_t d = a.d_model, hd = a.head_dim, H = a.num_heads, KV = a.num_kv_heads, ff = a.d_ff;
  const uint64_t width = std::max(d, ff);
  uint64_t floats = H * T * T + (H + 2 * KV) * T * hd;  // attention: scores and heads
  floats += 3 * T * d + T * H * hd + T * (2 * H * hd + 2 * KV * hd);  // residual, norms, q|g|k|v, output
  floats += 3 * T * ff;                                                // MLP: gate|up, activation
  const bool quantized = s.weights.enabled() || s.activations.enabled();
  if (quantized) floats += 4 * T * width;  // the sites' shared buffers: zeroed input, codes, dequantized rows
  // Bytes: activation codes (and their [x | x] copy where the weights are split).
  return floats * kF32 + (quantized ? 2 * T * width : 0) + (splits_codes(s) ? 2 * T * width : 0);
}

std::string MemoryEstimate::describe(int64_t window) const {
  std::string out = "weights " + format_bytes(model_weights) + " (f32)";
  if (engine_weights) out += " + quantized copies " + format_bytes(engine_weights);
  out += " + activations " + format_bytes(activations) + " (window " + std::to_string(window) + ")";
  if (statistics) out += " + statistics " + format_bytes(statistics);
  return out + " = " + format_bytes(total());
}

MemoryEstimate estimate_memory(const ArchSpec& a, const std::vector<Scheme>& engines, int model_copies,
                               int64_t window, int threads, int forwards) {
  MemoryEstimate m;
  const uint64_t T = static_cast<uint64_t>(std::max<int64_t>(window, 1));
  m.one_model = model_f32_bytes(a);
  m.model_weights = m.one_model * static_cast<uint64_t>(std::max(model_copies, 1));
  uint64_t scratch = 0;  // per thread, shared by every engine: the largest any engine needs
  for (const Scheme& s : engines) {
    m.engine_weights += derived_weight_bytes(a, s);
    scratch = std::max(scratch, forward_scratch_bytes(a, s, window));
  }
  scratch += 2 * T * static_cast<uint64_t>(a.vocab_size) * kF32;  // fp and quantized logits
  m.activations += static_cast<uint64_t>(std::max(forwards, 1)) * scratch;
  if (threads <= 0) threads = omp_get_max_threads();
  m.activations += static_cast<uint64_t>(std::max(threads, 1)) * kPerThreadScratchBytes;
  return m;
}

void check_memory_fits(const MemoryEstimate& need, int64_t window, const AvailableMemory& available,
                       const std::string& what, uint64_t already_held, const std::string& hint) {
  const uint64_t more = need.total() > already_held ? need.total() - already_held : 0;
  if (available.bytes == 0 || more <= available.bytes) return;
  const std::string advice =
      hint.empty() ? "evaluate fewer schemes at once or a shorter --window, or set --max-memory" : hint;
  throw InputError(what + ": does not fit in memory: needs about " + need.describe(window) +
                   (already_held ? " (" + format_bytes(already_held) + " of it loaded already)" : "") + ", but " +
                   format_bytes(available.bytes) + " is available (" + available.source + "); " + advice);
}

}  // namespace qh::engine
