// Row loops of the engine's element-wise steps (norms, activations, RoPE, epilogues, softmax rows): split over
// the OpenMP threads only when there is enough work to pay for waking them. Small inputs (the zoo's models:
// 64 tokens of 32 values) run on the calling thread without entering an OpenMP region at all, because libgomp
// makes a futex system call per region even when it runs on one thread (skipping them made the zoo model's
// fp pass 15-20% faster). Every row is computed the same way either way, so results do not depend on the path.
#pragma once

#include <omp.h>

#include <cstdint>

namespace qh::engine {

// Below this many elements (rows x work per row) the loop stays on the calling thread.
inline constexpr int64_t kParallelMinElements = int64_t{1} << 15;

inline bool run_serially(int64_t rows, int64_t work_per_row) {
  return rows < 2 || rows * work_per_row < kParallelMinElements || omp_get_max_threads() <= 1 || omp_in_parallel();
}

// fn(r) for r in [0, rows), statically split over the threads.
template <class Fn>
void for_rows(int64_t rows, int64_t work_per_row, Fn fn) {
  if (run_serially(rows, work_per_row)) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) fn(r);
}

// The same with dynamic chunks of 16 rows, for rows of unequal cost (causal attention rows).
template <class Fn>
void for_rows_dynamic(int64_t rows, int64_t work_per_row, Fn fn) {
  if (run_serially(rows, work_per_row)) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t r = 0; r < rows; ++r) fn(r);
}

// fn(r0, r1) over contiguous blocks [r0, r1) covering [0, rows), one per thread (a static split), for kernels
// dispatched once per block.
template <class Fn>
void for_row_blocks(int64_t rows, int64_t work_per_row, Fn fn) {
  if (run_serially(rows, work_per_row)) {
    if (rows > 0) fn(int64_t{0}, rows);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t r0 = rows * t / n, r1 = rows * (t + 1) / n;
    if (r0 < r1) fn(r0, r1);
  }
}

// fn(b) for blocks b in [0, blocks) of unequal cost, handed out one at a time.
template <class Fn>
void for_blocks_dynamic(int64_t blocks, int64_t work_per_block, Fn fn) {
  if (run_serially(blocks, work_per_block)) {
    for (int64_t b = 0; b < blocks; ++b) fn(b);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < blocks; ++b) fn(b);
}

}  // namespace qh::engine
