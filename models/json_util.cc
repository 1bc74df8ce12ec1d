#include "models/json_util.h"

#include <cmath>
#include <limits>

#include "src/core/error.h"

namespace qh::json_util {

std::string brief(const json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

void Fields::fail(const std::string& key, const std::string& expected) const {
  throw InputError(file + ": " + field(key) + ": " + expected);
}

int Fields::int_value(const std::string& key, std::optional<int> dflt) const {
  if (!has(key)) {
    if (dflt) return *dflt;
    fail(key, "missing (expected an integer)");
  }
  const json& v = obj.at(key);
  if (!v.is_number_integer()) fail(key, "expected an integer, got " + brief(v));
  const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > INT32_MAX ? INT64_MAX : v.get<int64_t>();
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    fail(key, "expected an integer in 32-bit range, got " + brief(v));
  return static_cast<int>(x);
}

int Fields::positive_int(const std::string& key, std::optional<int> dflt) const {
  if (!has(key)) {
    if (dflt) return *dflt;
    fail(key, "missing (expected a positive integer)");
  }
  const json& v = obj.at(key);
  if (!v.is_number_integer()) fail(key, "expected a positive integer, got " + brief(v));
  if (v.is_number_unsigned() ? v.get<uint64_t>() == 0 || v.get<uint64_t>() > (1u << 24)
                             : v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 24))
    fail(key, "expected a positive integer no larger than 16777216, got " + brief(v));
  return static_cast<int>(v.get<int64_t>());
}

double Fields::number(const std::string& key, std::optional<double> dflt) const {
  if (!has(key)) {
    if (dflt) return *dflt;
    fail(key, "missing (expected a number)");
  }
  const json& v = obj.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) fail(key, "expected a finite number, got " + brief(v));
  return v.get<double>();
}

bool Fields::boolean(const std::string& key, std::optional<bool> dflt) const {
  if (!has(key)) {
    if (dflt) return *dflt;
    fail(key, "missing (expected true or false)");
  }
  const json& v = obj.at(key);
  if (!v.is_boolean()) fail(key, "expected true or false, got " + brief(v));
  return v.get<bool>();
}

std::string Fields::string(const std::string& key, std::optional<std::string> dflt) const {
  if (!has(key)) {
    if (dflt) return *dflt;
    fail(key, "missing (expected a string)");
  }
  const json& v = obj.at(key);
  if (!v.is_string()) fail(key, "expected a string, got " + brief(v));
  return v.get<std::string>();
}

Fields Fields::object(const std::string& key) const {
  if (!has(key)) fail(key, "missing (expected an object)");
  const json& v = obj.at(key);
  if (!v.is_object()) fail(key, "expected an object, got " + brief(v));
  return Fields{v, file, field(key)};
}

void Fields::only_keys(std::initializer_list<const char*> known) const {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail(it.key(), "unknown key (expected one of: " + list + ")");
    }
  }
}

}  // namespace qh::json_util
