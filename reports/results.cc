#include "reports/results.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "src/core/atomic_file.h"
#include "src/core/error.h"

namespace qh::reports {

using ojson = nlohmann::ordered_json;
using json = nlohmann::ordered_json;  // reading keeps the file's key order

void MetricMap::set(const std::string& name, double value) {
  for (auto& [k, v] : items_) {
    if (k == name) {
      v = value;
      return;
    }
  }
  items_.emplace_back(name, value);
}

std::optional<double> MetricMap::get(const std::string& name) const {
  for (const auto& [k, v] : items_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

namespace {

bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool same_items(const std::vector<std::pair<std::string, double>>& a,
                const std::vector<std::pair<std::string, double>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || !same_number(a[i].second, b[i].second)) return false;
  }
  return true;
}

}  // namespace

bool MetricMap::operator==(const MetricMap& o) const { return same_items(items_, o.items_); }

namespace {

bool same_vec(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_number(a[i], b[i])) return false;
  }
  return true;
}

bool same_grid(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_vec(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace

bool AuditSummary::operator==(const AuditSummary& o) const {
  // NaN equals NaN: a statistic undefined in both (e.g. a value drain over a zero median).
  return same_vec(residual_peak, o.residual_peak) && same_vec(residual_norm_sink, o.residual_norm_sink) &&
         same_vec(residual_norm_median, o.residual_norm_median) && same_grid(sink_mass, o.sink_mass) &&
         sink_key == o.sink_key && same_grid(dormant_frac, o.dormant_frac) && same_grid(value_drain, o.value_drain) &&
         same_vec(kurtosis, o.kurtosis) && same_vec(max_abs, o.max_abs) && outlier_channels == o.outlier_channels;
}

bool Attribution::operator==(const Attribution& o) const {
  return metric == o.metric && same_number(phi_tokens, o.phi_tokens) &&
         same_number(phi_channels, o.phi_channels) && same_number(rest, o.rest) && same_number(total, o.total) &&
         same_number(share_tokens, o.share_tokens) && same_number(share_channels, o.share_channels) &&
         same_number(share_rest, o.share_rest);
}

std::string CaseResult::key() const {
  return model + "|" + data + "|" + scheme + "|" + protection + (method == "rtn" ? "" : "|" + method);
}

const Attribution* CaseResult::attribution_for(const std::string& name) const {
  for (const auto& a : attribution) {
    if (a.metric == name) return &a;
  }
  return nullptr;
}

bool CaseResult::operator==(const CaseResult& o) const {
  return model == o.model && data == o.data && scheme == o.scheme && protection == o.protection &&
         tokenizer == o.tokenizer && protocol == o.protocol && method == o.method && metrics == o.metrics && same_items(site_sqnr_db, o.site_sqnr_db) && audit == o.audit && attribution == o.attribution;
}

const char* to_string(VerdictKind k) {
  switch (k) {
    case VerdictKind::kThreshold: return "threshold";
    case VerdictKind::kExpectation: return "expectation";
    case VerdictKind::kBaseline: return "baseline";
  }
  return "threshold";
}

bool Verdict::operator==(const Verdict& o) const {
  return name == o.name && kind == o.kind && passed == o.passed && message == o.message &&
         same_number(value, o.value) && same_number(limit, o.limit);
}

bool Results::all_passed() const { return num_failed() == 0; }

int Results::num_failed() const {
  int n = 0;
  for (const auto& v : verdicts) n += v.passed ? 0 : 1;
  return n;
}

const CaseResult* Results::find_case(const std::string& model, const std::string& data, const std::string& scheme,
                                     const std::string& protection, const std::string& method) const {
  for (const auto& c : cases) {
    if (c.model == model && c.data == data && c.scheme == scheme && c.protection == protection && c.method == method)
      return &c;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------
// Writing. JSON has no NaN / Inf: non-finite numbers are written as null and read back as NaN.

namespace {

ojson number(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

template <typename T>
ojson vec(const std::vector<T>& v) {
  ojson a = ojson::array();
  for (const auto& x : v) {
    if constexpr (std::is_floating_point_v<T>) {
      a.push_back(number(x));
    } else {
      a.push_back(x);
    }
  }
  return a;
}

template <typename T>
ojson grid(const std::vector<std::vector<T>>& g) {
  ojson a = ojson::array();
  for (const auto& row : g) a.push_back(vec(row));
  return a;
}

ojson to_json(const AuditSummary& a) {
  ojson j = ojson::object();
  j["residual_peak"] = vec(a.residual_peak);
  j["residual_norm_sink"] = vec(a.residual_norm_sink);
  j["residual_norm_median"] = vec(a.residual_norm_median);
  j["sink_mass"] = grid(a.sink_mass);
  j["sink_key"] = grid(a.sink_key);
  j["dormant_frac"] = grid(a.dormant_frac);
  j["value_drain"] = grid(a.value_drain);
  j["kurtosis"] = vec(a.kurtosis);
  j["max_abs"] = vec(a.max_abs);
  j["outlier_channels"] = grid(a.outlier_channels);
  return j;
}

}  // namespace

ojson to_json(const CaseResult& c) {
  ojson j = ojson::object();
  j["model"] = c.model;
  j["data"] = c.data;
  j["scheme"] = c.scheme;
  j["protection"] = c.protection;
  j["method"] = c.method;
  j["checkpoint"] = c.checkpoint;
  if (!c.tokenizer.empty()) j["tokenizer"] = c.tokenizer;
  if (!c.protocol.empty()) j["protocol"] = c.protocol;
  ojson m = ojson::object();
  for (const auto& [k, v] : c.metrics.items()) m[k] = number(v);
  j["metrics"] = m;
  ojson s = ojson::object();
  for (const auto& [k, v] : c.site_sqnr_db) s[k] = number(v);
  j["site_sqnr_db"] = s;
  if (!c.audit.empty()) j["audit"] = to_json(c.audit);
  if (!c.attribution.empty()) {
    ojson a = ojson::object();
    for (const auto& at : c.attribution) {
      a[at.metric] = ojson{{"phi_tokens", number(at.phi_tokens)},     {"phi_channels", number(at.phi_channels)},
                           {"rest", number(at.rest)},                 {"total", number(at.total)},
                           {"share_tokens", number(at.share_tokens)}, {"share_channels", number(at.share_channels)},
                           {"share_rest", number(at.share_rest)}};
    }
    j["attribution"] = a;
  }
  j["seconds"] = number(c.seconds);
  if (c.method != "rtn") j["method_seconds"] = number(c.method_seconds);
  if (!c.engine_impl.empty()) j["engine_impl"] = c.engine_impl;
  return j;
}

ojson to_json(const Results& r) {
  ojson j = ojson::object();
  j["schema_version"] = r.schema_version;
  j["suite"] = r.suite;
  j["created_utc"] = r.created_utc;
  if (!r.shard.empty()) j["shard"] = r.shard;
  if (!r.suite_file.empty()) j["suite_file"] = r.suite_file;
  if (!r.suite_hash.empty()) j["suite_hash"] = r.suite_hash;
  ojson env = ojson::object();
  env["git_revision"] = r.environment.git_revision;
  env["cpu"] = r.environment.cpu;
  env["onednn_isa"] = r.environment.onednn_isa;
  env["threads"] = r.environment.threads;
  ojson versions = ojson::object();
  for (const auto& [k, v] : r.environment.versions) versions[k] = v;
  env["versions"] = versions;
  j["environment"] = env;
  ojson cases = ojson::array();
  for (const auto& c : r.cases) cases.push_back(to_json(c));
  j["cases"] = cases;
  ojson verdicts = ojson::array();
  for (const auto& v : r.verdicts) {
    verdicts.push_back(ojson{{"name", v.name},
                             {"kind", to_string(v.kind)},
                             {"passed", v.passed},
                             {"message", v.message},
                             {"value", number(v.value)},
                             {"limit", number(v.limit)}});
  }
  j["verdicts"] = verdicts;
  j["summary"] = ojson{{"cases", r.cases.size()}, {"checks", r.verdicts.size()}, {"failed", r.num_failed()}};
  return j;
}

// ---------------------------------------------------------------------------------------------------------
// Reading, with messages that name the file and the field.

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw InputError(where + ": " + what);
}

const json& field(const json& j, const char* name, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object");
  auto it = j.find(name);
  if (it == j.end()) fail(where, std::string("missing field '") + name + "'");
  return *it;
}

double to_number(const json& j, const std::string& where) {
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!j.is_number()) fail(where, "expected a number, got " + std::string(j.type_name()));
  return j.get<double>();
}

std::string to_str(const json& j, const std::string& where) {
  if (!j.is_string()) fail(where, "expected a string, got " + std::string(j.type_name()));
  return j.get<std::string>();
}

std::string opt_str(const json& j, const char* name, const std::string& where) {
  auto it = j.find(name);
  return it == j.end() ? std::string() : to_str(*it, where + "." + name);
}

template <typename T>
std::vector<T> read_vec(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where, "expected an array");
  std::vector<T> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "]";
    if constexpr (std::is_floating_point_v<T>) {
      out.push_back(to_number(j[i], w));
    } else {
      if (!j[i].is_number_integer()) fail(w, "expected an integer");
      out.push_back(j[i].get<T>());
    }
  }
  return out;
}

template <typename T>
std::vector<std::vector<T>> read_grid(const json& j, const std::string& where) {
  if (!j.is_array()) fail(where, "expected an array of arrays");
  std::vector<std::vector<T>> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(read_vec<T>(j[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

AuditSummary audit_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object");
  AuditSummary a;
  auto get_vec = [&](const char* name, std::vector<double>* out) {
    if (j.contains(name)) *out = read_vec<double>(j[name], where + "." + name);
  };
  auto get_grid = [&](const char* name, std::vector<std::vector<double>>* out) {
    if (j.contains(name)) *out = read_grid<double>(j[name], where + "." + name);
  };
  get_vec("residual_peak", &a.residual_peak);
  get_vec("residual_norm_sink", &a.residual_norm_sink);
  get_vec("residual_norm_median", &a.residual_norm_median);
  get_grid("sink_mass", &a.sink_mass);
  if (j.contains("sink_key")) a.sink_key = read_grid<int>(j["sink_key"], where + ".sink_key");
  get_grid("dormant_frac", &a.dormant_frac);
  get_grid("value_drain", &a.value_drain);
  get_vec("kurtosis", &a.kurtosis);
  get_vec("max_abs", &a.max_abs);
  if (j.contains("outlier_channels")) {
    a.outlier_channels = read_grid<int>(j["outlier_channels"], where + ".outlier_channels");
  }
  return a;
}

VerdictKind kind_from_string(const std::string& s, const std::string& where) {
  if (s == "threshold") return VerdictKind::kThreshold;
  if (s == "expectation") return VerdictKind::kExpectation;
  if (s == "baseline") return VerdictKind::kBaseline;
  fail(where, "unknown verdict kind '" + s + "' (expected threshold, expectation or baseline)");
}

}  // namespace

CaseResult case_from_json(const json& j, const std::string& where) {
  CaseResult c;
  c.model = to_str(field(j, "model", where), where + ".model");
  c.data = to_str(field(j, "data", where), where + ".data");
  c.scheme = to_str(field(j, "scheme", where), where + ".scheme");
  c.protection = to_str(field(j, "protection", where), where + ".protection");
  if (j.contains("method")) c.method = to_str(j["method"], where + ".method");  // absent before methods: rtn
  c.checkpoint = opt_str(j, "checkpoint", where);
  c.tokenizer = opt_str(j, "tokenizer", where);
  c.protocol = opt_str(j, "protocol", where);
  const json& m = field(j, "metrics", where);
  if (!m.is_object()) fail(where + ".metrics", "expected an object of name: number");
  for (auto it = m.begin(); it != m.end(); ++it) {
    c.metrics.set(it.key(), to_number(it.value(), where + ".metrics." + it.key()));
  }
  if (j.contains("site_sqnr_db")) {
    const json& s = j["site_sqnr_db"];
    if (!s.is_object()) fail(where + ".site_sqnr_db", "expected an object of site: number");
    for (auto it = s.begin(); it != s.end(); ++it) {
      c.site_sqnr_db.emplace_back(it.key(), to_number(it.value(), where + ".site_sqnr_db." + it.key()));
    }
  }
  if (j.contains("audit")) c.audit = audit_from_json(j["audit"], where + ".audit");
  if (j.contains("attribution")) {
    const json& a = j["attribution"];
    if (!a.is_object()) fail(where + ".attribution", "expected an object of metric: {phi_tokens, ...}");
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string w = where + ".attribution." + it.key();
      Attribution at;
      at.metric = it.key();
      at.phi_tokens = to_number(field(it.value(), "phi_tokens", w), w + ".phi_tokens");
      at.phi_channels = to_number(field(it.value(), "phi_channels", w), w + ".phi_channels");
      at.rest = to_number(field(it.value(), "rest", w), w + ".rest");
      at.total = to_number(field(it.value(), "total", w), w + ".total");
      at.share_tokens = to_number(field(it.value(), "share_tokens", w), w + ".share_tokens");
      at.share_channels = to_number(field(it.value(), "share_channels", w), w + ".share_channels");
      at.share_rest = to_number(field(it.value(), "share_rest", w), w + ".share_rest");
      c.attribution.push_back(at);
    }
  }
  if (j.contains("seconds")) c.seconds = to_number(j["seconds"], where + ".seconds");
  if (j.contains("method_seconds")) c.method_seconds = to_number(j["method_seconds"], where + ".method_seconds");
  c.engine_impl = opt_str(j, "engine_impl", where);
  return c;
}

Results results_from_json(const json& j, const std::string& where) {
  Results r;
  const json& version = field(j, "schema_version", where);
  if (!version.is_number_integer()) fail(where + ".schema_version", "expected an integer");
  r.schema_version = version.get<int>();
  if (r.schema_version < 1 || r.schema_version > kSchemaVersion) {
    fail(where + ".schema_version", "unsupported version " + std::to_string(r.schema_version) +
                                        " (this qharness reads 1.." + std::to_string(kSchemaVersion) + ")");
  }
  r.suite = opt_str(j, "suite", where);
  r.created_utc = opt_str(j, "created_utc", where);
  r.shard = opt_str(j, "shard", where);
  r.suite_file = opt_str(j, "suite_file", where);
  r.suite_hash = opt_str(j, "suite_hash", where);
  if (j.contains("environment")) {
    const json& e = j["environment"];
    const std::string w = where + ".environment";
    if (!e.is_object()) fail(w, "expected an object");
    r.environment.git_revision = opt_str(e, "git_revision", w);
    r.environment.cpu = opt_str(e, "cpu", w);
    r.environment.onednn_isa = opt_str(e, "onednn_isa", w);
    if (e.contains("threads")) {
      if (!e["threads"].is_number_integer()) fail(w + ".threads", "expected an integer");
      r.environment.threads = e["threads"].get<int>();
    }
    if (e.contains("versions")) {
      const json& v = e["versions"];
      if (!v.is_object()) fail(w + ".versions", "expected an object of name: version");
      for (auto it = v.begin(); it != v.end(); ++it) {
        r.environment.versions[it.key()] = to_str(it.value(), w + ".versions." + it.key());
      }
    }
  }
  const json& cases = field(j, "cases", where);
  if (!cases.is_array()) fail(where + ".cases", "expected an array");
  for (size_t i = 0; i < cases.size(); ++i) {
    r.cases.push_back(case_from_json(cases[i], where + ".cases[" + std::to_string(i) + "]"));
  }
  if (j.contains("verdicts")) {
    const json& vs = j["verdicts"];
    if (!vs.is_array()) fail(where + ".verdicts", "expected an array");
    for (size_t i = 0; i < vs.size(); ++i) {
      const std::string w = where + ".verdicts[" + std::to_string(i) + "]";
      Verdict v;
      v.name = to_str(field(vs[i], "name", w), w + ".name");
      v.kind = kind_from_string(to_str(field(vs[i], "kind", w), w + ".kind"), w + ".kind");
      const json& passed = field(vs[i], "passed", w);
      if (!passed.is_boolean()) fail(w + ".passed", "expected true or false");
      v.passed = passed.get<bool>();
      v.message = opt_str(vs[i], "message", w);
      if (vs[i].contains("value")) v.value = to_number(vs[i]["value"], w + ".value");
      if (vs[i].contains("limit")) v.limit = to_number(vs[i]["limit"], w + ".limit");
      r.verdicts.push_back(v);
    }
  }
  return r;
}

void write_results(const std::string& path, const Results& r) { write_file_atomic(path, to_json(r).dump(2) + "\n"); }

Results read_results(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the results file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  json j;
  try {
    j = json::parse(buffer.str());
  } catch (const json::parse_error& e) {
    throw InputError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  return results_from_json(j, path);
}

}  // namespace qh::reports
