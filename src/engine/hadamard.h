// Hadamard transforms for the rotation methods (QuaRot / SpinQuant family): a fast Walsh-Hadamard transform
// (Highway, dynamic dispatch over the compiled targets, with a scalar reference), and the orthogonal
// transforms of any width built from it.
//
// A width n = p * m with p a power of two is rotated by Q = diag(signs) (H_p / sqrt(p) (x) B), the Kronecker
// product of the normalised Hadamard matrix of order p with an orthogonal block B of order m (m = 1 for
// powers of two). On a row vector x seen as a matrix X[p][m] (x[a*m + b] = X[a][b]), x Q is the row of
// H_p/sqrt(p) (X .* S) B: B acts on each contiguous block of m values, the Hadamard butterflies act between
// blocks (on m-wide vectors), so one kernel serves every width.
#pragma once

#include <cstdint>
#include <vector>

namespace qh::engine {

// In place on each of `rows` rows of n values (row stride ld >= n): x <- x H_p / sqrt(p) along blocks of m
// contiguous values, n = p * m, p a power of two (m = 1: the plain normalised FWHT of length n).
// NaN / Inf propagate as in the dense product.
void fwht_rows(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld);
// The same by the textbook butterflies in double (the reference of the tests).
void fwht_rows_reference(float* x, int64_t rows, int64_t n, int64_t m, int64_t ld);

// An orthogonal transform Q of width n as above. Empty (n == 0) = no transform.
class HadamardTransform {
 public:
  HadamardTransform() = default;
  // block: B row-major [m * m], orthogonal, with m dividing n and n / m a power of two (m = n: a dense
  // orthogonal matrix; m = 1: B = [1], block may be empty). signs: [n] entries +-1 or empty (all +1).
  HadamardTransform(int64_t n, int64_t m, std::vector<float> block, std::vector<float> signs);
  bool empty() const { return n_ == 0; }
  int64_t n() const { return n_; }
  int64_t block_size() const { return m_; }
  // x <- x Q on `rows` rows of n values (row stride ld), in f32 on groups of rows (hadamard.cc RotateRows);
  // each row gets the same bits whatever the row count or thread count.
  void apply(float* x, int64_t rows, int64_t ld) const;
  // x <- x Q^T.
  void apply_transposed(float* x, int64_t rows, int64_t ld) const;
  // The dense matrix Q [n * n] row-major (tests, small widths), by the double reference steps.
  std::vector<double> dense() const;

 private:
  void apply_block(float* row, bool transposed) const;  // reference block product of dense()
  int64_t n_ = 0, m_ = 1;
  std::vector<float> block_, signs_;
  // Blocks up to this order are also held with each entry repeated 4 times (B in wide_, B^T in wide_t_, about
  // 4 MB each at most), for the full-vector block product of apply (hadamard.cc BlockProductWide); larger
  // blocks (the dense ones of rotate=random) use the 4-lane product.
  static constexpr int64_t kMaxWideBlock = 512;
  std::vector<float> wide_, wide_t_;
  int64_t wide_ld_ = 0;
};

// The largest power of two dividing n (n >= 1).
int64_t pow2_factor(int64_t n);

}  // namespace qh::engine
