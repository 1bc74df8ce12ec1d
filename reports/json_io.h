// Reading and writing the harness's JSON files with one set of helpers. Every reader names the field it
// rejects ("results.json.cases[3].metrics.kld_mean: expected a number, got string"), and every file the
// harness writes starts with the same versioned header (schema_version, kind), ARCHITECTURE.md 2.7.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qh::reports {

using ojson = nlohmann::ordered_json;  // keys in the order written, so files diff well and metrics keep their order

// The version of every JSON document the harness writes: results.json and the case cache (kind "results"),
// `eval --json` ("eval"), audit.json ("audit"). A change of meaning of any key bumps it.
inline constexpr int kSchemaVersion = 1;
inline constexpr int kOldestSchemaVersion = 1;  // the oldest version this build still reads

// schema_version and kind first in a document.
template <typename Json>
void put_schema_header(Json* j, const char* kind) {
  (*j)["schema_version"] = kSchemaVersion;
  (*j)["kind"] = kind;
}
// InputError naming `where` unless `j` carries a schema_version this build reads and, when it names its kind,
// the expected kind (files written before kinds existed have none).
void check_schema_header(const ojson& j, const std::string& where, const char* kind);

// Numbers as written: non-finite values become null already in memory, so that two documents compare equal
// exactly when their files do (NaN != NaN in a comparison of JSON values).
ojson json_number(double v);
ojson json_numbers(const std::vector<double>& v);
ojson json_numbers(const std::vector<std::vector<double>>& grid);

[[noreturn]] void json_fail(const std::string& where, const std::string& what);

// One JSON value at `where` into a C++ value. Numbers may be null (NaN: JSON has no NaN or infinity).
void read_json(const ojson& j, const std::string& where, double* out);
void read_json(const ojson& j, const std::string& where, int* out);
void read_json(const ojson& j, const std::string& where, bool* out);
void read_json(const ojson& j, const std::string& where, std::string* out);
template <typename T>
void read_json(const ojson& j, const std::string& where, std::vector<T>* out) {
  if (!j.is_array()) json_fail(where, "expected an array");
  out->assign(j.size(), T{});
  for (size_t i = 0; i < j.size(); ++i) read_json(j[i], where + "[" + std::to_string(i) + "]", &(*out)[i]);
}
// An object of name: value, in the file's order.
template <typename T>
void read_json(const ojson& j, const std::string& where, std::vector<std::pair<std::string, T>>* out) {
  if (!j.is_object()) json_fail(where, "expected an object of name: value");
  out->clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    T v{};
    read_json(it.value(), where + "." + it.key(), &v);
    out->emplace_back(it.key(), v);
  }
}
template <typename T>
void read_json(const ojson& j, const std::string& where, std::map<std::string, T>* out) {
  std::vector<std::pair<std::string, T>> items;
  read_json(j, where, &items);
  out->clear();
  out->insert(items.begin(), items.end());
}

// The members of one JSON object, read by name; errors name `where.member`.
class JsonFields {
 public:
  JsonFields(const ojson& j, std::string where);
  const std::string& where() const { return where_; }
  std::string where(const char* name) const { return where_ + "." + name; }
  bool has(const char* name) const { return j_.contains(name); }
  const ojson& at(const char* name) const;  // InputError when missing
  template <typename T>
  void required(const char* name, T* out) const {
    read_json(at(name), where(name), out);
  }
  template <typename T>
  void optional(const char* name, T* out) const {  // left as it is when absent
    if (has(name)) read_json(j_[name], where(name), out);
  }

 private:
  const ojson& j_;
  std::string where_;
};

// ojson from a file (InputError: cannot open / not valid JSON, naming the path).
ojson read_json_file(const std::string& path);

}  // namespace qh::reports
