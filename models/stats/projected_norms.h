// Norms of projected rows, ||R v_i||, for an upper-triangular R [rank, n] (R[k][j] = 0 for j < k): the audit's
// value drain takes ||W_O,h v_i|| for every token as ||R v_i|| with R the triangular factor of the head's W_O
// slice (stats_observer.h), once per head and window. A GEMM call costs more in setup than in arithmetic at
// the audit's small shapes (64 tokens of 32 values, one thread: 3.4 us through oneDNN, 1.45 us here), so
// this is a direct Highway kernel (dynamic dispatch): R^T is kept in column blocks of one vector, four tokens
// share each load, the triangle's zeros are skipped, and the squares are summed in double. Rows are
// independent: large inputs are split over threads with results that do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

namespace qh::stats {

class ProjectedNorms {
 public:
  ProjectedNorms() = default;
  // r [rank, n] row-major, upper triangular (entries below the diagonal are ignored).
  ProjectedNorms(const float* r, int64_t rank, int64_t n);
  // norms[i] = ||R v_i||_2 for the T rows of v [T, n] (row stride n). Products and sums over j in float
  // (fused multiply-adds where the target has them), squares summed in double.
  void run(const float* v, int64_t T, double* norms) const;
  int64_t rank() const { return rank_; }
  int64_t n() const { return n_; }
  size_t bytes_held() const { return rt_.capacity() * sizeof(float); }

 private:
  int64_t rank_ = 0, n_ = 0, padded_ = 0;  // padded_: rank rounded up to the kernel's block of 16
  std::vector<float> rt_;                  // R^T [n, padded_], zero beyond rank and below the diagonal
};

// Reference: the same products in double, one token at a time.
void projected_norms_reference(const float* r, int64_t rank, int64_t n, const float* v, int64_t T, double* norms);

}  // namespace qh::stats
