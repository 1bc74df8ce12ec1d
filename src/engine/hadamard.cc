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

// Butterflies of one stage on two contiguous runs a, b of L floats: (a, b) <- (a + b, a - b).
template <class D>
HWY_INLINE void Butterfly(D d, float* HWY_RESTRICT a, float* HWY_RESTRICT b, int64_t L) {
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

// The whole transform on groups of N rows (N = lanes) held transposed in a scratch buffer: t[i * N + r] is
// value i of row r. Every butterfly stage, the block product and the scalings are then full-vector operations
// across rows whatever the stride, where on a row layout the strides shorter than a vector were scalar code.
// A group shorter than N is padded with zero lanes; lanes do not interact, so each row gets the same bits
// whatever group, chunk or thread it falls in. Order as in hadamard.h: signs, block B, butterflies, 1/sqrt(p)
// (transposed: butterflies, 1/sqrt(p), B^T, signs). block: m * m or null (m = 1); signs: n or null.
constexpr int64_t kGroupBytes = 24 << 10;

template <class D>
void RotateRowsOn(D d, float* x, int64_t rows, int64_t n, int64_t m, int64_t ld, const float* block,
                  const float* signs, bool transposed) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t p = n / m;
  const auto vscale = hn::Set(d, static_cast<float>(1.0 / std::sqrt(static_cast<double>(p))));
  thread_local std::vector<float> t_buf, tmp_buf;
  t_buf.resize(static_cast<size_t>(n * N));
  float* HWY_RESTRICT t = t_buf.data();
  if (block) tmp_buf.resize(static_cast<size_t>(m * N));
  float* HWY_RESTRICT tmp = tmp_buf.data();
  const int64_t si = transposed ? 1 : m, sj = transposed ? m : 1;  // B or B^T

  const auto apply_signs = [&] {
    if (!signs) return;
    for (int64_t i = 0; i < n; ++i) hn::StoreU(hn::Mul(hn::LoadU(d, t + i * N), hn::Set(d, signs[i])), d, t + i * N);
  };
  const auto apply_block = [&] {
    if (!block) return;
    for (int64_t a = 0; a < n; a += m) {
      float* v = t + a * N;
      for (int64_t j = 0; j < m; ++j) {
        auto acc = hn::Mul(hn::LoadU(d, v), hn::Set(d, block[j * sj]));
        for (int64_t i = 1; i < m; ++i) acc = hn::MulAdd(hn::LoadU(d, v + i * N), hn::Set(d, block[i * si + j * sj]), acc);
        hn::StoreU(acc, d, tmp + j * N);
      }
      for (int64_t i = 0; i < m * N; i += N) hn::StoreU(hn::LoadU(d, tmp + i), d, v + i);
    }
  };
  const auto butterflies = [&] {
    for (int64_t h = 1; h < p; h *= 2)
      for (int64_t i = 0; i < p; i += 2 * h) Butterfly(d, t + i * m * N, t + (i + h) * m * N, h * m * N);
    for (int64_t i = 0; i < n * N; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, t + i), vscale), d, t + i);
  };

  for (int64_t g = 0; g < rows; g += N) {
    const int64_t k = std::min(N, rows - g);
    for (int64_t r = 0; r < N; ++r) {
      const float* row = x + (g + r) * ld;
      if (r < k)
        for (int64_t i = 0; i < n; ++i) t[i * N + r] = row[i];
      else
        for (int64_t i = 0; i < n; ++i) t[i * N + r] = 0.0f;
    }
    if (!transposed) {
      apply_signs();
      apply_block();
      butterflies();
    } else {
      butterflies();
      apply_block();
      apply_signs();
    }
    for (int64_t r = 0; r < k; ++r) {
      float* row = x + (g + r) * ld;
      for (int64_t i = 0; i < n; ++i) row[i] = t[i * N + r];
    }
  }
}

// The group buffer (n * lanes floats) is kept within L1: wide rows use 4 lanes (measured faster for
// n = 1536 on AVX2 than 8 lanes and a 48 KB buffer). The choice depends on n only, and lanes never interact,
// so the bits do not depend on it either.
void RotateRows(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld, const float* block, const float* signs,
                bool transposed) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 4> d4;
  if (n * static_cast<int64_t>(hn::Lanes(d)) * static_cast<int64_t>(sizeof(float)) > kGroupBytes)
    RotateRowsOn(d4, x, rows, n, m, ld, block, signs, transposed);
  else
    RotateRowsOn(d, x, rows, n, m, ld, block, signs, transposed);
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
}  // namespace

int64_t pow2_factor(int64_t n) {
  QH_CHECK(n >= 1);
  return n & -n;
}

void fwht_rows(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld) {
  check_shape(n, m, ld);
  HWY_DYNAMIC_DISPATCH(RotateRows)(x, rows, n, m, ld, nullptr, nullptr, false);
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
    HWY_DYNAMIC_DISPATCH(RotateRows)(x + r0 * ld, r1 - r0, n_, m_, ld, block_.empty() ? nullptr : block_.data(),
                                     signs_.empty() ? nullptr : signs_.data(), false);
  });
}

void HadamardTransform::apply_transposed(float* x, int64_t rows, int64_t ld) const {
  if (empty()) return;
  QH_CHECK(ld >= n_);
  for_row_blocks(rows, n_ * (m_ + 8), [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(RotateRows)(x + r0 * ld, r1 - r0, n_, m_, ld, block_.empty() ? nullptr : block_.data(),
                                     signs_.empty() ? nullptr : signs_.data(), true);  // H_p / sqrt(p) is symmetric
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
