#include "src/suite/plan.h"

#include "src/core/error.h"

namespace qh::suite {

std::string Shard::to_string() const { return std::to_string(index + 1) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  auto bad = [&]() { return InputError("--shard '" + text + "': expected I/N with 1 <= I <= N (e.g. 2/4)"); };
  if (slash == std::string::npos) throw bad();
  int i = 0, n = 0;
  try {
    size_t used = 0;
    i = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw bad();
    n = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  if (n < 1 || i < 1 || i > n) throw bad();
  return Shard{i - 1, n};
}

std::vector<PlannedCase> plan_cases(const SuiteSpec& suite) {
  std::vector<PlannedCase> out;
  int group = 0;
  for (size_t m = 0; m < suite.models.size(); ++m) {
    for (size_t d = 0; d < suite.data.size(); ++d) {
      for (size_t s = 0; s < suite.schemes.size(); ++s, ++group) {
        for (const auto& p : suite.protections) {
          out.push_back(PlannedCase{static_cast<int>(m), static_cast<int>(d), static_cast<int>(s), p, group});
        }
      }
    }
  }
  return out;
}

std::vector<PlannedCase> shard_cases(const std::vector<PlannedCase>& cases, const Shard& shard) {
  std::vector<PlannedCase> out;
  for (const auto& c : cases) {
    if (c.group % shard.count == shard.index) out.push_back(c);
  }
  return out;
}

}  // namespace qh::suite
