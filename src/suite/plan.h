// The cases of a suite: model x data x method x scheme x protection, in a fixed order (the order of results.json), and
// how `run --shard I/N` (and the workers of `run --jobs N`) share them out.
//
// Sharding balances estimated cost, not case counts. The unit of work is a (model, data) pair: one
// full-precision pass (plus the audit, when asked) shared by all its schemes, and one quantized pass per
// (scheme, protection) case. A pair is kept whole in one shard unless splitting it (by schemes; the protections
// of one (method, scheme) always stay together, because an attribution needs all four) shortens the longest shard even
// though every piece repeats the shared fp pass and audit. Units go to the least loaded shard, largest first
// (LPT). Everything is a function of the suite's text and the sizes of its inputs (model shapes, data lengths),
// never of the machine, the clock or what is cached: every node computes the same plan.
#pragma once

#include <string>
#include <vector>

#include "src/suite/suite.h"

namespace qh::suite {

struct PlannedCase {
  int model = 0, data = 0, scheme = 0;  // indices into the suite's lists
  std::string protection;
  int group = 0;                        // (model, data, method, scheme) group index
  int shard = 0;                        // 0-based shard of the plan it came from (0 from plan_cases)
  int method = 0;                       // index into the suite's methods
};

struct Shard {
  int index = 0, count = 1;  // 0-based index of count
  bool all() const { return count == 1; }
  std::string to_string() const;  // "I/N" with 1-based I
};
// "I/N" with 1 <= I <= N; InputError otherwise.
Shard parse_shard(const std::string& text);

// Every case of the suite in results order (shard 0).
std::vector<PlannedCase> plan_cases(const SuiteSpec& suite);

// The estimated work of a (model, data) pair, in GFLOP (2 x multiply-adds of the matmuls and attention).
struct PairCost {
  double fp_pass = 0;   // one full-precision pass over the data: also the cost of each quantized case
  double shared = 0;    // what every shard holding part of the pair pays once: fp pass, calibration, audit
  double per_case = 0;  // one (scheme, protection) case
};
// Indexed [model * D + data]. Throws InputError when a model's shape or a data file's size cannot be read.
std::vector<PairCost> estimate_costs(const SuiteSpec& suite);

struct ShardPlan {
  int count = 1;
  std::vector<PlannedCase> cases;  // plan order, each with its shard
  std::vector<double> cost;        // [shard] estimated GFLOP
  std::vector<int> pieces;         // [model * D + data] how many shards the pair was split over
  // The shard that computes the audit of (model, data) in a parallel run: the one holding its first case.
  int audit_shard(int model, int data) const;
};
ShardPlan plan_shards(const SuiteSpec& suite, int count);

// The cases of one shard in plan order (the whole suite when shard.all(), without estimating costs).
std::vector<PlannedCase> shard_cases(const SuiteSpec& suite, const Shard& shard);

// The plan as a table: one line per (model, data, scheme) group with its shard and cost, then per-shard totals.
std::string format_plan(const SuiteSpec& suite, const ShardPlan& plan);

}  // namespace qh::suite
