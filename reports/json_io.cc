#include "reports/json_io.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "src/core/error.h"

namespace qh::reports {

ojson json_number(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

ojson json_numbers(const std::vector<double>& v) {
  ojson a = ojson::array();
  for (double x : v) a.push_back(json_number(x));
  return a;
}

ojson json_numbers(const std::vector<std::vector<double>>& grid) {
  ojson a = ojson::array();
  for (const auto& row : grid) a.push_back(json_numbers(row));
  return a;
}

void json_fail(const std::string& where, const std::string& what) { throw InputError(where + ": " + what); }

void check_schema_header(const ojson& j, const std::string& where, const char* kind) {
  const JsonFields f(j, where);
  const ojson& version = f.at("schema_version");
  if (!version.is_number_integer()) json_fail(f.where("schema_version"), "expected an integer");
  const int v = version.get<int>();
  const std::string readable = std::to_string(kOldestSchemaVersion) + ".." + std::to_string(kSchemaVersion);
  if (v > kSchemaVersion)
    json_fail(f.where("schema_version"), "unsupported version " + std::to_string(v) +
                                             ": written by a newer qharness (this one reads versions " + readable + ")");
  if (v < kOldestSchemaVersion)
    json_fail(f.where("schema_version"), "unsupported version " + std::to_string(v) +
                                             ": written by an older qharness (this one reads versions " + readable +
                                             "); run it again with this one");
  std::string found;
  f.optional("kind", &found);
  if (!found.empty() && found != kind)
    json_fail(f.where("kind"), "the file's kind is '" + found + "'; expected '" + kind + "'");
}

void read_json(const ojson& j, const std::string& where, double* out) {
  if (j.is_null()) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  if (!j.is_number()) json_fail(where, "expected a number, got " + std::string(j.type_name()));
  *out = j.get<double>();
}

void read_json(const ojson& j, const std::string& where, int* out) {
  if (!j.is_number_integer()) json_fail(where, "expected an integer");
  *out = j.get<int>();
}

void read_json(const ojson& j, const std::string& where, bool* out) {
  if (!j.is_boolean()) json_fail(where, "expected true or false");
  *out = j.get<bool>();
}

void read_json(const ojson& j, const std::string& where, std::string* out) {
  if (!j.is_string()) json_fail(where, "expected a string, got " + std::string(j.type_name()));
  *out = j.get<std::string>();
}

JsonFields::JsonFields(const ojson& j, std::string where) : j_(j), where_(std::move(where)) {
  if (!j_.is_object()) json_fail(where_, "expected an object");
}

const ojson& JsonFields::at(const char* name) const {
  const auto it = j_.find(name);
  if (it == j_.end()) json_fail(where_, std::string("missing field '") + name + "'");
  return *it;
}

ojson read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return ojson::parse(buffer.str());
  } catch (const ojson::parse_error& e) {
    throw InputError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

}  // namespace qh::reports
