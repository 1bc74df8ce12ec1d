#include "src/engine/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "src/core/error.h"
#include "quant/quantize.h"
#include "src/engine/exp_rows.h"
#include "src/engine/flash_attention.h"
#include "src/engine/for_rows.h"
#include "src/engine/ops.h"

namespace qh::engine {

struct Attention::Scratch {
  RopeTable rope;  // rebuilt only for a longer window or other rotary parameters
  std::vector<float> qh, kh, vh, scores, sink_mass, kv_keep;
};

Attention::Attention(const ArchSpec& spec, const QuantSpec& kv, const QuantSpec& probs, StaticKv static_kv,
                     const HadamardTransform* qk_rotation)
    : spec_(spec), kv_(kv), probs_(probs), static_kv_(std::move(static_kv)),
      qk_rotation_(qk_rotation && !qk_rotation->empty() ? qk_rotation : nullptr) {}

namespace {

// [T, heads*hd] rows (stride ld) -> [heads][T][hd].
void to_heads(const float* x, int64_t ld, int64_t T, int64_t heads, int64_t hd, float* out) {
  for_rows(T, heads * hd, [&](int64_t t) {
    for (int64_t h = 0; h < heads; ++h)
      std::copy(x + t * ld + h * hd, x + t * ld + (h + 1) * hd, out + (h * T + t) * hd);
  });
}

}  // namespace

void Attention::quantize_kv(float* x, int64_t T, const uint8_t* protected_rows,
                            const std::vector<float>& static_scale, const std::vector<int32_t>& static_zp,
                            Scratch& sc) {
  // x: [KV][T][hd]; one scale per token per head (or per group of the head dimension), or a calibrated
  // scale per head (static).
  const int64_t hd = spec_.head_dim, rows = spec_.num_kv_heads * T;
  if (protected_rows) sc.kv_keep.assign(x, x + rows * hd);
  const quant::RowParams p = quant::row_params(kv_);
  if (!static_scale.empty())
    for (int64_t h = 0; h < spec_.num_kv_heads; ++h)
      quant::fake_quant_fixed(x + h * T * hd, T, hd, hd, static_scale[h], static_zp[h], p, x + h * T * hd, hd);
  else if (kv_.granularity == Granularity::kGroup)
    quant::fake_quant_groups(x, rows, hd, hd, kv_.group_size, p, x, hd);
  else
    quant::fake_quant_rows(x, rows, hd, hd, p, x, hd);
  if (!protected_rows) return;
  for (int64_t r = 0; r < rows; ++r)
    if (protected_rows[r % T]) std::copy(sc.kv_keep.data() + r * hd, sc.kv_keep.data() + (r + 1) * hd, x + r * hd);
}

void Attention::row_transform(int64_t T, const float* sink, const uint8_t* protected_rows, int window,
                              Scratch& sc) {
  const int64_t H = spec_.num_heads, ld = T;
  const float cap = spec_.attn_softcap;
  const AttnKind kind = spec_.attn.kind;
  const float zeta = spec_.attn.clip_zeta, gamma = spec_.attn.clip_gamma;
  const quant::RowParams pp = quant::row_params(probs_);
  const bool quant_probs = probs_.enabled();
  // Blocks of kRowBlock query rows of one head: the softmax kernel is dispatched once per block.
  constexpr int64_t kRowBlock = 16;
  const int64_t per_head = (T + kRowBlock - 1) / kRowBlock;
  // Keys j < first_key(i) are outside a sliding window: probability 0 in every variant.
  auto first_key = [&](int64_t i) { return window > 0 ? std::max<int64_t>(0, i - window + 1) : int64_t{0}; };
  for_blocks_dynamic(H * per_head, kRowBlock * (T / 2 + 1), [&](int64_t b) {
    const int64_t h = b / per_head, i0 = (b % per_head) * kRowBlock, i1 = std::min(T, i0 + kRowBlock);
    float* block = sc.scores.data() + (h * T + i0) * ld;
    for (int64_t i = i0; i < i1; ++i) {
      float* s = block + (i - i0) * ld;
      if (cap > 0.0f) softcap(s, i + 1, cap);  // Gemma-2: before the mask
      const int64_t first = first_key(i);
      if (first > 0)
        std::fill(s, s + first, kind == AttnKind::kRelu ? 0.0f : -std::numeric_limits<float>::infinity());
    }
    // The softmax kernel gives the masked (-inf) keys probability 0.
    if (kind != AttnKind::kRelu) {
      softmax_causal_rows(block, ld, i0, i1, kind == AttnKind::kSink ? sink[h] : kNoExtraLogit,
                          kind == AttnKind::kSink ? sc.sink_mass.data() + h * T + i0 : nullptr);
    }
    for (int64_t i = i0; i < i1; ++i) {
      float* s = block + (i - i0) * ld;
      const int64_t n = i + 1;  // causal: keys 0..i
      if (kind == AttnKind::kRelu) {
        const float inv = 1.0f / static_cast<float>(i + 1);
        for (int64_t j = first_key(i); j < n; ++j) s[j] = s[j] > 0.0f ? s[j] * inv : 0.0f;
      } else if (kind == AttnKind::kClipped) {
        for (int64_t j = 0; j < n; ++j) s[j] = std::min(1.0f, std::max(0.0f, (zeta - gamma) * s[j] + gamma));
      }
      if (quant_probs && !(protected_rows && protected_rows[i])) quant::fake_quant_rows(s, 1, n, n, pp, s, n);
      // Zero the keys after i inside the query block (the P V product reads up to the block end).
      std::fill(s + n, s + std::min(ld, (i / kQueryBlock + 1) * kQueryBlock), 0.0f);
    }
  });
}

void Attention::run(int layer, const AttentionInputs& in, int64_t T, float* out, const uint8_t* protected_rows,
                    Observer* obs) {
  // A thread_local is not captured by the lambdas below (a worker thread would see its own): use a reference.
  thread_local Scratch per_thread;
  Scratch& sc = per_thread;
  const int64_t H = spec_.num_heads, KV = spec_.num_kv_heads, hd = spec_.head_dim, G = H / KV;
  sc.qh.resize(H * T * hd);
  sc.kh.resize(KV * T * hd);
  sc.vh.resize(KV * T * hd);
  if (spec_.positions == PosKind::kRope) {  // rotated while split into heads: one pass over q and k
    sc.rope.ensure(T, spec_.rotary_dims(), spec_.rope_theta);
    rope_to_heads(in.q, in.ldq, H, T, hd, sc.rope, sc.qh.data());
    rope_to_heads(in.k, in.ldk, KV, T, hd, sc.rope, sc.kh.data());
  } else {
    to_heads(in.q, in.ldq, T, H, hd, sc.qh.data());
    to_heads(in.k, in.ldk, T, KV, hd, sc.kh.data());
  }
  const AttnKind kind = spec_.attn.kind;
  const bool flash = (kind == AttnKind::kSoftmax || kind == AttnKind::kSink) && !probs_.enabled() &&
                     !(obs && obs->wants_attention());
  // The flash kernel reads V rows in place (any row stride); a head-major copy only for what changes V or
  // wants it per head: the KV-cache quantization, the observers of K/V and values, the oneDNN P V product.
  const bool v_in_place = flash && !kv_.enabled() && !(obs && (obs->wants_kv() || obs->wants_values()));
  if (!v_in_place) to_heads(in.v, in.ldv, T, KV, hd, sc.vh.data());
  if (qk_rotation_) {  // after RoPE (which does not commute with it): scores (q Q)(k Q)^T = q k^T
    qk_rotation_->apply(sc.qh.data(), H * T, hd);
    qk_rotation_->apply(sc.kh.data(), KV * T, hd);
  }
  if (obs && obs->wants_kv()) obs->on_kv(layer, sc.kh.data(), sc.vh.data(), KV, T, hd);
  if (kv_.enabled()) {
    quantize_kv(sc.kh.data(), T, protected_rows, static_kv_.k_scale, static_kv_.k_zp, sc);
    quantize_kv(sc.vh.data(), T, protected_rows, static_kv_.v_scale, static_kv_.v_zp, sc);
  }
  if (flash) {
    // Nothing needs the probabilities: the tiled online softmax (flash_attention.h), straight into the output
    // rows, in blocks of kFlashRowBlock query rows of one head (one kernel dispatch each).
    const int64_t per_head = (T + kFlashRowBlock - 1) / kFlashRowBlock, ldo = H * hd;
    const int window = spec_.window_of(layer);
    for_blocks_dynamic(H * per_head, kFlashRowBlock * hd * (T / 2 + 1), [&](int64_t b) {
      const int64_t h = b / per_head, i0 = (b % per_head) * kFlashRowBlock, i1 = std::min(T, i0 + kFlashRowBlock);
      const float* v = v_in_place ? in.v + (h / G) * hd : sc.vh.data() + (h / G) * T * hd;
      FlashHead fh{sc.qh.data() + h * T * hd, hd, sc.kh.data() + (h / G) * T * hd, hd,
                   v, v_in_place ? in.ldv : hd, out + h * hd, ldo};
      fh.hd = hd;
      fh.scale = spec_.score_scale();
      fh.softcap = spec_.attn_softcap;
      fh.window = window;
      if (kind == AttnKind::kSink) fh.extra = in.sink[h];
      flash_attention_rows(fh, i0, i1);
    });
    if (obs && obs->wants_values())
      for (int64_t h = 0; h < H; ++h) obs->on_values(layer, static_cast<int>(h), sc.vh.data() + (h / G) * T * hd, T, hd);
    return;
  }
  sc.scores.resize(H * T * T);
  // Causal attention in blocks of query rows: block [r0, r1) only needs keys 0..r1-1, so the scores and
  // P V matmuls skip the upper triangle beyond each block (37.5% of their flops at T = 512 with blocks of
  // 128; smaller blocks save little more and multiply the oneDNN calls). Per block and query head g of a
  // key/value group: batch = key/value head (query head kv * G + g).
  const float scale = spec_.score_scale();
  for (int64_t g = 0; g < G; ++g)
    for (int64_t r0 = 0; r0 < T; r0 += kQueryBlock) {
      const int64_t r1 = std::min(T, r0 + kQueryBlock);
      mm_.run(KV, r1 - r0, hd, r1, {sc.qh.data() + (g * T + r0) * hd, G * T * hd, hd}, {sc.kh.data(), T * hd, hd},
              /*b_transposed=*/true, sc.scores.data() + (g * T + r0) * T, G * T * T, T, scale);
    }
  if (spec_.attn.kind == AttnKind::kSink) sc.sink_mass.assign(H * T, 0.0f);
  row_transform(T, in.sink, protected_rows, spec_.window_of(layer), sc);
  // P V straight into the [T, H*hd] output: head h = kv * G + g at columns h * hd.
  const int64_t ldo = H * hd;
  for (int64_t g = 0; g < G; ++g)
    for (int64_t r0 = 0; r0 < T; r0 += kQueryBlock) {
      const int64_t r1 = std::min(T, r0 + kQueryBlock);
      mm_.run(KV, r1 - r0, r1, hd, {sc.scores.data() + (g * T + r0) * T, G * T * T, T}, {sc.vh.data(), T * hd, hd},
              /*b_transposed=*/false, out + r0 * ldo + g * hd, G * hd, ldo, 1.0f);
    }
  if (obs) {
    const bool att = obs->wants_attention(), val = obs->wants_values();
    if (att)  // observers see whole causal rows: zero the keys beyond each query block too
      for (int64_t r = 0; r < H * T; ++r) {
        float* s = sc.scores.data() + r * T;
        std::fill(s + std::min(T, (r % T / kQueryBlock + 1) * kQueryBlock), s + T, 0.0f);
      }
    for (int64_t h = 0; h < H; ++h) {
      if (att) {
        obs->on_attention(layer, static_cast<int>(h), sc.scores.data() + h * T * T, T);
        if (spec_.attn.kind == AttnKind::kSink)
          obs->on_virtual_sink(layer, static_cast<int>(h), sc.sink_mass.data() + h * T, T);
      }
      if (val) obs->on_values(layer, static_cast<int>(h), sc.vh.data() + (h / G) * T * hd, T, hd);
    }
  }
}

}  // namespace qh::engine
