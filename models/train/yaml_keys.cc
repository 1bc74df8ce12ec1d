#include "models/train/yaml_keys.h"

#include <map>

#include "src/core/error.h"

namespace qh {
namespace {

std::string position(const YAML::Mark& m) { return std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1); }

void check(const YAML::Node& node, const std::string& file, int depth) {
  if (depth > 256) throw InputError(file + ": YAML nested more than 256 levels deep");
  if (node.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar()) {
        const auto [at, inserted] = seen.emplace(it->first.Scalar(), it->first.Mark());
        if (!inserted)
          throw InputError(file + ":" + position(it->first.Mark()) + ": duplicate key '" + it->first.Scalar() +
                           "' (first given at " + position(at->second) + ")");
      }
      check(it->second, file, depth + 1);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) check(item, file, depth + 1);
  }
}

}  // namespace

void reject_duplicate_keys(const YAML::Node& root, const std::string& file) { check(root, file, 0); }

}  // namespace qh
