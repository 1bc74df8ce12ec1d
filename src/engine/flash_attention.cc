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

void FlashRows(const FlashHead& h, int64_t i0, int64_t i1) {
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d)), KB = kVecs * L;
  const int64_t hd = h.hd, R = i1 - i0;
  const int64_t hd_vec = hd / L * L;  // value columns in full vectors; the rest one by one
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  thread_local std::vector<float> kt, acc, m, l, p;
  kt.resize(hd * KB);
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
    for (int64_t r = 0; r < R; ++r) {
      const int64_t i = i0 + r, first = first_key(i);
      if (j0 > i || j0 + KB <= first) continue;  // no key of this block is visible from row i
      const float* qr = h.q + i * h.ldq;
      V s[kVecs];
      for (int64_t u = 0; u < kVecs; ++u) s[u] = hn::Zero(d);
      for (int64_t c = 0; c < hd; ++c) {
        const V qc = hn::Set(d, qr[c]);
        const float* kc = kt.data() + c * KB;
        for (int64_t u = 0; u < kVecs; ++u) s[u] = hn::MulAdd(qc, hn::LoadU(d, kc + u * L), s[u]);
      }
      const V vi = hn::Set(d, static_cast<float>(i)), vfirst = hn::Set(d, static_cast<float>(first));
      V vmax = neg_inf;
      for (int64_t u = 0; u < kVecs; ++u) {
        s[u] = hn::Mul(s[u], vscale);
        if (capped) s[u] = hn::Mul(vcap, hn::Tanh(d, hn::Mul(s[u], vinv_cap)));
        const V idx = hn::Iota(d, static_cast<float>(j0 + u * L));  // key positions (exact below 2^24)
        s[u] = hn::IfThenElse(hn::Or(hn::Gt(idx, vi), hn::Lt(idx, vfirst)), neg_inf, s[u]);
        vmax = hn::Max(vmax, s[u]);
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
      const int64_t jj0 = std::max<int64_t>(0, first - j0), jj1 = std::min(nk, i - j0 + 1);
      // acc <- acc * corr + sum_j p_j v_j with the value columns in registers: four vectors of columns at a time
      // (four independent multiply-add chains over the keys), then single vectors, then single columns.
      const V vc = hn::Set(d, corr);
      int64_t c = 0;
      for (; c + 4 * L <= hd_vec; c += 4 * L) {
        V a0 = hn::Mul(hn::LoadU(d, ar + c), vc), a1 = hn::Mul(hn::LoadU(d, ar + c + L), vc);
        V a2 = hn::Mul(hn::LoadU(d, ar + c + 2 * L), vc), a3 = hn::Mul(hn::LoadU(d, ar + c + 3 * L), vc);
        for (int64_t jj = jj0; jj < jj1; ++jj) {
          const V pj = hn::Set(d, p[jj]);
          const float* vr = h.v + (j0 + jj) * h.ldv + c;
          a0 = hn::MulAdd(pj, hn::LoadU(d, vr), a0);
          a1 = hn::MulAdd(pj, hn::LoadU(d, vr + L), a1);
          a2 = hn::MulAdd(pj, hn::LoadU(d, vr + 2 * L), a2);
          a3 = hn::MulAdd(pj, hn::LoadU(d, vr + 3 * L), a3);
        }
        hn::StoreU(a0, d, ar + c);
        hn::StoreU(a1, d, ar + c + L);
        hn::StoreU(a2, d, ar + c + 2 * L);
        hn::StoreU(a3, d, ar + c + 3 * L);
      }
      for (; c < hd_vec; c += L) {
        V a = hn::Mul(hn::LoadU(d, ar + c), vc);
        for (int64_t jj = jj0; jj < jj1; ++jj)
          a = hn::MulAdd(hn::Set(d, p[jj]), hn::LoadU(d, h.v + (j0 + jj) * h.ldv + c), a);
        hn::StoreU(a, d, ar + c);
      }
      for (; c < hd; ++c) {
        float a = ar[c] * corr;
        for (int64_t jj = jj0; jj < jj1; ++jj) a += p[jj] * h.v[(j0 + jj) * h.ldv + c];
        ar[c] = a;
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

// The plain definition: all scores of the row in double, soft-cap, mask, two-pass softmax with the extra logit,
// then the probability-weighted sum of the visible values.
void flash_attention_rows_reference(const FlashHead& h, int64_t i0, int64_t i1) {
  std::vector<double> s;
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t first = h.window > 0 ? std::max<int64_t>(0, i - h.window + 1) : 0;
    s.assign(i + 1 - first, 0.0);
    double mx = h.extra;
    for (int64_t j = first; j <= i; ++j) {
      double dot = 0;
      for (int64_t c = 0; c < h.hd; ++c) dot += static_cast<double>(h.q[i * h.ldq + c]) * h.k[j * h.ldk + c];
      dot *= h.scale;
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
