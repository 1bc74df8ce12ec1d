// The cases of a suite: model x data x scheme x protection, in a fixed order (the order of results.json).
// Sharding deals out whole (model, data, scheme) groups, so the four protections of an attribution always land
// in the same shard; group g runs in shard g mod N.
#pragma once

#include <string>
#include <vector>

#include "src/suite/suite.h"

namespace qh::suite {

struct PlannedCase {
  int model = 0, data = 0, scheme = 0;  // indices into the suite's lists
  std::string protection;
  int group = 0;                        // (model, data, scheme) group index
};

struct Shard {
  int index = 0, count = 1;  // 0-based index of count
  bool all() const { return count == 1; }
  std::string to_string() const;  // "I/N" with 1-based I
};
// "I/N" with 1 <= I <= N; InputError otherwise.
Shard parse_shard(const std::string& text);

std::vector<PlannedCase> plan_cases(const SuiteSpec& suite);
std::vector<PlannedCase> shard_cases(const std::vector<PlannedCase>& cases, const Shard& shard);

}  // namespace qh::suite
