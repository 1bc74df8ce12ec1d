#include "src/suite/yaml_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/train/yaml_keys.h"
#include "src/core/error.h"

namespace qh::suite {

std::string location(const std::string& file, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

int edit_distance(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  int best_d = std::numeric_limits<int>::max();
  for (const auto& c : candidates) {
    const int d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // Close enough to be a typo: at most a third of the word's length (and at least one edit allowed).
  const int limit = std::max<int>(1, static_cast<int>(word.size()) / 3);
  return best_d <= limit ? best : std::string();
}

void YamlReader::fail(const YAML::Node& node, const std::string& path, const std::string& what) const {
  throw InputError(location(file_, node) + ": " + (path.empty() ? "" : path + ": ") + what);
}

namespace {

const char* kind_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "an undefined node";
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

void YamlReader::expect_map(const YAML::Node& node, const std::string& path) const {
  if (!node.IsMap()) fail(node, path, std::string("expected a mapping, got ") + kind_name(node));
}

void YamlReader::expect_map(const YAML::Node& node, const std::string& path,
                            const std::vector<std::string>& allowed) const {
  expect_map(node, path);
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) fail(it->first, path, "keys must be plain names");
    const std::string key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    const std::string hint = did_you_mean(key, allowed);
    fail(it->first, path.empty() ? key : path + "." + key,
         "unknown key" + (hint.empty() ? "; expected one of: " + join(allowed) : "; did you mean '" + hint + "'?"));
  }
}

void YamlReader::expect_sequence(const YAML::Node& node, const std::string& path) const {
  if (!node.IsSequence()) fail(node, path, std::string("expected a list, got ") + kind_name(node));
}

std::string YamlReader::get_string(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path, std::string("expected a string, got ") + kind_name(node));
  return node.Scalar();
}

double YamlReader::get_number(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path, std::string("expected a number, got ") + kind_name(node));
  double v = 0;
  try {
    v = node.as<double>();
  } catch (const YAML::Exception&) {
    fail(node, path, "expected a number, got '" + node.Scalar() + "'");
  }
  // .nan would make every comparison false (a threshold that can never fail or never pass), .inf no limit.
  if (!std::isfinite(v)) fail(node, path, "expected a finite number, got '" + node.Scalar() + "'");
  return v;
}

int64_t YamlReader::get_int(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path, std::string("expected an integer, got ") + kind_name(node));
  try {
    return node.as<int64_t>();
  } catch (const YAML::Exception&) {
    fail(node, path, "expected an integer, got '" + node.Scalar() + "'");
  }
}

bool YamlReader::get_bool(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path, std::string("expected true or false, got ") + kind_name(node));
  try {
    return node.as<bool>();
  } catch (const YAML::Exception&) {
    fail(node, path, "expected true or false, got '" + node.Scalar() + "'");
  }
}

std::vector<std::string> YamlReader::get_string_list(const YAML::Node& node, const std::string& path) const {
  if (node.IsScalar()) return {node.Scalar()};
  expect_sequence(node, path);
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) out.push_back(get_string(node[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

YAML::Node load_yaml_string(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": YAML syntax error: " + e.msg);
  }
  reject_duplicate_keys(root, name);
  return root;
}

}  // namespace qh::suite
