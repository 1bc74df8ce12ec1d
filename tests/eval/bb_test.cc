// The BB generator (ARCHITECTURE.md 1.4): the backcopy rule on every sampled sequence, triggers never at x1,
// determinism, oracle rows, trigger choice and the text-file table.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "models/data/bb.h"
#include "src/core/error.h"

namespace qh::data {
namespace {

BBConfig small_config() {
  BBConfig c;
  c.base_vocab = 16;
  c.k_triggers = 3;
  c.seq_len = 64;
  c.table_seed = 5;
  c.alpha = 0.5;
  return c;
}

TEST(BBTask, VocabularyAndBos) {
  BBTask task(small_config());
  EXPECT_EQ(task.vocab_size(), 17);
  EXPECT_EQ(task.bos(), 16);
  EXPECT_EQ(task.triggers().size(), 3u);
  EXPECT_FALSE(task.is_trigger(task.bos()));
}

TEST(BBTask, TriggersAreTheMostFrequentTokens) {
  BBTask task(small_config());
  const auto& u = task.unigram();
  double min_trigger = 1.0, max_other = 0.0;
  for (int a = 0; a < task.base_vocab(); ++a) {
    if (task.is_trigger(a)) min_trigger = std::min(min_trigger, u[a]);
    else max_other = std::max(max_other, u[a]);
  }
  EXPECT_GE(min_trigger, max_other);
  EXPECT_NEAR(std::accumulate(u.begin(), u.end(), 0.0), 1.0, 1e-12);
  // The unigram of a sampled table is stationary: pi P == pi.
  const int V = task.base_vocab();
  for (int b = 0; b < V; ++b) {
    double s = 0.0;
    for (int a = 0; a < V; ++a) s += u[a] * task.bigram()[a * V + b];
    EXPECT_NEAR(s, u[b], 1e-9);
  }
}

TEST(BBTask, BackcopyRuleHoldsOnEverySequence) {
  BBTask task(small_config());
  const auto seqs = task.sample(50, 11);
  ASSERT_EQ(seqs.size(), 50u);
  int backcopies = 0;
  for (const auto& x : seqs) {
    ASSERT_EQ(x.size(), 64u);
    EXPECT_EQ(x[0], task.bos());
    EXPECT_FALSE(task.is_trigger(x[1]));
    for (size_t t = 1; t < x.size(); ++t) {
      ASSERT_GE(x[t], 0);
      ASSERT_LT(x[t], task.base_vocab());
      if (t + 1 < x.size() && task.is_trigger(x[t])) {
        EXPECT_EQ(x[t + 1], x[t - 1]) << "t=" << t;
        ++backcopies;
      }
    }
  }
  EXPECT_GT(backcopies, 100);  // triggers are the most frequent tokens, so backcopies are common
}

TEST(BBTask, DeterministicForASeedAndPrefixStable) {
  BBTask a(small_config()), b(small_config());
  EXPECT_EQ(a.sample(8, 3), b.sample(8, 3));
  EXPECT_NE(a.sample(8, 3), a.sample(8, 4));
  const auto long_run = a.sample(8, 3), short_run = a.sample(2, 3);
  EXPECT_EQ(short_run[0], long_run[0]);
  EXPECT_EQ(short_run[1], long_run[1]);
  BBConfig other = small_config();
  other.table_seed = 6;
  EXPECT_NE(BBTask(other).bigram(), a.bigram());
}

TEST(BBTask, OracleRowsSumToOneAndMatchTheRule) {
  BBTask task(small_config());
  const auto seqs = task.sample(4, 1);
  std::vector<float> p(task.vocab_size());
  for (const auto& x : seqs) {
    for (int64_t t = 0; t + 1 < static_cast<int64_t>(x.size()); ++t) {
      task.oracle(x.data(), t, p.data());
      double s = 0.0;
      for (float v : p) s += v;
      EXPECT_NEAR(s, 1.0, 1e-5);
      EXPECT_EQ(p[task.bos()], 0.0f);
      EXPECT_GT(p[x[t + 1]], 0.0f) << "the sampled token must be possible under the oracle";
      if (task.is_backcopy(x.data(), t)) {
        EXPECT_EQ(p[x[t - 1]], 1.0f);
        EXPECT_EQ(task.oracle_entropy(x.data(), t), 0.0);
      }
      if (t == 0) {
        for (int trig : task.triggers()) EXPECT_EQ(p[trig], 0.0f);
      }
    }
  }
}

TEST(BBTask, TableFromTextFile) {
  const std::string path = ::testing::TempDir() + "/bb_text.txt";
  {
    std::ofstream f(path, std::ios::binary);
    f << "abababcabab";  // a: 5, b: 5, c: 1
  }
  BBConfig c;
  c.text_path = path;
  c.k_triggers = 1;
  c.seq_len = 32;
  BBTask task(c);
  ASSERT_EQ(task.base_vocab(), 3);
  EXPECT_EQ(task.alphabet(), (std::vector<uint8_t>{'a', 'b', 'c'}));
  // a and b tie at 5 occurrences: the lower id (a) is the trigger.
  EXPECT_EQ(task.triggers(), std::vector<int>{0});
  // Row of a: successors b x5 (plus add-one on each of a, b, c) -> (1, 6, 1) / 8.
  EXPECT_NEAR(task.bigram()[0 * 3 + 0], 1.0 / 8, 1e-12);
  EXPECT_NEAR(task.bigram()[0 * 3 + 1], 6.0 / 8, 1e-12);
  EXPECT_NEAR(task.bigram()[0 * 3 + 2], 1.0 / 8, 1e-12);
  std::remove(path.c_str());
}

TEST(BBTask, BadConfigsAreInputErrors) {
  BBConfig c = small_config();
  c.k_triggers = 16;
  EXPECT_THROW(BBTask{c}, InputError);
  c = small_config();
  c.seq_len = 1;
  EXPECT_THROW(BBTask{c}, InputError);
  c = small_config();
  c.alpha = 0.0;
  EXPECT_THROW(BBTask{c}, InputError);
  c = small_config();
  c.text_path = ::testing::TempDir() + "/does_not_exist.txt";
  EXPECT_THROW(BBTask{c}, InputError);
}

}  // namespace
}  // namespace qh::data
