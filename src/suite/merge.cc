#include "src/suite/merge.h"

#include <map>

#include "src/core/error.h"

namespace qh::suite {

reports::Results merge_parts(const std::vector<reports::Results>& parts, const std::vector<std::string>& names) {
  if (parts.empty()) throw InputError("merge: give at least one results file");
  reports::Results out;
  out.suite = parts[0].suite;
  out.suite_file = parts[0].suite_file;
  out.created_utc = parts[0].created_utc;
  out.environment = parts[0].environment;
  std::map<std::string, size_t> seen;  // case key -> part index
  for (size_t p = 0; p < parts.size(); ++p) {
    const std::string& name = p < names.size() ? names[p] : "part " + std::to_string(p + 1);
    if (parts[p].suite != out.suite) {
      throw InputError(name + ": suite '" + parts[p].suite + "' differs from '" + out.suite + "' of " + names[0]);
    }
    if (parts[p].created_utc > out.created_utc) out.created_utc = parts[p].created_utc;
    for (const auto& c : parts[p].cases) {
      auto it = seen.find(c.key());
      if (it != seen.end()) {
        const auto* prior = out.find_case(c.model, c.data, c.scheme, c.protection);
        if (!(prior && *prior == c)) {
          throw InputError(name + ": case " + c.key() + " differs from the same case in " + names[it->second]);
        }
        continue;
      }
      seen.emplace(c.key(), p);
      out.cases.push_back(c);
    }
  }
  return out;
}

}  // namespace qh::suite
