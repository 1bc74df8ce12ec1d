// Typed field access for config files with messages that name the file and the field:
//   "<file>: <field>: expected a positive integer, got "abc"".
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace qh::json_util {

using nlohmann::json;

// One object being read: the file label and the dotted path of the object ("" at the top level).
struct Fields {
  const json& obj;
  std::string file;
  std::string path;

  std::string field(const std::string& key) const { return path.empty() ? key : path + "." + key; }
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;
  bool has(const std::string& key) const { return obj.contains(key) && !obj.at(key).is_null(); }

  // Required when no default is given; null counts as absent.
  int positive_int(const std::string& key, std::optional<int> dflt = std::nullopt) const;
  int int_value(const std::string& key, std::optional<int> dflt = std::nullopt) const;
  double number(const std::string& key, std::optional<double> dflt = std::nullopt) const;
  bool boolean(const std::string& key, std::optional<bool> dflt = std::nullopt) const;
  std::string string(const std::string& key, std::optional<std::string> dflt = std::nullopt) const;
  // A required nested object.
  Fields object(const std::string& key) const;
  // Throws naming the first key not in `known`.
  void only_keys(std::initializer_list<const char*> known) const;
};

// Short rendering of a JSON value for messages (truncated).
std::string brief(const json& v);

}  // namespace qh::json_util
