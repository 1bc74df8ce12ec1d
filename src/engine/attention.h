// Causal self-attention core for every variant of ARCHITECTURE.md 1.3, on one window (with the ArchSpec's score scale,
// soft-cap, partial rotary and per-layer sliding window (banded mask)): scores through oneDNN batched
// matmuls over blocks of query rows (batch = key/value head; under GQA one call per query head of a group),
// the variant's row transform (Highway softmax), optional KV-cache and attention-probability quantization
// (fake-quant: the attention runs in f32), then P V through oneDNN straight into the output rows.
#pragma once

#include <cstdint>
#include <vector>

#include "models/arch.h"
#include "quant/scheme.h"
#include "src/engine/hadamard.h"
#include "src/engine/matmul.h"
#include "src/engine/observer.h"
#include "src/engine/ops.h"

namespace qh::engine {

struct AttentionInputs {
  const float* q;  int64_t ldq;   // [T, H*hd] rows with stride ldq
  const float* k;  int64_t ldk;   // [T, KV*hd]
  const float* v;  int64_t ldv;   // [T, KV*hd]
  const float* sink = nullptr;    // [H] sink logits (kSink)
};

// run() may be called from several threads at once (window-parallel evaluation): its buffers (heads, scores,
// the RoPE table) belong to the calling thread, one set per thread shared by every layer of every engine (a
// score matrix per layer would hold num_layers x H x T^2 floats: 11 GB for a 22-layer, 32-head model at
// T = 2048).
class Attention {
 public:
  // Query rows per causal block of the score and P V matmuls (see run()).
  static constexpr int64_t kQueryBlock = 128;

  // Static (calibrated) KV-cache quantization, kv granularity per_tensor: one scale / zero point per key/value
  // head for K and for V ([kv_heads] each). Empty for dynamic (per-token / group) KV quantization.
  struct StaticKv {
    std::vector<float> k_scale, v_scale;
    std::vector<int32_t> k_zp, v_zp;
  };
  // qk_rotation (may be nullptr; must outlive the attention): applied per head to queries and keys after
  // RoPE, before KV-cache quantization.
  Attention(const ArchSpec& spec, const QuantSpec& kv, const QuantSpec& probs, StaticKv static_kv = {},
            const HadamardTransform* qk_rotation = nullptr);
  // out [T, H*hd] (row stride H*hd). protected_rows [T] or nullptr: those tokens' K/V entries and
  // probability rows are not quantized.
  void run(int layer, const AttentionInputs& in, int64_t T, float* out, const uint8_t* protected_rows,
           Observer* obs);

 private:
  struct Scratch;  // per-thread buffers (attention.cc)
  void row_transform(int64_t T, const float* sink, const uint8_t* protected_rows, int window, Scratch& s);
  void quantize_kv(float* x, int64_t T, const uint8_t* protected_rows, const std::vector<float>& static_scale,
                   const std::vector<int32_t>& static_zp, Scratch& s);

  ArchSpec spec_;
  QuantSpec kv_, probs_;
  StaticKv static_kv_;
  const HadamardTransform* qk_rotation_ = nullptr;
  BatchedMatmul mm_;
};

}  // namespace qh::engine
