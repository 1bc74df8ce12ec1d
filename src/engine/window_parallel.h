// How an evaluation spreads its windows over the OpenMP threads (ARCHITECTURE.md 2.4): with at least as many
// windows as threads, one window per thread at a time, each thread running its forward passes single-threaded
// (omp_set_num_threads(1) inside the worker sets that thread's own count, which oneDNN and the engine's row loops
// read); with fewer windows, the windows run in order on the calling thread and the OpenMP threads serve the
// operations inside each forward (intra-op). Window parallelism needs no synchronisation inside a forward pass:
// a thread that loses its core delays only its own window instead of every parallel region of every pass.
//
// Windows are handed out one at a time in index order (a shared counter), so a slow thread simply takes fewer.
// Which thread runs a window never changes its numbers: every forward is single-threaded and callers reduce
// per-window results in window order.
#pragma once

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

namespace qh::engine {

// Whether n windows would run window-parallel on the calling thread's OpenMP threads.
inline bool windows_in_parallel(int64_t n) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return threads > 1 && n >= threads;
}

// Intra-op threads pay off only for a large forward pass: each oneDNN call and each row loop of a pass opens an
// OpenMP region, and waking the other threads for every one of them costs more than they save on a small
// model (the zoo's models ran 4x slower on 2 threads than on 1). A pass below this many flops runs on the
// calling thread alone. Results do not change: every path computes each row the same way.
inline constexpr double kIntraOpMinFlops = 64e6;

// Limits the calling thread to one OpenMP thread for its lifetime when a pass of `flops` is too small to share
// (and the thread is not already a single-threaded worker); restores the thread count when it ends.
class OneThreadIfSmall {
 public:
  explicit OneThreadIfSmall(double flops) {
    if (omp_in_parallel() || flops >= kIntraOpMinFlops) return;
    saved_ = omp_get_max_threads();
    if (saved_ > 1) omp_set_num_threads(1);
  }
  ~OneThreadIfSmall() {
    if (saved_ > 1) omp_set_num_threads(saved_);
  }
  OneThreadIfSmall(const OneThreadIfSmall&) = delete;
  OneThreadIfSmall& operator=(const OneThreadIfSmall&) = delete;

 private:
  int saved_ = 0;
};

// fn(w) for every window w in [0, n), window-parallel or in order (see above). The first exception thrown by fn
// stops the handing out of windows and is rethrown on the calling thread once every worker has stopped.
template <class Fn>
void for_each_window(int64_t n, Fn fn) {
  if (!windows_in_parallel(n)) {
    for (int64_t w = 0; w < n; ++w) fn(w);
    return;
  }
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
#pragma omp parallel
  {
    omp_set_num_threads(1);  // this worker's forwards (oneDNN, row loops) stay on this thread
    for (;;) {
      const int64_t w = next.fetch_add(1);
      if (w >= n) break;
      try {
        fn(w);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        next.store(n);
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace qh::engine
