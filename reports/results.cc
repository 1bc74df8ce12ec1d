#include "reports/results.h"

#include <cmath>

#include "src/core/atomic_file.h"
#include "src/core/error.h"

namespace qh::reports {


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
// JSON: one to_json / read_json pair per struct (reports/json_io.h). Non-finite numbers are written as null
// (nlohmann's dump does so) and read back as NaN.

namespace {

ojson as_object(const std::vector<std::pair<std::string, double>>& items) {
  ojson o = ojson::object();
  for (const auto& [k, v] : items) o[k] = json_number(v);
  return o;
}

}  // namespace

void to_json(ojson& j, const Environment& e) {
  j = ojson{{"git_revision", e.git_revision}, {"cpu", e.cpu},         {"onednn_isa", e.onednn_isa},
            {"threads", e.threads},           {"versions", e.versions}};
}

void read_json(const ojson& j, const std::string& where, Environment* e) {
  const JsonFields f(j, where);
  f.optional("git_revision", &e->git_revision);
  f.optional("cpu", &e->cpu);
  f.optional("onednn_isa", &e->onednn_isa);
  f.optional("threads", &e->threads);
  f.optional("versions", &e->versions);
}

void to_json(ojson& j, const AuditSummary& a) {
  j = ojson{{"residual_peak", json_numbers(a.residual_peak)},
            {"residual_norm_sink", json_numbers(a.residual_norm_sink)},
            {"residual_norm_median", json_numbers(a.residual_norm_median)},
            {"sink_mass", json_numbers(a.sink_mass)},
            {"sink_key", a.sink_key},
            {"dormant_frac", json_numbers(a.dormant_frac)},
            {"value_drain", json_numbers(a.value_drain)},
            {"kurtosis", json_numbers(a.kurtosis)},
            {"max_abs", json_numbers(a.max_abs)},
            {"outlier_channels", a.outlier_channels}};
}

void read_json(const ojson& j, const std::string& where, AuditSummary* a) {
  const JsonFields f(j, where);
  f.optional("residual_peak", &a->residual_peak);
  f.optional("residual_norm_sink", &a->residual_norm_sink);
  f.optional("residual_norm_median", &a->residual_norm_median);
  f.optional("sink_mass", &a->sink_mass);
  f.optional("sink_key", &a->sink_key);
  f.optional("dormant_frac", &a->dormant_frac);
  f.optional("value_drain", &a->value_drain);
  f.optional("kurtosis", &a->kurtosis);
  f.optional("max_abs", &a->max_abs);
  f.optional("outlier_channels", &a->outlier_channels);
}

// An attribution is written under its metric's name (the case's "attribution" object is keyed by metric).
void to_json(ojson& j, const Attribution& a) {
  j = ojson{{"phi_tokens", json_number(a.phi_tokens)},     {"phi_channels", json_number(a.phi_channels)},
            {"rest", json_number(a.rest)},                 {"total", json_number(a.total)},
            {"share_tokens", json_number(a.share_tokens)}, {"share_channels", json_number(a.share_channels)},
            {"share_rest", json_number(a.share_rest)}};
}

void read_json(const ojson& j, const std::string& where, Attribution* a) {
  const JsonFields f(j, where);
  f.required("phi_tokens", &a->phi_tokens);
  f.required("phi_channels", &a->phi_channels);
  f.required("rest", &a->rest);
  f.required("total", &a->total);
  f.required("share_tokens", &a->share_tokens);
  f.required("share_channels", &a->share_channels);
  f.required("share_rest", &a->share_rest);
}

void to_json(ojson& j, const Verdict& v) {
  j = ojson{{"name", v.name},         {"kind", to_string(v.kind)}, {"passed", v.passed},
            {"message", v.message},   {"value", json_number(v.value)}, {"limit", json_number(v.limit)}};
}

void read_json(const ojson& j, const std::string& where, Verdict* v) {
  const JsonFields f(j, where);
  f.required("name", &v->name);
  std::string kind;
  f.required("kind", &kind);
  if (kind == "threshold") {
    v->kind = VerdictKind::kThreshold;
  } else if (kind == "expectation") {
    v->kind = VerdictKind::kExpectation;
  } else if (kind == "baseline") {
    v->kind = VerdictKind::kBaseline;
  } else {
    json_fail(f.where("kind"), "unknown verdict kind '" + kind + "' (expected threshold, expectation or baseline)");
  }
  f.required("passed", &v->passed);
  f.optional("message", &v->message);
  f.optional("value", &v->value);
  f.optional("limit", &v->limit);
}

void to_json(ojson& j, const CaseResult& c) {
  j = ojson::object();
  j["model"] = c.model;
  j["data"] = c.data;
  j["scheme"] = c.scheme;
  j["protection"] = c.protection;
  j["method"] = c.method;
  j["checkpoint"] = c.checkpoint;
  if (!c.tokenizer.empty()) j["tokenizer"] = c.tokenizer;
  if (!c.protocol.empty()) j["protocol"] = c.protocol;
  j["metrics"] = as_object(c.metrics.items());
  j["site_sqnr_db"] = as_object(c.site_sqnr_db);
  if (!c.audit.empty()) j["audit"] = c.audit;
  if (!c.attribution.empty()) {
    ojson a = ojson::object();
    for (const Attribution& at : c.attribution) a[at.metric] = at;
    j["attribution"] = a;
  }
  j["seconds"] = json_number(c.seconds);
  if (c.method != "rtn") j["method_seconds"] = json_number(c.method_seconds);
  if (!c.engine_impl.empty()) j["engine_impl"] = c.engine_impl;
}

void read_json(const ojson& j, const std::string& where, CaseResult* c) {
  const JsonFields f(j, where);
  f.required("model", &c->model);
  f.required("data", &c->data);
  f.required("scheme", &c->scheme);
  f.required("protection", &c->protection);
  f.optional("method", &c->method);  // absent before methods existed: rtn
  f.optional("checkpoint", &c->checkpoint);
  f.optional("tokenizer", &c->tokenizer);
  f.optional("protocol", &c->protocol);
  std::vector<std::pair<std::string, double>> metrics;
  f.required("metrics", &metrics);
  for (const auto& [k, v] : metrics) c->metrics.set(k, v);
  f.optional("site_sqnr_db", &c->site_sqnr_db);
  f.optional("audit", &c->audit);
  std::vector<std::pair<std::string, Attribution>> attribution;
  f.optional("attribution", &attribution);
  for (auto& [metric, a] : attribution) {
    a.metric = metric;
    c->attribution.push_back(a);
  }
  f.optional("seconds", &c->seconds);
  f.optional("method_seconds", &c->method_seconds);
  f.optional("engine_impl", &c->engine_impl);
}

void to_json(ojson& j, const Results& r) {
  j = ojson::object();
  j["schema_version"] = r.schema_version;
  j["kind"] = kResultsKind;
  j["suite"] = r.suite;
  j["created_utc"] = r.created_utc;
  if (!r.shard.empty()) j["shard"] = r.shard;
  if (!r.suite_file.empty()) j["suite_file"] = r.suite_file;
  if (!r.suite_hash.empty()) j["suite_hash"] = r.suite_hash;
  j["environment"] = r.environment;
  j["cases"] = r.cases;
  j["verdicts"] = r.verdicts;
  j["summary"] = ojson{{"cases", r.cases.size()}, {"checks", r.verdicts.size()}, {"failed", r.num_failed()}};
}

void read_json(const ojson& j, const std::string& where, Results* r) {
  check_schema_header(j, where, kResultsKind);
  const JsonFields f(j, where);
  f.required("schema_version", &r->schema_version);
  f.optional("suite", &r->suite);
  f.optional("created_utc", &r->created_utc);
  f.optional("shard", &r->shard);
  f.optional("suite_file", &r->suite_file);
  f.optional("suite_hash", &r->suite_hash);
  f.optional("environment", &r->environment);
  f.required("cases", &r->cases);
  f.optional("verdicts", &r->verdicts);
}

ojson to_json(const CaseResult& c) { return c; }
ojson to_json(const Results& r) { return r; }

CaseResult case_from_json(const ojson& j, const std::string& where) {
  CaseResult c;
  read_json(j, where, &c);
  return c;
}

Results results_from_json(const ojson& j, const std::string& where) {
  Results r;
  read_json(j, where, &r);
  return r;
}

void write_results(const std::string& path, const Results& r) { write_file_atomic(path, to_json(r).dump(2) + "\n"); }

Results read_results(const std::string& path) { return results_from_json(read_json_file(path), path); }

}  // namespace qh::reports
