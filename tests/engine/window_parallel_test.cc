// for_each_window (src/engine/window_parallel.h): every window runs exactly once, workers run single-threaded,
// the caller's OpenMP thread count is unchanged afterwards, too few windows run in order on the caller, and an
// exception thrown by one window reaches the caller; a pass too small for intra-op threads runs on one thread.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "src/engine/window_parallel.h"

namespace qh::engine {
namespace {

class WindowParallel : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = omp_get_max_threads(); }
  void TearDown() override { omp_set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_F(WindowParallel, EnoughWindowsRunOneSingleThreadedWindowPerThread) {
  omp_set_num_threads(3);
  ASSERT_TRUE(windows_in_parallel(7));
  std::vector<std::atomic<int>> runs(7);
  std::vector<int> threads_seen(7, -1), in_parallel(7, -1);
  for_each_window(7, [&](int64_t w) {
    ++runs[w];
    threads_seen[w] = omp_get_max_threads();
    in_parallel[w] = omp_in_parallel() ? 1 : 0;
  });
  for (int w = 0; w < 7; ++w) {
    EXPECT_EQ(runs[w].load(), 1) << w;
    EXPECT_EQ(threads_seen[w], 1) << w;  // oneDNN and the row loops see one thread
    EXPECT_EQ(in_parallel[w], 1) << w;
  }
  EXPECT_EQ(omp_get_max_threads(), 3);  // the workers' setting does not leak to the caller
}

TEST_F(WindowParallel, FewWindowsRunInOrderWithTheCallersThreads) {
  omp_set_num_threads(4);
  ASSERT_FALSE(windows_in_parallel(3));
  std::vector<int64_t> order;
  for_each_window(3, [&](int64_t w) {
    order.push_back(w);
    EXPECT_EQ(omp_get_max_threads(), 4);
    EXPECT_FALSE(omp_in_parallel());
  });
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2}));
  omp_set_num_threads(1);
  EXPECT_FALSE(windows_in_parallel(100));  // one thread: always in order
  for_each_window(0, [&](int64_t) { ADD_FAILURE() << "no window to run"; });
}

TEST_F(WindowParallel, AnExceptionOfOneWindowReachesTheCaller) {
  omp_set_num_threads(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(for_each_window(50,
                               [&](int64_t w) {
                                 ++ran;
                                 if (w == 3) throw std::runtime_error("window 3");
                               }),
               std::runtime_error);
  EXPECT_GE(ran.load(), 4);
  EXPECT_LE(ran.load(), 50);
  EXPECT_EQ(omp_get_max_threads(), 2);
}

TEST_F(WindowParallel, ASmallPassRunsOnOneThreadAndTheCountComesBack) {
  omp_set_num_threads(3);
  {
    const OneThreadIfSmall small(kIntraOpMinFlops / 2);
    EXPECT_EQ(omp_get_max_threads(), 1);  // oneDNN and the row loops open no region
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
  {
    const OneThreadIfSmall large(kIntraOpMinFlops);
    EXPECT_EQ(omp_get_max_threads(), 3);  // large enough to share
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
  try {  // restored on the way out of an exception too
    const OneThreadIfSmall small(1.0);
    throw std::runtime_error("inside the pass");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
}

}  // namespace
}  // namespace qh::engine
