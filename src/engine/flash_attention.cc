// Highway kernel of flash_attention.h, compiled once per target through foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/engine/flash_attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <limits>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "src/engine/flash_attention.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace engine {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;
using M = hn::Mask<D>;
using DI = hn::RebindToSigned<D>;

// One query row per lane: a tile of kRowVecs vectors of rows (RT = kRowVecs * L rows) goes through the keys in
// blocks of kKeyBlock, blocks aligned to multiples of kKeyBlock. Per block:
//  - scores st[j][row] = q_row . k_j, kChunk keys at a time: kChunk x kRowVecs accumulators, each step one
//    broadcast key element against the rows' query elements of one dimension (Q^T of the tile, qt[c][row]);
//    K and V are read as they are (row-major), nothing is transposed but the tile's queries and outputs;
//  - the online softmax lane-wise (rows in lanes: maxima, exponentials and sums are plain vector operations,
//    no reduction across lanes): m' = max(m, s_j), p_j = exp(s_j - m'), c = exp(m - m'), l <- l c + sum p_j;
//  - ot[col][row] <- ot c + sum_j p_j v_j[col], kChunk columns x kRowVecs row vectors of accumulators held in
//    registers over the block's keys, each step one broadcast value element.
// Every (row, key) product is one multiply-add in ascending key order, keys a row does not see are skipped or
// masked (a masked key's value never enters a sum: 0 * Inf would be NaN), and a block in which a row sees no key
// leaves its state bit for bit (c = 1, p = 0): each row's result does not depend on the other rows of its tile,
// so neither on how rows are grouped into calls.
constexpr int64_t kRowVecs = 2;
// Accumulators per product: kChunk x kRowVecs = 16 of the 32 vector registers of AVX-512, 12 of 16 elsewhere.
constexpr int64_t kChunk = HWY_MAX_BYTES >= 64 ? 8 : 6;
constexpr int64_t kKeyBlock = 64;

// A per-thread 64-byte aligned scratch of at least n floats.
float* Scratch(size_t n) {
  thread_local hwy::AlignedFreeUniquePtr<float[]> buf;
  thread_local size_t size = 0;
  if (n > size) {
    buf = hwy::AllocateAligned<float>(n);
    size = n;
  }
  return buf.get();
}

// exp(x) for x <= 0, -inf and NaN (the softmax's s - max): 2^n e^r with n = round(x / ln 2), r = x - n ln 2 (ln 2
// in two parts, as Highway's Exp), e^r by a degree-6 minimax polynomial on |r| <= ln 2 / 2 (relative error 2e-9,
// 1e-7 evaluated in f32); 0 below -87 (where exp(x) is subnormal: a probability below 1e-38 of the row's largest)
// and NaN for NaN (Highway's Exp gives 0), so that a NaN or +inf score (s - max = NaN) makes its row's normaliser
// NaN.
HWY_INLINE V ExpNonPositive(D d, V x) {
  const V kShifter = hn::Set(d, 12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer (|x / ln 2| < 2^22)
  const V t = hn::MulAdd(x, hn::Set(d, 1.442695040888963407359924681f), kShifter);
  const V n = hn::Sub(t, kShifter);
  V r = hn::MulAdd(n, hn::Set(d, -0.693145751953125f), x);
  r = hn::MulAdd(n, hn::Set(d, -1.428606765330187045e-6f), r);
  V er = hn::Set(d, 0.0013843653723597527f);
  er = hn::MulAdd(er, r, hn::Set(d, 0.00837415549904108f));
  er = hn::MulAdd(er, r, hn::Set(d, 0.04166800156235695f));
  er = hn::MulAdd(er, r, hn::Set(d, 0.16666431725025177f));
  er = hn::MulAdd(er, r, hn::Set(d, 0.4999999403953552f));
  er = hn::MulAdd(er, r, hn::Set(d, 1.0f));
  er = hn::MulAdd(er, r, hn::Set(d, 1.0f));
#if HWY_TARGET <= HWY_AVX3
  const V y{_mm512_scalef_ps(er.raw, n.raw)};  // er 2^n in one instruction
#else
  // t's low mantissa bits hold n + 2^22 (n in [-126, 0] here): the exponent field of 2^n is n + 127.
  const hn::RebindToSigned<D> di;
  const auto e = hn::Sub(hn::BitCast(di, t), hn::Set(di, 0x4B400000 - 127));
  const V y = hn::Mul(er, hn::BitCast(d, hn::ShiftLeft<23>(e)));
#endif
  return hn::IfThenZeroElse(hn::Lt(x, hn::Set(d, -87.0f)), y);
}

// What turns a tile's dot products into its scores: scale, soft-cap, and per lane its row and first key.
struct ScoreParams {
  V scale, cap, inv_cap;
  bool capped;
  V row[kRowVecs], first[kRowVecs];  // as float (exact below 2^24)
};

// st[u][row] = score of (row, key j + u) for u < n (u < J: key index clamped to jmax, never used), the running
// maximum vmax over them; kMasked: scores of the pairs outside the rows' causal windows are -inf and vis[u] marks
// the visible pairs.
template <int64_t J, bool kMasked>
HWY_INLINE void ScoresChunk(const FlashHead& h, const ScoreParams& sp, const float* HWY_RESTRICT qt, int64_t j,
                            int64_t n, int64_t jmax, float* HWY_RESTRICT st, M (*vis)[kRowVecs], V* vmax) {
  const D d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), RT = kRowVecs * L;
  const float* kr[J];
  for (int64_t u = 0; u < J; ++u) kr[u] = h.k + std::min(j + u, jmax) * h.ldk;
  V acc[J][kRowVecs];
  for (int64_t u = 0; u < J; ++u)
    for (int64_t rv = 0; rv < kRowVecs; ++rv) acc[u][rv] = hn::Zero(d);
  for (int64_t c = 0; c < h.hd; ++c) {
    V q[kRowVecs];
    for (int64_t rv = 0; rv < kRowVecs; ++rv) q[rv] = hn::Load(d, qt + c * RT + rv * L);
    for (int64_t u = 0; u < J; ++u) {
      const V kb = hn::Set(d, kr[u][c]);
      for (int64_t rv = 0; rv < kRowVecs; ++rv) acc[u][rv] = hn::MulAdd(q[rv], kb, acc[u][rv]);
    }
  }
  for (int64_t u = 0; u < J && u < n; ++u) {
    const V key = hn::Set(d, static_cast<float>(j + u));
    for (int64_t rv = 0; rv < kRowVecs; ++rv) {
      V s = hn::Mul(acc[u][rv], sp.scale);
      if (sp.capped) s = hn::Mul(sp.cap, hn::Tanh(d, hn::Mul(s, sp.inv_cap)));
      if (kMasked) {
        vis[u][rv] = hn::And(hn::Le(key, sp.row[rv]), hn::Ge(key, sp.first[rv]));
        s = hn::IfThenElse(vis[u][rv], s, hn::Set(d, -std::numeric_limits<float>::infinity()));
      }
      vmax[rv] = hn::Max(vmax[rv], s);
      hn::Store(s, d, st + u * RT + rv * L);
    }
  }
}

// ot[c0 .. c0 + C)[rows] <- ot corr + sum over keys jj in [jlo, jhi) of p[jj][row] v_{j0 + jj}[c]; kMasked: only
// the (row, key) pairs vis marks enter the sums.
template <int64_t C, bool kMasked>
HWY_INLINE void AddValuesChunk(const FlashHead& h, int64_t j0, int64_t jlo, int64_t jhi, const float* HWY_RESTRICT p,
                               const V* corr, const M (*vis)[kRowVecs], int64_t c0, float* HWY_RESTRICT ot) {
  const D d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), RT = kRowVecs * L;
  V acc[C][kRowVecs];
  for (int64_t cc = 0; cc < C; ++cc)
    for (int64_t rv = 0; rv < kRowVecs; ++rv) acc[cc][rv] = hn::Mul(hn::Load(d, ot + (c0 + cc) * RT + rv * L), corr[rv]);
  const float* vr = h.v + j0 * h.ldv + c0;
  for (int64_t jj = jlo; jj < jhi; ++jj) {
    V pj[kRowVecs];
    for (int64_t rv = 0; rv < kRowVecs; ++rv) pj[rv] = hn::Load(d, p + jj * RT + rv * L);
    const float* vj = vr + jj * h.ldv;
    for (int64_t cc = 0; cc < C; ++cc) {
      const V vb = hn::Set(d, vj[cc]);
      for (int64_t rv = 0; rv < kRowVecs; ++rv) {
        const V sum = hn::MulAdd(pj[rv], vb, acc[cc][rv]);
        acc[cc][rv] = kMasked ? hn::IfThenElse(vis[jj][rv], sum, acc[cc][rv]) : sum;
      }
    }
  }
  for (int64_t cc = 0; cc < C; ++cc)
    for (int64_t rv = 0; rv < kRowVecs; ++rv) hn::Store(acc[cc][rv], d, ot + (c0 + cc) * RT + rv * L);
}

// All hd columns: chunks of kChunk columns, then 4, 2, 1.
template <bool kMasked>
HWY_INLINE void AddValues(const FlashHead& h, int64_t j0, int64_t jlo, int64_t jhi, const float* HWY_RESTRICT p,
                          const V* corr, const M (*vis)[kRowVecs], float* HWY_RESTRICT ot) {
  int64_t c = 0;
  for (; c + kChunk <= h.hd; c += kChunk) AddValuesChunk<kChunk, kMasked>(h, j0, jlo, jhi, p, corr, vis, c, ot);
  if (kChunk > 4 && c + 4 <= h.hd) {
    AddValuesChunk<4, kMasked>(h, j0, jlo, jhi, p, corr, vis, c, ot);
    c += 4;
  }
  if (c + 2 <= h.hd) {
    AddValuesChunk<2, kMasked>(h, j0, jlo, jhi, p, corr, vis, c, ot);
    c += 2;
  }
  if (c < h.hd) AddValuesChunk<1, kMasked>(h, j0, jlo, jhi, p, corr, vis, c, ot);
}

void FlashRows(const FlashHead& h, int64_t i0, int64_t i1) {
  const D d;
  const DI di;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), RT = kRowVecs * L, hd = h.hd;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (!(h.extra < kInf)) {  // a NaN or +inf extra logit: every row NaN, as in the two-pass softmax
    for (int64_t i = i0; i < i1; ++i)
      std::fill(h.out + i * h.ldo, h.out + i * h.ldo + hd, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  float* qt = Scratch(static_cast<size_t>((2 * hd + kKeyBlock + kChunk) * RT));
  float* ot = qt + hd * RT;
  float* st = ot + hd * RT;  // scores, then probabilities, of the block: [kKeyBlock (+ chunk padding)][RT]
  auto first_key = [&](int64_t i) { return h.window > 0 ? std::max<int64_t>(0, i - h.window + 1) : int64_t{0}; };
  const V neg_inf = hn::Set(d, -kInf), one = hn::Set(d, 1.0f);
  ScoreParams sp;
  sp.scale = hn::Set(d, h.scale);
  sp.capped = h.softcap > 0.0f;
  sp.cap = hn::Set(d, h.softcap);
  sp.inv_cap = hn::Set(d, sp.capped ? 1.0f / h.softcap : 0.0f);
  M vis[kKeyBlock + kChunk][kRowVecs];  // partial blocks: which (key, row) pairs are visible
  for (int64_t r0 = i0; r0 < i1; r0 += RT) {
    const int64_t rows = std::min(RT, i1 - r0), a = r0, b = r0 + rows - 1;  // lanes past `rows` repeat row b
    // Q^T of the tile, one gather of a query column per row vector.
    hn::Vec<DI> q_idx[kRowVecs];
    for (int64_t rv = 0; rv < kRowVecs; ++rv)
      q_idx[rv] = hn::Mul(hn::Min(hn::Iota(di, static_cast<int32_t>(rv * L)), hn::Set(di, static_cast<int32_t>(rows - 1))),
                          hn::Set(di, static_cast<int32_t>(h.ldq)));
    for (int64_t c = 0; c < hd; ++c)
      for (int64_t rv = 0; rv < kRowVecs; ++rv)
        hn::Store(hn::GatherIndex(d, h.q + r0 * h.ldq + c, q_idx[rv]), d, qt + c * RT + rv * L);
    std::fill(ot, ot + hd * RT, 0.0f);
    V m[kRowVecs], l[kRowVecs];
    for (int64_t rv = 0; rv < kRowVecs; ++rv) {
      const V row = hn::Min(hn::Iota(d, static_cast<float>(r0 + rv * L)), hn::Set(d, static_cast<float>(b)));
      sp.row[rv] = row;
      sp.first[rv] = h.window > 0 ? hn::Max(hn::Zero(d), hn::Sub(row, hn::Set(d, static_cast<float>(h.window - 1))))
                                  : hn::Zero(d);
      m[rv] = hn::Set(d, h.extra);
      l[rv] = hn::Set(d, h.extra == -kInf ? 0.0f : 1.0f);  // the extra logit's own exp(extra - m) with m = extra
    }
    const int64_t key_lo = first_key(a), all_lo = first_key(b);  // every row of the tile sees keys all_lo .. a
    for (int64_t j0 = key_lo / kKeyBlock * kKeyBlock; j0 <= b; j0 += kKeyBlock) {
      const int64_t jlo = std::max<int64_t>(0, key_lo - j0), jhi = std::min(kKeyBlock, b + 1 - j0);
      const bool partial = j0 + jlo < all_lo || j0 + jhi - 1 > a;
      V vmax[kRowVecs];
      for (int64_t rv = 0; rv < kRowVecs; ++rv) vmax[rv] = neg_inf;
      for (int64_t jj = jlo; jj < jhi; jj += kChunk) {
        if (partial) ScoresChunk<kChunk, true>(h, sp, qt, j0 + jj, jhi - jj, b, st + jj * RT, vis + jj, vmax);
        else ScoresChunk<kChunk, false>(h, sp, qt, j0 + jj, jhi - jj, b, st + jj * RT, vis + jj, vmax);
      }
      V corr[kRowVecs];
      for (int64_t rv = 0; rv < kRowVecs; ++rv) {
        float* s_rv = st + rv * L;
        const V m_new = hn::Max(m[rv], vmax[rv]);
        // A row that has seen nothing yet keeps m = -inf: subtract 0 instead (exp(-inf) = 0, no NaN).
        const V m_sub = hn::IfThenZeroElse(hn::Eq(m_new, neg_inf), m_new);
        corr[rv] = hn::IfThenElse(hn::Eq(m[rv], m_new), one, ExpNonPositive(d, hn::Sub(m[rv], m_sub)));
        V sum = hn::Zero(d);
        for (int64_t jj = jlo; jj < jhi; ++jj) {
          const V e = ExpNonPositive(d, hn::Sub(hn::Load(d, s_rv + jj * RT), m_sub));
          sum = hn::Add(sum, e);
          hn::Store(e, d, s_rv + jj * RT);
        }
        l[rv] = hn::MulAdd(l[rv], corr[rv], sum);
        m[rv] = m_new;
      }
      if (partial) AddValues<true>(h, j0, jlo, jhi, st, corr, vis, ot);
      else AddValues<false>(h, j0, jlo, jhi, st, corr, vis, ot);
    }
    // out = ot / l; a row whose keys all have probability 0 and no extra logit (l = 0) is zeros; a NaN or +inf
    // score made l NaN, and so the row.
    for (int64_t rv = 0; rv < kRowVecs; ++rv) {
      const V inv = hn::Div(one, l[rv]);
      const M none = hn::Eq(l[rv], hn::Zero(d));
      for (int64_t c = 0; c < hd; ++c) {
        float* o = ot + c * RT + rv * L;
        hn::Store(hn::IfThenZeroElse(none, hn::Mul(hn::Load(d, o), inv)), d, o);
      }
    }
    const int64_t hd_vec = hd / L * L;
    const hn::Vec<DI> col_idx = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(RT)));
    for (int64_t t = 0; t < rows; ++t) {  // each output row gathered from its lane of ot
      float* o = h.out + (r0 + t) * h.ldo;
      int64_t c = 0;
      for (; c < hd_vec; c += L) hn::StoreU(hn::GatherIndex(d, ot + c * RT + t, col_idx), d, o + c);
      for (; c < hd; ++c) o[c] = ot[c * RT + t];
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace engine
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cmath>

namespace qh::engine {

HWY_EXPORT(FlashRows);

void flash_attention_rows(const FlashHead& h, int64_t i0, int64_t i1) {
  if (i1 > i0) HWY_DYNAMIC_DISPATCH(FlashRows)(h, i0, i1);
}

// The plain definition: all scores of the row (dot products summed in double, held as f32 like the engine's
// scores), soft-cap, mask, two-pass softmax with the extra logit, then the probability-weighted sum of the
// visible values.
void flash_attention_rows_reference(const FlashHead& h, int64_t i0, int64_t i1) {
  std::vector<double> s;
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t first = h.window > 0 ? std::max<int64_t>(0, i - h.window + 1) : 0;
    s.assign(i + 1 - first, 0.0);
    double mx = h.extra;
    for (int64_t j = first; j <= i; ++j) {
      double dot = 0;
      for (int64_t c = 0; c < h.hd; ++c) dot += static_cast<double>(h.q[i * h.ldq + c]) * h.k[j * h.ldk + c];
      dot = static_cast<double>(static_cast<float>(dot)) * h.scale;  // scores are f32: q.k may overflow to inf
      if (h.softcap > 0.0f) dot = h.softcap * std::tanh(dot / h.softcap);
      s[j - first] = dot;
      mx = std::max(mx, dot);
    }
    float* o = h.out + i * h.ldo;
    if (std::isinf(mx) && mx < 0) {
      std::fill(o, o + h.hd, 0.0f);
      continue;
    }
    double z = std::exp(static_cast<double>(h.extra) - mx);
    for (double& x : s) {
      x = std::exp(x - mx);
      z += x;
    }
    for (int64_t c = 0; c < h.hd; ++c) {
      double sum = 0;
      for (int64_t j = first; j <= i; ++j) sum += s[j - first] * h.v[j * h.ldv + c];
      o[c] = static_cast<float>(sum / z);
    }
  }
}

}  // namespace qh::engine
#endif  // HWY_ONCE
