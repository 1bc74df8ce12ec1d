// Highway kernel of flash_attention.h, compiled once per target through foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/engine/flash_attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <limits>
#include <vector>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "src/engine/flash_attention.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace engine {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Keys are taken in blocks of kVecs vectors (KB = kVecs * L keys), transposed once into kt[d][KB] and shared by
// all query rows of the call: row i's scores are sum_d q_i[d] * kt[d][:] (kVecs independent multiply-add chains
// of a broadcast). Per row and key block: new maximum m', p = exp(s - m'), correction c = exp(m - m'),
// l <- l c + sum p, acc <- acc c + sum_j p_j v_j over the row's visible keys only (a masked key's value never
// enters a sum). Blocks of several vectors amortise the reductions and the correction over many keys.
constexpr int64_t kVecs = 4;

using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

// acc[c..hd) += sum_{jj in [jlo, jhi)} p[jj] v_{j0+jj}[c..hd): four vectors of columns at a time (four
// independent multiply-add chains over the keys), then single vectors, then single columns.
void AddValues(const FlashHead& h, int64_t j0, float* acc, const float* p, int64_t jlo, int64_t jhi, int64_t c) {
  if (jhi <= jlo) return;
  const D d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), hd_vec = h.hd / L * L;
  for (; c + 4 * L <= hd_vec; c += 4 * L) {
    V a0 = hn::LoadU(d, acc + c), a1 = hn::LoadU(d, acc + c + L);
    V a2 = hn::LoadU(d, acc + c + 2 * L), a3 = hn::LoadU(d, acc + c + 3 * L);
    for (int64_t jj = jlo; jj < jhi; ++jj) {
      const V pj = hn::Set(d, p[jj]);
      const float* vr = h.v + (j0 + jj) * h.ldv + c;
      a0 = hn::MulAdd(pj, hn::LoadU(d, vr), a0);
      a1 = hn::MulAdd(pj, hn::LoadU(d, vr + L), a1);
      a2 = hn::MulAdd(pj, hn::LoadU(d, vr + 2 * L), a2);
      a3 = hn::MulAdd(pj, hn::LoadU(d, vr + 3 * L), a3);
    }
    hn::StoreU(a0, d, acc + c);
    hn::StoreU(a1, d, acc + c + L);
    hn::StoreU(a2, d, acc + c + 2 * L);
    hn::StoreU(a3, d, acc + c + 3 * L);
  }
  for (; c < hd_vec; c += L) {
    V a = hn::LoadU(d, acc + c);
    for (int64_t jj = jlo; jj < jhi; ++jj)
      a = hn::MulAdd(hn::Set(d, p[jj]), hn::LoadU(d, h.v + (j0 + jj) * h.ldv + c), a);
    hn::StoreU(a, d, acc + c);
  }
  for (; c < h.hd; ++c) {
    float a = acc[c];
    for (int64_t jj = jlo; jj < jhi; ++jj) a += p[jj] * h.v[(j0 + jj) * h.ldv + c];
    acc[c] = a;
  }
}

// The same for two rows over keys both see, two vectors of columns at a time (each value load feeds both
// rows); returns the first column it did not cover (AddValues does the rest).
int64_t AddValuesPair(const FlashHead& h, int64_t j0, float* acc_a, const float* pa, float* acc_b, const float* pb,
                      int64_t jlo, int64_t jhi) {
  if (jhi <= jlo) return h.hd;
  const D d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), hd_vec = h.hd / L * L;
  int64_t c = 0;
  for (; c + 2 * L <= hd_vec; c += 2 * L) {
    V a0 = hn::LoadU(d, acc_a + c), a1 = hn::LoadU(d, acc_a + c + L);
    V b0 = hn::LoadU(d, acc_b + c), b1 = hn::LoadU(d, acc_b + c + L);
    for (int64_t jj = jlo; jj < jhi; ++jj) {
      const V paj = hn::Set(d, pa[jj]), pbj = hn::Set(d, pb[jj]);
      const float* vr = h.v + (j0 + jj) * h.ldv + c;
      const V v0 = hn::LoadU(d, vr), v1 = hn::LoadU(d, vr + L);
      a0 = hn::MulAdd(paj, v0, a0);
      a1 = hn::MulAdd(paj, v1, a1);
      b0 = hn::MulAdd(pbj, v0, b0);
      b1 = hn::MulAdd(pbj, v1, b1);
    }
    hn::StoreU(a0, d, acc_a + c);
    hn::StoreU(a1, d, acc_a + c + L);
    hn::StoreU(b0, d, acc_b + c);
    hn::StoreU(b1, d, acc_b + c + L);
  }
  return c;
}

void FlashRows(const FlashHead& h, int64_t i0, int64_t i1) {
  const D d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), KB = kVecs * L;
  const int64_t hd = h.hd, R = i1 - i0;
  const int64_t hd_vec = hd / L * L;  // value columns in full vectors; the rest one by one
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  thread_local std::vector<float> kt, raw, acc, m, l, p, probs;
  thread_local std::vector<int64_t> lo, hi;
  kt.resize(hd * KB);
  raw.resize(R * KB);
  probs.resize(R * KB);
  lo.resize(R);
  hi.resize(R);
  acc.assign(R * hd, 0.0f);
  m.assign(R, h.extra);
  l.assign(R, h.extra == kNegInf ? 0.0f : 1.0f);  // the extra logit's own exp(extra - m) with m = extra
  p.resize(KB);
  auto first_key = [&](int64_t i) { return h.window > 0 ? std::max<int64_t>(0, i - h.window + 1) : int64_t{0}; };
  const int64_t j_start = first_key(i0) / KB * KB;
  const V neg_inf = hn::Set(d, kNegInf), vscale = hn::Set(d, h.scale);
  const bool capped = h.softcap > 0.0f;
  const V vcap = hn::Set(d, h.softcap), vinv_cap = hn::Set(d, capped ? 1.0f / h.softcap : 0.0f);
  for (int64_t j0 = j_start; j0 < i1; j0 += KB) {
    const int64_t nk = std::min(KB, i1 - j0);  // keys j0 .. j0 + nk - 1 exist for this block of rows
    for (int64_t jj = 0; jj < KB; ++jj) {
      if (jj >= nk) {
        for (int64_t c = 0; c < hd; ++c) kt[c * KB + jj] = 0.0f;
        continue;
      }
      const float* kr = h.k + (j0 + jj) * h.ldk;
      for (int64_t c = 0; c < hd; ++c) kt[c * KB + jj] = kr[c];
    }
    // Raw scores of the block, two rows at a time: each load of kt feeds both rows' multiply-adds.
    for (int64_t r = 0; r < R; r += 2) {
      const int64_t ia = i0 + r, ib = std::min(i0 + r + 1, i1 - 1);
      if (j0 > ib || j0 + KB <= first_key(ia)) continue;  // neither row sees a key of this block
      const float* qa = h.q + ia * h.ldq;
      const float* qb = h.q + ib * h.ldq;
      V sa[kVecs], sb[kVecs];
      for (int64_t u = 0; u < kVecs; ++u) sa[u] = sb[u] = hn::Zero(d);
      for (int64_t c = 0; c < hd; ++c) {
        const V qac = hn::Set(d, qa[c]), qbc = hn::Set(d, qb[c]);
        const float* kc = kt.data() + c * KB;
        for (int64_t u = 0; u < kVecs; ++u) {
          const V kv = hn::LoadU(d, kc + u * L);
          sa[u] = hn::MulAdd(qac, kv, sa[u]);
          sb[u] = hn::MulAdd(qbc, kv, sb[u]);
        }
      }
      for (int64_t u = 0; u < kVecs; ++u) {
        hn::StoreU(sa[u], d, raw.data() + r * KB + u * L);
        if (ib > ia) hn::StoreU(sb[u], d, raw.data() + (r + 1) * KB + u * L);
      }
    }
    for (int64_t r = 0; r < R; ++r) {
      const int64_t i = i0 + r, first = first_key(i);
      lo[r] = hi[r] = 0;  // no value to add unless the row sees a key of this block
      if (j0 > i || j0 + KB <= first) continue;
      V s[kVecs];
      for (int64_t u = 0; u < kVecs; ++u) s[u] = hn::LoadU(d, raw.data() + r * KB + u * L);
      const V vi = hn::Set(d, static_cast<float>(i)), vfirst = hn::Set(d, static_cast<float>(first));
      V vmax = neg_inf;
      bool finite = true;  // a NaN or +inf score (overflowing q.k) makes the row NaN, as the two-pass softmax does
      for (int64_t u = 0; u < kVecs; ++u) {
        s[u] = hn::Mul(s[u], vscale);
        if (capped) s[u] = hn::Mul(vcap, hn::Tanh(d, hn::Mul(s[u], vinv_cap)));
        const V idx = hn::Iota(d, static_cast<float>(j0 + u * L));  // key positions (exact below 2^24)
        s[u] = hn::IfThenElse(hn::Or(hn::Gt(idx, vi), hn::Lt(idx, vfirst)), neg_inf, s[u]);
        finite = finite && hn::AllTrue(d, hn::Lt(s[u], hn::Set(d, std::numeric_limits<float>::infinity())));
        vmax = hn::Max(vmax, s[u]);
      }
      if (!finite) {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        m[r] = l[r] = nan;  // every later block keeps the row NaN
        std::fill(acc.data() + r * hd, acc.data() + (r + 1) * hd, nan);
        continue;
      }
      const float m_new = std::max(m[r], hn::GetLane(hn::MaxOfLanes(d, vmax)));
      if (m_new == kNegInf) continue;  // nothing visible yet
      const V vm = hn::Set(d, m_new);
      V vsum = hn::Zero(d);
      for (int64_t u = 0; u < kVecs; ++u) {
        const V e = hn::Exp(d, hn::Sub(s[u], vm));
        vsum = hn::Add(vsum, e);
        hn::StoreU(e, d, p.data() + u * L);
      }
      const float corr = hn::GetLane(hn::Exp(d, hn::Set(d, m[r] - m_new)));  // exp(-inf) = 0 on the first block
      l[r] = l[r] * corr + hn::GetLane(hn::SumOfLanes(d, vsum));
      m[r] = m_new;
      float* ar = acc.data() + r * hd;
      const V vc = hn::Set(d, corr);
      int64_t c = 0;
      for (; c < hd_vec; c += L) hn::StoreU(hn::Mul(hn::LoadU(d, ar + c), vc), d, ar + c);
      for (; c < hd; ++c) ar[c] *= corr;
      std::copy(p.data(), p.data() + KB, probs.data() + r * KB);
      lo[r] = std::max<int64_t>(0, first - j0);
      hi[r] = std::min(nk, i - j0 + 1);
    }
    // acc += sum_j p_j v_j over each row's visible keys, two rows at a time over the keys both see (each value
    // load feeds both rows), the rest of each row's keys alone.
    for (int64_t r = 0; r < R; r += 2) {
      const bool pair = r + 1 < R && hi[r] > lo[r] && hi[r + 1] > lo[r + 1];
      if (!pair) {
        AddValues(h, j0, acc.data() + r * hd, probs.data() + r * KB, lo[r], hi[r], 0);
        if (r + 1 < R) AddValues(h, j0, acc.data() + (r + 1) * hd, probs.data() + (r + 1) * KB, lo[r + 1], hi[r + 1], 0);
        continue;
      }
      const int64_t both_lo = std::max(lo[r], lo[r + 1]), both_hi = std::max(both_lo, std::min(hi[r], hi[r + 1]));
      float* aa = acc.data() + r * hd;
      float* ab = acc.data() + (r + 1) * hd;
      const float* pa = probs.data() + r * KB;
      const float* pb = probs.data() + (r + 1) * KB;
      const int64_t c_done = AddValuesPair(h, j0, aa, pa, ab, pb, both_lo, both_hi);
      AddValues(h, j0, aa, pa, both_lo, both_hi, c_done);  // columns the pair kernel left
      AddValues(h, j0, ab, pb, both_lo, both_hi, c_done);
      for (int64_t q = r; q <= r + 1; ++q) {  // keys only one of the two rows sees
        float* aq = acc.data() + q * hd;
        const float* pq = probs.data() + q * KB;
        AddValues(h, j0, aq, pq, lo[q], std::min(hi[q], both_lo), 0);
        AddValues(h, j0, aq, pq, std::max(lo[q], both_hi), hi[q], 0);
      }
    }
  }
  for (int64_t r = 0; r < R; ++r) {
    float* o = h.out + (i0 + r) * h.ldo;
    const float* ar = acc.data() + r * hd;
    if (l[r] == 0.0f) {  // no visible key and no extra logit
      std::fill(o, o + hd, 0.0f);
      continue;
    }
    const float inv = 1.0f / l[r];
    for (int64_t c = 0; c < hd; ++c) o[c] = ar[c] * inv;
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
