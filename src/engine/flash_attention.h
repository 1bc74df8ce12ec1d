// Tiled causal attention with an online softmax (flash-attention style): the output rows of one head computed
// block of keys by block of keys, keeping per query row only the running maximum, the running normaliser and the
// weighted sum of values, so no T x T probability matrix exists (ARCHITECTURE.md 2.4). The attention (attention.h)
// takes this path for the softmax and sink variants whenever nothing needs the probabilities: no observer of
// attention maps and no quantization of the probabilities. Any window length, sliding windows and soft-capping.
//
// Highway kernel dispatched once per block of query rows; it holds tiles of query rows one row per lane, so the
// online softmax is lane-wise and both products are register-tiled multiply-adds of broadcast key / value
// elements (flash_attention.cc). Each row's bits do not depend on the other rows of its call, so neither on the
// row blocks nor the thread count. A scalar reference (double accumulation, std::exp, the plain two-pass
// softmax) sits beside it and the tests compare the two on every compiled target.
#pragma once

#include <cstdint>

namespace qh::engine {

struct FlashHead {
  const float* q;  int64_t ldq;   // query rows of this head (after RoPE), row i at q + i * ldq, hd entries
  const float* k;  int64_t ldk;   // key rows of its key/value head
  const float* v;  int64_t ldv;   // value rows of its key/value head
  float* out;      int64_t ldo;   // output rows
  int64_t hd = 0;                 // head dimension
  float scale = 1.0f;             // score = scale * q.k
  float softcap = 0.0f;           // > 0: score -> softcap * tanh(score / softcap), before the mask
  int64_t window = 0;             // > 0: row i sees keys i - window + 1 .. i; else keys 0 .. i
  float extra = -__builtin_inff();  // a logit that joins the normaliser without a value (the sink variant)
};

// Output rows [i0, i1) of the head: out_i = sum_j p_ij v_j with p_i = softmax over the row's keys (and the extra
// logit). A row whose scores are all -inf and has no finite extra logit becomes zeros; a NaN or +inf score (or
// extra logit) makes the row NaN, as the two-pass softmax does; NaN or Inf in the values of a row's keys
// propagate into that row, and only into the rows that see that key.
void flash_attention_rows(const FlashHead& h, int64_t i0, int64_t i1);

// The engine calls flash_attention_rows on blocks of this many query rows of one head, handed out to its threads.
inline constexpr int64_t kFlashRowBlock = 64;
void flash_attention_rows_reference(const FlashHead& h, int64_t i0, int64_t i1);

}  // namespace qh::engine
