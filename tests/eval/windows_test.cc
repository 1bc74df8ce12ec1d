// The perplexity protocols' windows on a tiny case, every window and scored row listed by hand.
#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/eval/windows.h"

namespace qh::eval {
namespace {

// Row r of a window predicts sequence token start + r + 1; `targets` lists them.
std::vector<std::vector<int64_t>> targets_of(const std::vector<Window>& ws) {
  std::vector<std::vector<int64_t>> out;
  for (const Window& w : ws) {
    out.emplace_back();
    for (int64_t r = w.row_begin; r < w.row_end; ++r) out.back().push_back(w.start + r + 1);
  }
  return out;
}

const std::vector<std::vector<int32_t>> kOne = {std::vector<int32_t>(10, 1)};  // L = 10

TEST(Protocols, NonOverlappingWindowsScoreEveryNextTokenOnce) {
  // W = 4: windows [0,4) [4,8) [8,10); the last row of a window predicts the first token after it.
  const auto ws = plan_windows(kOne, 1, 4, parse_protocol("windows"));
  ASSERT_EQ(ws.size(), 3u);
  EXPECT_EQ(ws[2].start, 8);
  EXPECT_EQ(ws[2].end, 10);
  EXPECT_EQ(targets_of(ws), (std::vector<std::vector<int64_t>>{{1, 2, 3, 4}, {5, 6, 7, 8}, {9}}));
}

TEST(Protocols, HuggingFaceStridedScoresOnlyNewTargets) {
  // W = 4, S = 2: windows start 0, 2, 4, 6 and end 4, 6, 8, 10; targets [max(prev_end, start+1), end).
  const auto ws = plan_windows(kOne, 1, 4, parse_protocol("strided:2"));
  ASSERT_EQ(ws.size(), 4u);
  EXPECT_EQ(ws[3].start, 6);
  EXPECT_EQ(ws[3].end, 10);
  EXPECT_EQ(targets_of(ws), (std::vector<std::vector<int64_t>>{{1, 2, 3}, {4, 5}, {6, 7}, {8, 9}}));
  // S = W: the token at each boundary (4, 8) is never a target, as in that recipe.
  EXPECT_EQ(targets_of(plan_windows(kOne, 1, 4, parse_protocol("strided:4"))),
            (std::vector<std::vector<int64_t>>{{1, 2, 3}, {5, 6, 7}, {9}}));
  EXPECT_THROW(plan_windows(kOne, 1, 4, parse_protocol("strided:5")), InputError);
}

TEST(Protocols, LlamaCppHalfScoresTheSecondHalfOfFullChunks) {
  // W = 4: chunks [0,4) and [4,8) (the tail [8,10) is not a full chunk); rows [2, 3) predict tokens 3 and 7.
  const auto ws = plan_windows(kOne, 1, 4, parse_protocol("half"));
  EXPECT_EQ(targets_of(ws), (std::vector<std::vector<int64_t>>{{3}, {7}}));
  // W = 5: rows [2, 4): tokens 3, 4 of the chunk [0, 5), then 8, 9 of [5, 10).
  EXPECT_EQ(targets_of(plan_windows(kOne, 1, 5, parse_protocol("half"))),
            (std::vector<std::vector<int64_t>>{{3, 4}, {8, 9}}));
}

TEST(Protocols, ParsingAndNames) {
  EXPECT_EQ(parse_protocol("strided:64").name(), "strided:64");
  EXPECT_EQ(parse_protocol("half").name(), "half");
  EXPECT_EQ(parse_protocol("windows").name(), "windows");
  for (const char* bad : {"", "strided", "strided:0", "strided:-3", "strided:2x", "halves"})
    EXPECT_THROW(parse_protocol(bad), InputError) << bad;
}

}  // namespace
}  // namespace qh::eval
