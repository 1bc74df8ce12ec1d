// The shard plan: a hand-computed cost estimate, balance against round-robin on constructed suites, pairs kept
// whole when that is cheaper and split when one pair dominates, every case in exactly one shard, determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <unistd.h>

#include "src/core/error.h"
#include "src/suite/plan.h"
#include "src/suite/suite.h"

namespace qh::suite {
namespace {

namespace fs = std::filesystem;

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("qh_plan_test." + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // Same task, four sizes: d_model 16 (1 layer) up to 128 (4 layers).
    std::ofstream(dir_ / "zoo.yaml") << "version: 1\n"
                                        "defaults: {task: bb, vocab: 16, k: 2, seq_len: 32, d_model: 16, heads: 1,\n"
                                        "           layers: 1, mlp: relu, steps: 10}\n"
                                        "models:\n"
                                        "  - {name: tiny}\n"
                                        "  - {name: small, d_model: 32, layers: 2}\n"
                                        "  - {name: mid, d_model: 64, layers: 2}\n"
                                        "  - {name: big, d_model: 128, layers: 4}\n"
                                        "  - {name: mid-b, d_model: 64, layers: 2, seed: 2}\n"
                                        "  - {name: mid-c, d_model: 64, layers: 2, seed: 3}\n"
                                        "  - {name: mid-d, d_model: 64, layers: 2, seed: 4}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  SuiteSpec suite(const std::string& body) const {
    return parse_suite("zoo: zoo.yaml\n" + body, (dir_ / "suite.yaml").string());
  }
  fs::path dir_;
};

double max_load(const std::vector<double>& loads) { return *std::max_element(loads.begin(), loads.end()); }

// What the old dealing (group g to shard g mod N) would cost: every shard that holds part of a pair pays the
// pair's shared fp pass and audit.
std::vector<double> round_robin_loads(const SuiteSpec& s, int count) {
  const auto costs = estimate_costs(s);
  std::vector<double> loads(count, 0.0);
  std::map<std::pair<int, int>, bool> paid;  // (shard, pair)
  for (const auto& c : plan_cases(s)) {
    const int shard = c.group % count;
    const int pair = c.model * static_cast<int>(s.data.size()) + c.data;
    if (!paid[{shard, pair}]) loads[shard] += costs[pair].shared;
    paid[{shard, pair}] = true;
    loads[shard] += costs[pair].per_case;
  }
  return loads;
}

TEST_F(PlanTest, CostOfATinyModelIsHandComputed) {
  const SuiteSpec s = suite("models: [tiny]\ndata: \"bb:seed=1,seqs=4,len=32,k=2,vocab=16\"\nschemes: [W8A8]\n");
  // d=16, 1 layer, 1 head, d_ff=64, vocab 16+BOS: q,k,v,o 4*256 + MLP 2*16*64 + head 16*17 = 3344 weights;
  // attention over a 32-token window: 2*16*32 = 1024 per token; 2*3344 + 1024 = 7712 flop/token, 128 tokens.
  const auto costs = estimate_costs(s);
  ASSERT_EQ(costs.size(), 1u);
  EXPECT_DOUBLE_EQ(costs[0].fp_pass, 7712.0 * 128 / 1e9);
  EXPECT_DOUBLE_EQ(costs[0].per_case, costs[0].fp_pass);
  EXPECT_DOUBLE_EQ(costs[0].shared, costs[0].fp_pass);  // no audit, no calibrating protection
  const SuiteSpec audited = suite("models: [tiny]\ndata: \"bb:seed=1,seqs=4,len=32,k=2,vocab=16\"\n"
                                  "schemes: [W8A8]\naudit: true\neval: {max_sequences: 2}\n");
  const auto a = estimate_costs(audited);
  EXPECT_DOUBLE_EQ(a[0].fp_pass, 7712.0 * 64 / 1e9);  // max_sequences 2 of 32 tokens
  EXPECT_DOUBLE_EQ(a[0].shared, 2.5 * a[0].fp_pass);   // fp pass + an audit of 1.5 passes
}

TEST_F(PlanTest, KeepsPairsWholeAndBeatsRoundRobin) {
  // Four models of one size, two schemes each, two shards. Round-robin deals scheme 1 of every model to shard 1
  // and so pays every fp pass and audit twice; the plan keeps each (model, data) pair in one shard, two per
  // shard (splitting one would lengthen the longest shard).
  const SuiteSpec s = suite("models: [mid, mid-b, mid-c, mid-d]\ndata: \"bb:seed=1,seqs=16,len=32,k=2,vocab=16\"\n"
                            "schemes: [W8A8, W4A4]\nattribution: true\naudit: true\n");
  const ShardPlan plan = plan_shards(s, 2);
  for (int pieces : plan.pieces) EXPECT_EQ(pieces, 1);
  EXPECT_NEAR(plan.cost[0], plan.cost[1], 1e-3);
  const double total = std::accumulate(plan.cost.begin(), plan.cost.end(), 0.0);
  const auto rr = round_robin_loads(s, 2);
  EXPECT_LT(total, std::accumulate(rr.begin(), rr.end(), 0.0));
  EXPECT_LT(max_load(plan.cost), max_load(rr));
  std::map<int, std::set<int>> models_of_shard;
  for (const auto& c : plan.cases) models_of_shard[c.shard].insert(c.model);
  EXPECT_EQ(models_of_shard[0].size(), 2u);
  EXPECT_EQ(models_of_shard[1].size(), 2u);
}

TEST_F(PlanTest, BalancesUnequalPairsBetterThanRoundRobin) {
  // Twelve pairs of four model sizes and three data sizes over three shards, one scheme each: round-robin
  // (group g to shard g mod 3) puts data d of every model in shard d, so shard 1 gets all the largest data.
  const SuiteSpec s = suite("models: [big, mid, small, tiny]\n"
                            "data: [\"bb:seed=1,seqs=16,len=32,k=2,vocab=16\", \"bb:seed=2,seqs=8,len=32,k=2,vocab=16\","
                            " \"bb:seed=3,seqs=4,len=32,k=2,vocab=16\"]\nschemes: [W4A4]\n");
  const ShardPlan plan = plan_shards(s, 3);
  const auto costs = estimate_costs(s);
  double total = 0, largest = 0;
  for (const auto& c : costs) {
    total += c.shared + c.per_case;
    largest = std::max(largest, c.shared + c.per_case);
  }
  const double lower_bound = std::max(total / 3, largest);
  EXPECT_LE(max_load(plan.cost), max_load(round_robin_loads(s, 3)));
  EXPECT_LE(max_load(plan.cost), lower_bound * 4.0 / 3.0 + 1e-3);  // LPT's guarantee
  EXPECT_NEAR(std::accumulate(plan.cost.begin(), plan.cost.end(), 0.0), total, 1e-2);
}

TEST_F(PlanTest, SplitsAPairThatWouldOtherwiseHoldOneShardAlone) {
  // One model, one data, six schemes over three shards: kept whole, one shard would do everything.
  const SuiteSpec s = suite("models: [big]\ndata: \"bb:seed=1,seqs=16,len=32,k=2,vocab=16\"\n"
                            "schemes: [W8A8, W4A4, W4A8, W4A16, W8A16, W8A8-static]\n");
  const ShardPlan plan = plan_shards(s, 3);
  EXPECT_EQ(plan.pieces[0], 3);
  for (double c : plan.cost) EXPECT_GT(c, 0.0);
  // Each shard repeats the fp pass (one pass) and runs two schemes: 3 passes each.
  const double pass = estimate_costs(s)[0].fp_pass;
  for (double c : plan.cost) EXPECT_NEAR(c, 3 * pass, 2e-3);
  // With an expensive shared part (the audit: 1.5 passes more), splitting still pays.
  const SuiteSpec audited = suite("models: [big]\ndata: \"bb:seed=1,seqs=16,len=32,k=2,vocab=16\"\n"
                                  "schemes: [W8A8, W4A4]\naudit: true\n");
  // Two schemes over two shards: whole 2.5 + 2 = 4.5 passes, split 2.5 + 1 = 3.5 each: split.
  EXPECT_EQ(plan_shards(audited, 2).pieces[0], 2);
  // Protections of one scheme stay together (an attribution needs all four).
  const SuiteSpec attributed = suite("models: [big]\ndata: \"bb:seed=1,seqs=16,len=32,k=2,vocab=16\"\n"
                                     "schemes: [W4A4]\nattribution: true\n");
  const ShardPlan one = plan_shards(attributed, 4);
  for (const auto& c : one.cases) EXPECT_EQ(c.shard, one.cases[0].shard);
}

TEST_F(PlanTest, EveryCaseInExactlyOneShardInPlanOrderAndDeterministic) {
  const SuiteSpec s = suite("models: [big, tiny, mid, small]\n"
                            "data: [\"bb:seed=1,seqs=16,len=32,k=2,vocab=16\", \"bb:seed=2,seqs=4,len=32,k=2,vocab=16\"]\n"
                            "schemes: [W8A8, W4A4, W4A8]\nattribution: true\naudit: true\n");
  const std::vector<PlannedCase> all = plan_cases(s);
  for (int n : {1, 2, 3, 5, 7, 40}) {
    const ShardPlan plan = plan_shards(s, n);
    const ShardPlan again = plan_shards(s, n);
    ASSERT_EQ(plan.cases.size(), all.size());
    std::vector<int> seen(all.size(), 0);
    for (int i = 0; i < n; ++i) {
      const auto mine = shard_cases(s, Shard{i, n});
      long previous = -1;
      for (const auto& c : mine) {
        const auto at = static_cast<size_t>(std::find_if(all.begin(), all.end(), [&](const PlannedCase& p) {
                                              return p.group == c.group && p.protection == c.protection;
                                            }) - all.begin());
        ASSERT_LT(at, all.size());
        EXPECT_GT(static_cast<long>(at), previous) << "plan order, n=" << n;
        previous = static_cast<long>(at);
        ++seen[at];
        EXPECT_EQ(plan.cases[at].shard, i);
      }
    }
    for (size_t k = 0; k < all.size(); ++k) EXPECT_EQ(seen[k], 1) << "case " << k << " of n=" << n;
    for (size_t k = 0; k < all.size(); ++k) EXPECT_EQ(plan.cases[k].shard, again.cases[k].shard);
    // The audit of a pair is computed by a shard that holds one of its cases.
    for (int m = 0; m < 4; ++m) {
      for (int d = 0; d < 2; ++d) {
        const int owner = plan.audit_shard(m, d);
        EXPECT_TRUE(std::any_of(plan.cases.begin(), plan.cases.end(), [&](const PlannedCase& c) {
          return c.model == m && c.data == d && c.shard == owner;
        }));
      }
    }
  }
}

TEST_F(PlanTest, UnreadableDataIsBadInputNamingIt) {
  try {  // found when the suite is read, before any planning
    const SuiteSpec s = suite("models: [tiny]\ndata: \"tokens:missing.u16\"\nschemes: [W8A8]\n");
    (void)plan_shards(s, 2);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tokens:missing.u16"), std::string::npos) << e.what();
  }
  // A flat token file: its size in tokens (u16: 2 bytes each) is the data size.
  std::ofstream(dir_ / "ids.u16", std::ios::binary) << std::string(2 * 96, '\0');
  const SuiteSpec t = suite("models: [tiny]\ndata: \"tokens:ids.u16,len=32\"\nschemes: [W8A8]\n");
  EXPECT_DOUBLE_EQ(estimate_costs(t)[0].fp_pass, 7712.0 * 96 / 1e9);
}

TEST(Shard, ParsesIOfN) {
  EXPECT_EQ(parse_shard("2/4").index, 1);
  EXPECT_EQ(parse_shard("2/4").count, 4);
  for (const char* bad : {"0/3", "4/3", "1/0", "x", "1/", "/2", "1/2/3", "-1/2"}) {
    EXPECT_THROW(parse_shard(bad), InputError) << bad;
  }
}

}  // namespace
}  // namespace qh::suite
