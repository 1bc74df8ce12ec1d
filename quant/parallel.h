// Row-block parallelism of the quantizer (internal to qh_quant): large inputs are split into contiguous row
// blocks over omp_get_max_threads() OpenMP threads; small ones (or calls from inside a parallel region) run
// on the calling thread. Each block is one dynamic-dispatch call, never one per element.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace qh::quant {

// Below this many values a single thread is faster than waking the team.
inline constexpr int64_t kParallelMinValues = 1 << 16;

// Calls block(r0, r1) over [0, rows); each call returns the first bad row it found (absolute index) or -1.
// Returns the smallest bad row of all blocks, or -1; the result does not depend on the thread count.
template <class BlockFn>
int64_t for_row_blocks(int64_t rows, int64_t cols, BlockFn block) {
  const int threads = omp_get_max_threads();
  if (rows < 2 || threads <= 1 || rows * std::max<int64_t>(cols, 1) < kParallelMinValues || omp_in_parallel()) {
    return rows > 0 ? block(int64_t{0}, rows) : -1;
  }
  const int64_t blocks = std::min<int64_t>(rows, threads);
  int64_t first_bad = std::numeric_limits<int64_t>::max();
#pragma omp parallel for schedule(static) num_threads(threads) reduction(min : first_bad)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t bad = block(rows * b / blocks, rows * (b + 1) / blocks);
    if (bad >= 0 && bad < first_bad) first_bad = bad;
  }
  return first_bad == std::numeric_limits<int64_t>::max() ? -1 : first_bad;
}

}  // namespace qh::quant
