// Highway kernel of hadamard.h, compiled once per target through foreach_target.h and dispatched once per
// call; the transforms built on it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/engine/hadamard.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <vector>

#include "hwy/highway.h"
#include "src/engine/hadamard.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace engine {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The whole transform on groups of kGroup = 4 rows held transposed in a scratch buffer: t[i * 4 + r] is value i
// of row r. A butterfly stage then works on runs of whole elements (4 floats each) whatever its stride: full
// vectors while they fit in the run, 4-lane vectors for the rest (on a row layout the strides shorter than a
// vector were scalar code); three stages are fused per pass over t (radix 8), the block product runs at full
// width too (BlockProductWide). Four rows per group keep the buffer of a wide row in L1 (n = 1536: 24 KB)
// and make the transposes interleaved stores and loads of full vectors (StoreInterleaved4 / LoadInterleaved4:
// 4 rows x N columns <-> N x 4 floats of t). The signs are applied on the way in (on the way out for the
// transpose), the 1/sqrt(p) scaling in the last butterfly pass. A group shorter than 4 rows is padded with zero
// rows; lanes do not interact and every value sees the same operations in the same order whatever the vector
// width, so each row gets the same bits whatever group, chunk, thread or target with the same FMA support it
// falls in. Order as in hadamard.h: signs, block B, butterflies, 1/sqrt(p) (transposed: butterflies,
// 1/sqrt(p), B^T, signs). block: m * m or null (m = 1); signs: n or null.
constexpr int64_t kGroup = 4;

// The 4 rows' values of columns [c, c + lanes) times those columns' signs.
template <class D, class V = hn::Vec<D>>
HWY_INLINE void MulSigns(D d, const float* HWY_RESTRICT signs, V& v0, V& v1, V& v2, V& v3) {
  const V s = hn::LoadU(d, signs);
  v0 = hn::Mul(v0, s);
  v1 = hn::Mul(v1, s);
  v2 = hn::Mul(v2, s);
  v3 = hn::Mul(v3, s);
}

// Rows r < k of the group (row r at x + r * ld), columns [c, c + lanes) times the signs, into t[c * 4 ...].
template <class D>
HWY_INLINE void GroupIn(D d, const float* HWY_RESTRICT x, int64_t k, int64_t ld, const float* HWY_RESTRICT signs,
                        int64_t c, float* HWY_RESTRICT t) {
  using V = hn::Vec<D>;
  const V z = hn::Zero(d);
  V v0 = hn::LoadU(d, x + c);
  V v1 = k > 1 ? hn::LoadU(d, x + ld + c) : z;
  V v2 = k > 2 ? hn::LoadU(d, x + 2 * ld + c) : z;
  V v3 = k > 3 ? hn::LoadU(d, x + 3 * ld + c) : z;
  if (signs) MulSigns(d, signs + c, v0, v1, v2, v3);
  hn::StoreInterleaved4(v0, v1, v2, v3, d, t + c * kGroup);
}

// The inverse: t[c * 4 ...] times the signs into rows r < k, columns [c, c + lanes).
template <class D>
HWY_INLINE void GroupOut(D d, const float* HWY_RESTRICT t, const float* HWY_RESTRICT signs, int64_t c, float* x,
                         int64_t k, int64_t ld) {
  using V = hn::Vec<D>;
  V v0, v1, v2, v3;
  hn::LoadInterleaved4(d, t + c * kGroup, v0, v1, v2, v3);
  if (signs) MulSigns(d, signs + c, v0, v1, v2, v3);
  hn::StoreU(v0, d, x + c);
  if (k > 1) hn::StoreU(v1, d, x + ld + c);
  if (k > 2) hn::StoreU(v2, d, x + 2 * ld + c);
  if (k > 3) hn::StoreU(v3, d, x + 3 * ld + c);
}

template <class V>
HWY_INLINE void Bfly(V& a, V& b) {
  const V s = hn::Add(a, b);
  b = hn::Sub(a, b);
  a = s;
}

// Three stages on eight vectors (elements k = 0..7 of stride h, 2h, 4h), then the scaling when scale.
template <class V>
HWY_INLINE void Radix8(V& v0, V& v1, V& v2, V& v3, V& v4, V& v5, V& v6, V& v7, bool scale, V vs) {
  Bfly(v0, v1), Bfly(v2, v3), Bfly(v4, v5), Bfly(v6, v7);
  Bfly(v0, v2), Bfly(v1, v3), Bfly(v4, v6), Bfly(v5, v7);
  Bfly(v0, v4), Bfly(v1, v5), Bfly(v2, v6), Bfly(v3, v7);
  if (scale) {
    v0 = hn::Mul(v0, vs), v1 = hn::Mul(v1, vs), v2 = hn::Mul(v2, vs), v3 = hn::Mul(v3, vs);
    v4 = hn::Mul(v4, vs), v5 = hn::Mul(v5, vs), v6 = hn::Mul(v6, vs), v7 = hn::Mul(v7, vs);
  }
}

// S = 1, 2 or 3 consecutive butterfly stages fused (radix 2, 4, 8) on the vectors at p + k * hs, k < 2^S:
// stage h pairs k and k ^ 1, stage 2h k and k ^ 2, stage 4h k and k ^ 4, each (a, b) <- (a + b, a - b) as in
// the stage-by-stage loops, so the bits are those of one stage at a time. Scaled by vscale when scale.
template <int S, class D>
HWY_INLINE void Radix(D d, float* HWY_RESTRICT p, int64_t hs, bool scale, float s) {
  using V = hn::Vec<D>;
  const V vs = hn::Set(d, s);
  if constexpr (S == 1) {
    V v0 = hn::LoadU(d, p), v1 = hn::LoadU(d, p + hs);
    Bfly(v0, v1);
    if (scale) v0 = hn::Mul(v0, vs), v1 = hn::Mul(v1, vs);
    hn::StoreU(v0, d, p);
    hn::StoreU(v1, d, p + hs);
  } else if constexpr (S == 2) {
    V v0 = hn::LoadU(d, p), v1 = hn::LoadU(d, p + hs), v2 = hn::LoadU(d, p + 2 * hs), v3 = hn::LoadU(d, p + 3 * hs);
    Bfly(v0, v1), Bfly(v2, v3);
    Bfly(v0, v2), Bfly(v1, v3);
    if (scale) v0 = hn::Mul(v0, vs), v1 = hn::Mul(v1, vs), v2 = hn::Mul(v2, vs), v3 = hn::Mul(v3, vs);
    hn::StoreU(v0, d, p);
    hn::StoreU(v1, d, p + hs);
    hn::StoreU(v2, d, p + 2 * hs);
    hn::StoreU(v3, d, p + 3 * hs);
  } else {
    V v0 = hn::LoadU(d, p), v1 = hn::LoadU(d, p + hs), v2 = hn::LoadU(d, p + 2 * hs), v3 = hn::LoadU(d, p + 3 * hs);
    V v4 = hn::LoadU(d, p + 4 * hs), v5 = hn::LoadU(d, p + 5 * hs), v6 = hn::LoadU(d, p + 6 * hs),
      v7 = hn::LoadU(d, p + 7 * hs);
    Radix8(v0, v1, v2, v3, v4, v5, v6, v7, scale, vs);
    hn::StoreU(v0, d, p), hn::StoreU(v1, d, p + hs), hn::StoreU(v2, d, p + 2 * hs), hn::StoreU(v3, d, p + 3 * hs);
    hn::StoreU(v4, d, p + 4 * hs), hn::StoreU(v5, d, p + 5 * hs), hn::StoreU(v6, d, p + 6 * hs),
        hn::StoreU(v7, d, p + 7 * hs);
  }
}

// S stages from stride h (in elements of e floats) over the p elements: runs of h * e floats (a multiple of 4),
// full vectors first, then 4-lane vectors.
template <int S>
void RadixPass(float* HWY_RESTRICT t, int64_t p, int64_t e, int64_t h, bool scale, float s) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 4> d4;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d)), N4 = static_cast<int64_t>(hn::Lanes(d4));
  const int64_t run = h * e;
  for (int64_t i = 0; i < p; i += h << S) {
    float* base = t + i * e;
    int64_t o = 0;
    for (; o + N <= run; o += N) Radix<S>(d, base + o, run, scale, s);
    for (; o < run; o += N4) Radix<S>(d4, base + o, run, scale, s);
  }
}

float InverseSqrt(int64_t p) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(p))); }

// The butterflies of H_p on p elements of e floats from stride h0 on (the stages below done), three stages per
// pass over t, then the scaling by 1/sqrt(p) in the last pass.
void Butterflies(float* HWY_RESTRICT t, int64_t p, int64_t e, int64_t h0) {
  const float s = InverseSqrt(p);
  for (int64_t h = h0; h < p;) {
    const int64_t left = p / h;  // 2^(stages left)
    const int stages = left >= 8 ? 3 : left == 4 ? 2 : 1;
    const bool last = (h << stages) == p;
    if (stages == 3) RadixPass<3>(t, p, e, h, last, s);
    else if (stages == 2) RadixPass<2>(t, p, e, h, last, s);
    else RadixPass<1>(t, p, e, h, last, s);
    h <<= stages;
  }
}

// v <- v B (or v B^T) on each block of m elements of 4 floats, in place: B's entries broadcast, one product of
// 4 rows per entry, accumulated in the order i = 0, 1, ... (tmp: m * 4 floats).
void BlockProductNarrow(float* HWY_RESTRICT t, int64_t n, int64_t m, const float* HWY_RESTRICT block,
                        bool transposed, float* HWY_RESTRICT tmp) {
  const hn::CappedTag<float, 4> d4;
  const int64_t N4 = static_cast<int64_t>(hn::Lanes(d4));
  const int64_t si = transposed ? 1 : m, sj = transposed ? m : 1;  // B or B^T
  for (int64_t a = 0; a < n; a += m) {
    float* v = t + a * kGroup;
    for (int64_t j = 0; j < m; ++j)
      for (int64_t r = 0; r < kGroup; r += N4) {
        auto acc = hn::Mul(hn::LoadU(d4, v + r), hn::Set(d4, block[j * sj]));
        for (int64_t i = 1; i < m; ++i)
          acc = hn::MulAdd(hn::LoadU(d4, v + i * kGroup + r), hn::Set(d4, block[i * si + j * sj]), acc);
        hn::StoreU(acc, d4, tmp + j * kGroup + r);
      }
    std::copy(tmp, tmp + m * kGroup, v);
  }
}

// The same product at full vector width, from t into out (n * 4 + lanes floats): a vector holds J = lanes / 4
// consecutive outputs j of one block for the 4 rows, each input element's 4 rows repeated J times (LoadDup128)
// times the J * 4 floats of wide at (i * wide_ld + j) * 4 (hadamard.h HadamardTransform::wide_), accumulated in the
// same order i = 0, 1, ... as the narrow form, so every lane gets the same bits. Lanes past output m - 1 of a
// block land in the next block's place in out, written afterwards (or in the padding).
template <class D>
void BlockProductWide(D d, const float* HWY_RESTRICT t, int64_t n, int64_t m, const float* HWY_RESTRICT wide,
                      int64_t wide_ld, float* HWY_RESTRICT out) {
  const int64_t J = static_cast<int64_t>(hn::Lanes(d)) / kGroup;
  for (int64_t a = 0; a < n; a += m) {
    const float* v = t + a * kGroup;
    for (int64_t j = 0; j < m; j += J) {
      auto acc = hn::Mul(hn::LoadDup128(d, v), hn::LoadU(d, wide + j * kGroup));
      for (int64_t i = 1; i < m; ++i)
        acc = hn::MulAdd(hn::LoadDup128(d, v + i * kGroup), hn::LoadU(d, wide + (i * wide_ld + j) * kGroup), acc);
      hn::StoreU(acc, d, out + (a + j) * kGroup);
    }
  }
}

// BlockProductWide for blocks of m <= J outputs (one vector per block) fused with the butterfly stages 1, 2, 4
// (p >= 8): eight consecutive blocks' products stay in registers for the three stages, whose operands are then
// full vectors (on t they are runs of m * 4 < lanes floats). Lanes past output m - 1 carry values nothing
// reads: each block's store is overwritten there by the next block's (or lands in the padding). The same
// operations in the same order as the two steps apart, so the same bits.
template <class D>
void BlockProductRadix8(D d, const float* HWY_RESTRICT t, int64_t n, int64_t m, const float* HWY_RESTRICT wide,
                        int64_t wide_ld, bool scale, float s, float* HWY_RESTRICT out) {
  using V = hn::Vec<D>;
  const V vs = hn::Set(d, s);
  const int64_t e = m * kGroup;  // floats per block
  const auto product = [&](const float* v) {
    V acc = hn::Mul(hn::LoadDup128(d, v), hn::LoadU(d, wide));
    for (int64_t i = 1; i < m; ++i)
      acc = hn::MulAdd(hn::LoadDup128(d, v + i * kGroup), hn::LoadU(d, wide + i * wide_ld * kGroup), acc);
    return acc;
  };
  for (int64_t a = 0; a < n * kGroup; a += 8 * e) {
    const float* v = t + a;
    V v0 = product(v), v1 = product(v + e), v2 = product(v + 2 * e), v3 = product(v + 3 * e);
    V v4 = product(v + 4 * e), v5 = product(v + 5 * e), v6 = product(v + 6 * e), v7 = product(v + 7 * e);
    Radix8(v0, v1, v2, v3, v4, v5, v6, v7, scale, vs);
    float* o = out + a;
    hn::StoreU(v0, d, o), hn::StoreU(v1, d, o + e), hn::StoreU(v2, d, o + 2 * e), hn::StoreU(v3, d, o + 3 * e);
    hn::StoreU(v4, d, o + 4 * e), hn::StoreU(v5, d, o + 5 * e), hn::StoreU(v6, d, o + 6 * e);
    hn::StoreU(v7, d, o + 7 * e);
  }
}

// wide: the block's entries repeated 4 times for BlockProductWide, or null (then the narrow form).
void RotateRows(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld, const float* block, const float* wide,
                int64_t wide_ld, const float* signs, bool transposed) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 4> d4;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d)), N4 = static_cast<int64_t>(hn::Lanes(d4));
  const int64_t p = n / m;
  const bool use_wide = block && wide && N >= kGroup && N % kGroup == 0 && wide_ld % (N / kGroup) == 0;
  const bool fuse_first_stages = use_wide && !transposed && m <= N / kGroup && p >= 8;
  thread_local std::vector<float> t_buf, out_buf;
  t_buf.resize(static_cast<size_t>(n * kGroup));
  out_buf.resize(static_cast<size_t>(block ? (use_wide ? n : m) * kGroup + N : 0));
  float* HWY_RESTRICT t = t_buf.data();
  const float* in_signs = transposed ? nullptr : signs;  // signs first, or last for the transpose
  const float* out_signs = transposed ? signs : nullptr;
  // The block product: into out_buf with the wide form (then read from there), else in place.
  const auto block_product = [&](float* v) -> float* {
    if (!block) return v;
    if (!use_wide) {
      BlockProductNarrow(v, n, m, block, transposed, out_buf.data());
      return v;
    }
    BlockProductWide(d, v, n, m, wide, wide_ld, out_buf.data());
    return out_buf.data();
  };

  for (int64_t g = 0; g < rows; g += kGroup) {
    const int64_t k = std::min(kGroup, rows - g);
    float* xg = x + g * ld;
    int64_t c = 0;
    for (; c + N <= n; c += N) GroupIn(d, xg, k, ld, in_signs, c, t);
    for (; c + N4 <= n; c += N4) GroupIn(d4, xg, k, ld, in_signs, c, t);
    for (; c < n; ++c)
      for (int64_t r = 0; r < kGroup; ++r) {
        const float v = r < k ? xg[r * ld + c] : 0.0f;
        t[c * kGroup + r] = in_signs ? v * in_signs[c] : v;
      }
    float* v = t;
    int64_t h0 = 1;  // the butterflies' first stride
    if (fuse_first_stages) {
      BlockProductRadix8(d, t, n, m, wide, wide_ld, p == 8, InverseSqrt(p), out_buf.data());
      v = out_buf.data();
      h0 = 8;
    } else if (!transposed) {
      v = block_product(t);
    }
    if (h0 < p) Butterflies(v, p, m * kGroup, h0);
    if (transposed) v = block_product(v);
    c = 0;
    for (; c + N <= n; c += N) GroupOut(d, v, out_signs, c, xg, k, ld);
    for (; c + N4 <= n; c += N4) GroupOut(d4, v, out_signs, c, xg, k, ld);
    for (; c < n; ++c)
      for (int64_t r = 0; r < k; ++r) xg[r * ld + c] = out_signs ? v[c * kGroup + r] * out_signs[c] : v[c * kGroup + r];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace engine
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cmath>

#include "src/core/error.h"
#include "src/engine/for_rows.h"

namespace qh::engine {

HWY_EXPORT(RotateRows);

namespace {
void check_shape(int64_t n, int64_t m, int64_t ld) {
  QH_CHECK(n >= 1 && m >= 1 && n % m == 0 && ld >= n);
  const int64_t p = n / m;
  QH_CHECK((p & (p - 1)) == 0);
}

const float* or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }
}  // namespace

int64_t pow2_factor(int64_t n) {
  QH_CHECK(n >= 1);
  return n & -n;
}

void fwht_rows(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld) {
  check_shape(n, m, ld);
  HWY_DYNAMIC_DISPATCH(RotateRows)(x, rows, n, m, ld, nullptr, nullptr, 0, nullptr, false);
}

void fwht_rows_reference(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld) {
  check_shape(n, m, ld);
  const int64_t p = n / m;
  std::vector<double> v(n);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    for (int64_t i = 0; i < n; ++i) v[i] = row[i];
    for (int64_t h = 1; h < p; h *= 2)
      for (int64_t i = 0; i < p; i += 2 * h)
        for (int64_t j = i; j < i + h; ++j)
          for (int64_t b = 0; b < m; ++b) {
            const double u = v[j * m + b], w = v[(j + h) * m + b];
            v[j * m + b] = u + w;
            v[(j + h) * m + b] = u - w;
          }
    const double s = 1.0 / std::sqrt(static_cast<double>(p));
    for (int64_t i = 0; i < n; ++i) row[i] = static_cast<float>(v[i] * s);
  }
}

HadamardTransform::HadamardTransform(int64_t n, int64_t m, std::vector<float> block, std::vector<float> signs)
    : n_(n), m_(m), block_(std::move(block)), signs_(std::move(signs)) {
  check_shape(n_, m_, n_);
  QH_CHECK(m_ == 1 ? block_.empty() || block_.size() == 1 : static_cast<int64_t>(block_.size()) == m_ * m_);
  if (m_ == 1) block_.clear();
  QH_CHECK(signs_.empty() || static_cast<int64_t>(signs_.size()) == n_);
  if (block_.empty() || m_ > kMaxWideBlock) return;
  // Entry (i, j) of B (and of B^T) at (i * wide_ld_ + j) * 4, repeated for the 4 rows of a group; rows padded
  // with zeros to a multiple of 16 outputs (whole vectors of J = lanes / 4 outputs up to 64 lanes).
  constexpr int64_t kOutputsAligned = 16;
  wide_ld_ = (m_ + kOutputsAligned - 1) / kOutputsAligned * kOutputsAligned;
  wide_.assign(static_cast<size_t>(m_ * wide_ld_ * 4), 0.0f);
  wide_t_.assign(wide_.size(), 0.0f);
  for (int64_t i = 0; i < m_; ++i)
    for (int64_t j = 0; j < m_; ++j)
      for (int64_t r = 0; r < 4; ++r) {
        wide_[(i * wide_ld_ + j) * 4 + r] = block_[i * m_ + j];
        wide_t_[(i * wide_ld_ + j) * 4 + r] = block_[j * m_ + i];
      }
}

// One row: x <- x (I_p (x) B) or x (I_p (x) B^T), each contiguous block of m values times B (or B^T), in
// double: the reference that dense() builds on (apply computes the same in RotateRows).
void HadamardTransform::apply_block(float* v, bool transposed) const {
  if (block_.empty()) return;
  const int64_t m = m_;
  // B or B^T.
  const int64_t si = transposed ? 1 : m, sj = transposed ? m : 1;
  const float* b = block_.data();
  thread_local std::vector<double> tmp;
  tmp.resize(m);
  for (int64_t a = 0; a < n_; a += m, v += m) {
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t i = 0; i < m; ++i) s += static_cast<double>(v[i]) * b[i * si + j * sj];
      tmp[j] = s;
    }
    for (int64_t j = 0; j < m; ++j) v[j] = static_cast<float>(tmp[j]);
  }
}

// Rows split over the threads, each part in one call of the dispatched kernel; every row is computed the same
// way whatever the split (see RotateRows).
void HadamardTransform::apply(float* x, int64_t rows, int64_t ld) const {
  if (empty()) return;
  QH_CHECK(ld >= n_);
  for_row_blocks(rows, n_ * (m_ + 8), [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(RotateRows)(x + r0 * ld, r1 - r0, n_, m_, ld, or_null(block_), or_null(wide_), wide_ld_,
                                     or_null(signs_), false);
  });
}

void HadamardTransform::apply_transposed(float* x, int64_t rows, int64_t ld) const {
  if (empty()) return;
  QH_CHECK(ld >= n_);
  for_row_blocks(rows, n_ * (m_ + 8), [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(RotateRows)(x + r0 * ld, r1 - r0, n_, m_, ld, or_null(block_), or_null(wide_t_), wide_ld_,
                                     or_null(signs_), true);  // H_p / sqrt(p) is symmetric
  });
}

std::vector<double> HadamardTransform::dense() const {
  // Row i of Q is e_i Q: the transform of the i-th unit row, computed in double by the reference butterflies.
  std::vector<double> q(n_ * n_);
  std::vector<float> e(n_);
  for (int64_t i = 0; i < n_; ++i) {
    std::fill(e.begin(), e.end(), 0.0f);
    e[i] = signs_.empty() ? 1.0f : signs_[i];
    apply_block(e.data(), false);
    fwht_rows_reference(e.data(), 1, n_, m_, n_);
    for (int64_t j = 0; j < n_; ++j) q[i * n_ + j] = e[j];
  }
  return q;
}

}  // namespace qh::engine
#endif  // HWY_ONCE
