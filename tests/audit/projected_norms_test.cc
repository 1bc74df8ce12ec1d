// The value-drain kernel ||R v_i|| (models/stats/projected_norms.h) on every compiled target against the double
// reference: ranks and widths around the vector and tile sizes (the triangle's skipped zeros and the padding),
// token counts that leave tile remainders, an R with entries below the diagonal (which must be ignored),
// rows of zeros, one huge entry, and a thread-split input that must equal its single-thread result.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "models/stats/projected_norms.h"
#include "tests/hwy_per_target.h"

namespace qh::stats {
namespace {

class ProjectedNormsPerTarget : public qh::test::PerHwyTarget {};

std::vector<float> random_values(int64_t count, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(count));
  for (float& v : x) v = g(rng);
  return x;
}

TEST_P(ProjectedNormsPerTarget, MatchesTheDoubleReference) {
  std::mt19937 rng(17);
  for (int64_t n : {1, 3, 8, 15, 16, 17, 32, 33, 64, 80}) {
    for (int64_t rank : {n, std::max<int64_t>(1, n / 2)}) {
      // Full R: the kernel must read only the upper triangle, so the lower one is filled with garbage.
      const std::vector<float> r = random_values(rank * n, rng);
      const ProjectedNorms kernel(r.data(), rank, n);
      for (int64_t T : {1, 3, 4, 5, 9, 64}) {
        std::vector<float> v = random_values(T * n, rng);
        std::fill(v.begin(), v.begin() + n, 0.0f);               // token 0: all zero
        if (T > 2) v[2 * n + n / 2] = 1e6f;                       // token 2: one huge entry
        std::vector<double> got(T, -1.0), want(T, -2.0);
        kernel.run(v.data(), T, got.data());
        projected_norms_reference(r.data(), rank, n, v.data(), T, want.data());
        for (int64_t i = 0; i < T; ++i) {
          // float products and sums over at most n terms: a relative error of a few n ulps of float
          const double tol = 4e-7 * double(n + 4) * want[i] + 1e-30;
          EXPECT_NEAR(got[i], want[i], tol) << "n=" << n << " rank=" << rank << " T=" << T << " token " << i;
        }
        EXPECT_EQ(got[0], 0.0);
      }
    }
  }
}

TEST_P(ProjectedNormsPerTarget, AKnownProjection) {
  // R = [[1, 2], [0, 3]] (the 5 below the diagonal is ignored); v = (1, 1): R v = (3, 3), norm sqrt(18).
  const float r[4] = {1.0f, 2.0f, 5.0f, 3.0f};
  const float v[2] = {1.0f, 1.0f};
  double norm = 0;
  ProjectedNorms(r, 2, 2).run(v, 1, &norm);
  EXPECT_DOUBLE_EQ(norm, std::sqrt(18.0));
}

TEST_P(ProjectedNormsPerTarget, ThreadSplitEqualsOneThread) {
  std::mt19937 rng(23);
  const int64_t n = 64, rank = 64, T = 1000;  // T * rank * n above the parallel threshold
  const std::vector<float> r = random_values(rank * n, rng), v = random_values(T * n, rng);
  const ProjectedNorms kernel(r.data(), rank, n);
  std::vector<double> one(T), many(T);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  kernel.run(v.data(), T, one.data());
  omp_set_num_threads(std::max(2, threads));
  kernel.run(v.data(), T, many.data());
  omp_set_num_threads(threads);
  EXPECT_EQ(one, many);
}

QH_INSTANTIATE_PER_HWY_TARGET(ProjectedNormsPerTarget);

}  // namespace
}  // namespace qh::stats
