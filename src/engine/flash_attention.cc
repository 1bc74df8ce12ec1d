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
constexpr int64_t kChunk = HWY_MAX_BYTES >= 64 ? 8 : 4;  // 32 vector registers (AVX-512) or 16
constexpr int64_t kKeyBlock = 32;

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

// st[u][row] = q_row . k_{j + u} for u < J (key indices clamped to jmax: the block's padding keys, never used).
template <int64_t J>
HWY_INLINE void ScoresChunk(const FlashHead& h, const float* HWY_RESTRICT qt, int64_t j, int64_t jmax,
                            float* HWY_RESTRICT st) {
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
  for (int64_t u = 0; u < J; ++u)
    for (int64_t rv = 0; rv < kRowVecs; ++rv) hn::Store(acc[u][rv], d, st + u * RT + rv * L);
}

// ot[c0 .. c0 + C)[rows] <- ot corr + sum over keys jj in [jlo, jhi) of p[jj][row] v_{j0 + jj}[c]; with vis,
// only the (row, key) pairs it marks enter the sums.
template <int64_t C>
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
        acc[cc][rv] = vis ? hn::IfThenElse(vis[jj][rv], sum, acc[cc][rv]) : sum;
      }
    }
  }
  for (int64_t cc = 0; cc < C; ++cc)
    for (int64_t rv = 0; rv < kRowVecs; ++rv) hn::Store(acc[cc][rv], d, ot + (c0 + cc) * RT + rv * L);
}

void FlashRows(const FlashHead& h, int64_t i0, int64_t i1) {
  const D d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), RT = kRowVecs * L, hd = h.hd;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float* qt = Scratch(static_cast<size_t>((2 * hd + kKeyBlock + kChunk) * RT));
  float* ot = qt + hd * RT;
  float* st = ot + hd * RT;  // scores, then probabilities, of the block: [kKeyBlock (+ chunk padding)][RT]
  auto first_key = [&](int64_t i) { return h.window > 0 ? std::max<int64_t>(0, i - h.window + 1) : int64_t{0}; };
  const V neg_inf = hn::Set(d, -kInf), pos_inf = hn::Set(d, kInf), one = hn::Set(d, 1.0f);
  const V vscale = hn::Set(d, h.scale);
  const bool capped = h.softcap > 0.0f;
  const V vcap = hn::Set(d, h.softcap), vinv_cap = hn::Set(d, capped ? 1.0f / h.softcap : 0.0f);
  M vis[kKeyBlock][kRowVecs];  // partial blocks: which (key, row) pairs are visible
  for (int64_t r0 = i0; r0 < i1; r0 += RT) {
    const int64_t rows = std::min(RT, i1 - r0), a = r0, b = r0 + rows - 1;  // lanes past `rows` repeat row b
    for (int64_t t = 0; t < RT; ++t) {
      const float* q = h.q + std::min(r0 + t, b) * h.ldq;
      for (int64_t c = 0; c < hd; ++c) qt[c * RT + t] = q[c];
    }
    std::fill(ot, ot + hd * RT, 0.0f);
    V row[kRowVecs], first[kRowVecs], m[kRowVecs], l[kRowVecs];
    M bad[kRowVecs];
    for (int64_t rv = 0; rv < kRowVecs; ++rv) {
      row[rv] = hn::Min(hn::Iota(d, static_cast<float>(r0 + rv * L)), hn::Set(d, static_cast<float>(b)));
      first[rv] = h.window > 0 ? hn::Max(hn::Zero(d), hn::Sub(row[rv], hn::Set(d, static_cast<float>(h.window - 1))))
                               : hn::Zero(d);
      m[rv] = hn::Set(d, h.extra);
      l[rv] = hn::Set(d, h.extra == -kInf ? 0.0f : 1.0f);  // the extra logit's own exp(extra - m) with m = extra
      bad[rv] = hn::Not(hn::Lt(m[rv], pos_inf));           // a NaN or +inf extra logit: NaN rows
    }
    const int64_t key_lo = first_key(a), all_lo = first_key(b);  // every row of the tile sees keys all_lo .. a
    for (int64_t j0 = key_lo / kKeyBlock * kKeyBlock; j0 <= b; j0 += kKeyBlock) {
      const int64_t jlo = std::max<int64_t>(0, key_lo - j0), jhi = std::min(kKeyBlock, b + 1 - j0);
      const bool partial = j0 + jlo < all_lo || j0 + jhi - 1 > a;
      for (int64_t jj = jlo; jj < jhi; jj += kChunk) ScoresChunk<kChunk>(h, qt, j0 + jj, b, st + jj * RT);
      V corr[kRowVecs];
      for (int64_t rv = 0; rv < kRowVecs; ++rv) {
        float* s_rv = st + rv * L;
        V vmax = neg_inf;
        M nonfinite = hn::Not(hn::Lt(neg_inf, pos_inf));  // all false
        for (int64_t jj = jlo; jj < jhi; ++jj) {
          V s = hn::Mul(hn::Load(d, s_rv + jj * RT), vscale);
          if (capped) s = hn::Mul(vcap, hn::Tanh(d, hn::Mul(s, vinv_cap)));
          if (partial) {
            const V key = hn::Set(d, static_cast<float>(j0 + jj));  // exact below 2^24
            vis[jj][rv] = hn::And(hn::Le(key, row[rv]), hn::Ge(key, first[rv]));
            s = hn::IfThenElse(vis[jj][rv], s, neg_inf);
          }
          nonfinite = hn::Or(nonfinite, hn::Not(hn::Lt(s, pos_inf)));  // NaN or +inf: the row becomes NaN
          vmax = hn::Max(vmax, s);
          hn::Store(s, d, s_rv + jj * RT);
        }
        bad[rv] = hn::Or(bad[rv], nonfinite);
        const V m_new = hn::Max(m[rv], vmax);
        // A row that has seen nothing yet keeps m = -inf: subtract 0 instead (exp(-inf) = 0, no NaN).
        const V m_sub = hn::IfThenZeroElse(hn::Eq(m_new, neg_inf), m_new);
        corr[rv] = hn::IfThenElse(hn::Eq(m[rv], m_new), one, hn::Exp(d, hn::Sub(m[rv], m_sub)));
        V sum = hn::Zero(d);
        for (int64_t jj = jlo; jj < jhi; ++jj) {
          const V e = hn::Exp(d, hn::Sub(hn::Load(d, s_rv + jj * RT), m_sub));
          sum = hn::Add(sum, e);
          hn::Store(e, d, s_rv + jj * RT);
        }
        l[rv] = hn::MulAdd(l[rv], corr[rv], sum);
        m[rv] = m_new;
      }
      const M(*mask)[kRowVecs] = partial ? vis : nullptr;
      int64_t c = 0;
      for (; c + kChunk <= hd; c += kChunk) AddValuesChunk<kChunk>(h, j0, jlo, jhi, st, corr, mask, c, ot);
      if (kChunk > 4 && c + 4 <= hd) {
        AddValuesChunk<4>(h, j0, jlo, jhi, st, corr, mask, c, ot);
        c += 4;
      }
      if (c + 2 <= hd) {
        AddValuesChunk<2>(h, j0, jlo, jhi, st, corr, mask, c, ot);
        c += 2;
      }
      if (c < hd) AddValuesChunk<1>(h, j0, jlo, jhi, st, corr, mask, c, ot);
    }
    // out = ot / l; a row with no key and no extra logit (l = 0) is zeros, a row with a bad score NaN.
    const V nan = hn::Set(d, std::numeric_limits<float>::quiet_NaN());
    for (int64_t rv = 0; rv < kRowVecs; ++rv) {
      const V inv = hn::Div(one, l[rv]);
      const M none = hn::Eq(l[rv], hn::Zero(d));
      for (int64_t c = 0; c < hd; ++c) {
        float* o = ot + c * RT + rv * L;
        hn::Store(hn::IfThenElse(bad[rv], nan, hn::IfThenZeroElse(none, hn::Mul(hn::Load(d, o), inv))), d, o);
      }
    }
    for (int64_t t = 0; t < rows; ++t) {
      float* o = h.out + (r0 + t) * h.ldo;
      for (int64_t c = 0; c < hd; ++c) o[c] = ot[c * RT + t];
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
