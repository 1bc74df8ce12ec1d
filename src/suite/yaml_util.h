// Typed access to a YAML document with error messages that name the file, line and column of the offending
// node ("suite.yaml:12:5: thresholds.W4A4.max_kld_mena: unknown key; did you mean 'max_kld_mean'?").
// Every problem is a qh::InputError.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace qh::suite {

// "file:line:col" of a node (1-based), or "file" when the node has no position.
std::string location(const std::string& file, const YAML::Node& node);

// Levenshtein distance, and the closest candidate within a small distance ("" when none is close).
int edit_distance(const std::string& a, const std::string& b);
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& path, const std::string& what) const;

  // Throws unless node is a mapping whose keys are all in `allowed` (unknown keys get a did-you-mean).
  void expect_map(const YAML::Node& node, const std::string& path, const std::vector<std::string>& allowed) const;
  void expect_map(const YAML::Node& node, const std::string& path) const;  // any keys
  void expect_sequence(const YAML::Node& node, const std::string& path) const;

  std::string get_string(const YAML::Node& node, const std::string& path) const;
  double get_number(const YAML::Node& node, const std::string& path) const;
  int64_t get_int(const YAML::Node& node, const std::string& path) const;
  bool get_bool(const YAML::Node& node, const std::string& path) const;
  // A scalar or a sequence of scalars, as strings.
  std::vector<std::string> get_string_list(const YAML::Node& node, const std::string& path) const;

 private:
  std::string file_;
};

// Parses YAML text read from `name`; a syntax error becomes an InputError with the file, line and column.
YAML::Node load_yaml_string(const std::string& text, const std::string& name);

}  // namespace qh::suite
