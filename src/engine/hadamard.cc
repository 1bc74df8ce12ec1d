// Highway kernel of hadamard.h, compiled once per target through foreach_target.h and dispatched once per
// call; the transforms built on it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/engine/hadamard.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cmath>
#include <vector>

#include "hwy/highway.h"
#include "src/engine/hadamard.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace engine {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Butterflies of one stage on two contiguous runs a, b of L floats: (a, b) <- (a + b, a - b).
HWY_INLINE void Butterfly(float* HWY_RESTRICT a, float* HWY_RESTRICT b, int64_t L) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= L; i += N) {
    const auto va = hn::LoadU(d, a + i), vb = hn::LoadU(d, b + i);
    hn::StoreU(hn::Add(va, vb), d, a + i);
    hn::StoreU(hn::Sub(va, vb), d, b + i);
  }
  for (; i < L; ++i) {
    const float u = a[i], v = b[i];
    a[i] = u + v;
    b[i] = u - v;
  }
}

void FwhtRows(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t p = n / m;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p)));
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    for (int64_t h = 1; h < p; h *= 2)
      for (int64_t i = 0; i < p; i += 2 * h) Butterfly(row + i * m, row + (i + h) * m, h * m);
    const auto vs = hn::Set(d, scale);
    int64_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, row + i), vs), d, row + i);
    for (; i < n; ++i) row[i] *= scale;
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

HWY_EXPORT(FwhtRows);

namespace {
void check_shape(int64_t n, int64_t m, int64_t ld) {
  QH_CHECK(n >= 1 && m >= 1 && n % m == 0 && ld >= n);
  const int64_t p = n / m;
  QH_CHECK((p & (p - 1)) == 0);
}
}  // namespace

int64_t pow2_factor(int64_t n) {
  QH_CHECK(n >= 1);
  return n & -n;
}

void fwht_rows(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld) {
  check_shape(n, m, ld);
  HWY_DYNAMIC_DISPATCH(FwhtRows)(x, rows, n, m, ld);
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
}

// One row: x <- x (I_p (x) B) or x (I_p (x) B^T), each contiguous block of m values times B (or B^T).
namespace {
// x <- x B on each contiguous block of M values, B given with strides (si, sj) for (i, j); in double. A
// compile-time M (the usual odd parts 3, 5, 7) lets the compiler unroll the small product (measured 1.7x
// faster for M = 3 than a run-time M).
template <int M>
void block_product(float* v, int64_t n, const float* b, int64_t si, int64_t sj) {
  for (int64_t a = 0; a < n; a += M, v += M) {
    double tmp[M];
    for (int j = 0; j < M; ++j) {
      double s = 0;
      for (int i = 0; i < M; ++i) s += static_cast<double>(v[i]) * b[i * si + j * sj];
      tmp[j] = s;
    }
    for (int j = 0; j < M; ++j) v[j] = static_cast<float>(tmp[j]);
  }
}
}  // namespace

void HadamardTransform::apply_block(float* v, bool transposed) const {
  if (block_.empty()) return;
  const int64_t m = m_;
  // B or B^T.
  const int64_t si = transposed ? 1 : m, sj = transposed ? m : 1;
  const float* b = block_.data();
  switch (m) {
    case 3: return block_product<3>(v, n_, b, si, sj);
    case 5: return block_product<5>(v, n_, b, si, sj);
    case 7: return block_product<7>(v, n_, b, si, sj);
    default: break;
  }
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

// Rows in chunks per call of the dispatched kernel, the chunks split over the threads; a chunk is at most
// 16 KB so that it is still in L1 between the sign / block step and the butterflies (larger chunks measured
// slower). Every row is computed the same way whatever the split.
namespace {
int64_t chunk_rows(int64_t n) { return std::max<int64_t>(1, (int64_t{16} << 10) / (n * static_cast<int64_t>(sizeof(float)))); }
}  // namespace

void HadamardTransform::apply(float* x, int64_t rows, int64_t ld) const {
  if (empty()) return;
  for_row_blocks(rows, n_ * (m_ + 8), [&](int64_t r0, int64_t r1) {
    for (int64_t c0 = r0; c0 < r1; c0 += chunk_rows(n_)) {
      const int64_t c1 = std::min(r1, c0 + chunk_rows(n_));
      for (int64_t r = c0; r < c1; ++r) {
        float* row = x + r * ld;
        if (!signs_.empty())
          for (int64_t i = 0; i < n_; ++i) row[i] *= signs_[i];
        apply_block(row, false);
      }
      fwht_rows(x + c0 * ld, c1 - c0, n_, m_, ld);
    }
  });
}

void HadamardTransform::apply_transposed(float* x, int64_t rows, int64_t ld) const {
  if (empty()) return;
  for_row_blocks(rows, n_ * (m_ + 8), [&](int64_t r0, int64_t r1) {
    for (int64_t c0 = r0; c0 < r1; c0 += chunk_rows(n_)) {
      const int64_t c1 = std::min(r1, c0 + chunk_rows(n_));
      fwht_rows(x + c0 * ld, c1 - c0, n_, m_, ld);  // H_p / sqrt(p) is symmetric
      for (int64_t r = c0; r < c1; ++r) {
        float* row = x + r * ld;
        apply_block(row, true);
        if (!signs_.empty())
          for (int64_t i = 0; i < n_; ++i) row[i] *= signs_[i];
      }
    }
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
