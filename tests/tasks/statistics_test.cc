// Accuracy, its standard error and the paired drop interval / McNemar p-value on a hand-made case, every value
// computed by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>

#include "src/tasks/statistics.h"

namespace qh::tasks {
namespace {

// Ten items. fp right on 7, quantized right on 5; b = fp right & quantized wrong = items 1, 4, 7 (3);
// c = fp wrong & quantized right = item 5 (1).
const std::vector<uint8_t> kFp = {1, 1, 1, 0, 1, 0, 1, 1, 0, 1};
const std::vector<uint8_t> kQuant = {1, 0, 1, 0, 0, 1, 1, 0, 0, 1};

TEST(TaskStatistics, AccuracyAndSampleStandardError) {
  // fp: mean 0.7; sample variance (7 x 0.3^2 + 3 x 0.7^2) / 9 = 2.1 / 9; stderr = sqrt(2.1 / 9) / sqrt(10)
  //   = 0.4830458915 / 3.1622776602 = 0.1527525232.
  const Accuracy fp = accuracy(kFp);
  EXPECT_EQ(fp.n, 10);
  EXPECT_DOUBLE_EQ(fp.mean, 0.7);
  EXPECT_NEAR(fp.stderr_, 0.1527525232, 1e-10);
  // quantized: mean 0.5; sample variance 10 x 0.25 / 9; stderr = sqrt(2.5 / 9) / sqrt(10) = 1/6.
  const Accuracy q = accuracy(kQuant);
  EXPECT_DOUBLE_EQ(q.mean, 0.5);
  EXPECT_NEAR(q.stderr_, 1.0 / 6.0, 1e-12);
  EXPECT_TRUE(std::isnan(accuracy({1}).stderr_));  // one item: no sample deviation
  EXPECT_EQ(accuracy({}).n, 0);
}

TEST(TaskStatistics, PairedDropWaldIntervalAndMcNemar) {
  const PairedDrop d = paired_drop(kFp, kQuant);
  EXPECT_EQ(d.n, 10);
  EXPECT_EQ(d.fp_only, 3);
  EXPECT_EQ(d.quant_only, 1);
  // drop = 100 (3 - 1) / 10 = 20 points; se = sqrt(3 + 1 - 2^2 / 10) / 10 = sqrt(3.6) / 10 = 0.1897366596;
  // half width = 1.959963985 x 0.1897366596 = 0.3718770; interval 100 x (0.2 -+ 0.3718770).
  EXPECT_NEAR(d.drop, 20.0, 1e-12);
  EXPECT_NEAR(d.lo, -17.18770, 1e-4);
  EXPECT_NEAR(d.hi, 57.18770, 1e-4);
  // McNemar exact: b + c = 4, min = 1: P[X <= 1] = (C(4,0) + C(4,1)) / 16 = 5/16; two-sided 10/16.
  EXPECT_NEAR(d.p_mcnemar, 0.625, 1e-12);
}

TEST(TaskStatistics, McNemarEdgeCases) {
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);  // no discordant pair: no evidence of change
  EXPECT_NEAR(mcnemar_exact_p(5, 0), 2.0 / 32.0, 1e-12);  // 2 x (1/2)^5
  EXPECT_NEAR(mcnemar_exact_p(3, 3), 1.0, 1e-12);         // capped at 1
  // 10 vs 2: P[X <= 2] for Binomial(12, 1/2) = (1 + 12 + 66) / 4096 = 79/4096; two-sided 158/4096.
  EXPECT_NEAR(mcnemar_exact_p(10, 2), 158.0 / 4096.0, 1e-12);
  // Large counts stay finite (log-space sum): symmetric counts give p = 1 within rounding.
  EXPECT_NEAR(mcnemar_exact_p(2000, 2000), 1.0, 1e-9);
}

TEST(TaskStatistics, IdenticalOutcomesHaveAZeroWidthInterval) {
  const PairedDrop d = paired_drop(kFp, kFp);
  EXPECT_DOUBLE_EQ(d.drop, 0.0);
  EXPECT_DOUBLE_EQ(d.lo, 0.0);
  EXPECT_DOUBLE_EQ(d.hi, 0.0);
  EXPECT_DOUBLE_EQ(d.p_mcnemar, 1.0);
}

}  // namespace
}  // namespace qh::tasks
