#include "src/suite/suite.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>

#include "models/data/data_spec.h"
#include "src/core/content_hash.h"
#include "src/core/error.h"
#include "reports/audit_metrics.h"
#include "reports/metric_info.h"
#include "src/suite/case_cache.h"
#include "src/eval/windows.h"
#include "src/suite/yaml_util.h"
#include "src/tasks/layouts.h"

namespace qh::suite {

namespace fs = std::filesystem;

const std::vector<std::string>& suite_top_level_keys() {
  static const std::vector<std::string> keys = {"name",       "description", "zoo",         "models",
                                                "data",       "tasks",       "schemes",     "protections", "attribution",
                                                "audit",      "eval",        "thresholds",  "expectations",
                                                "baseline",   "methods",     "method_calibration"};
  return keys;
}

const SchemeRef* SuiteSpec::find_scheme(const std::string& label) const {
  for (const auto& s : schemes) {
    if (s.label == label) return &s;
  }
  return nullptr;
}

const MethodRef* SuiteSpec::find_method(const std::string& label) const {
  for (const auto& m : methods) {
    if (m.label == label) return &m;
  }
  return nullptr;
}

const ModelRef* SuiteSpec::find_model(const std::string& name) const {
  for (const auto& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

namespace {

const std::vector<std::string> kProtections = {"none", "tokens", "channels", "both"};

// Paths in a suite are relative to the suite file's directory, so a suite runs the same from any directory.
std::string resolve(const std::string& suite_path, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  const fs::path dir = fs::path(suite_path).parent_path();
  return (dir / p).lexically_normal().string();
}

std::string list_of(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void check_measurable(const YamlReader& r, const YAML::Node& node, const std::string& path, const std::string& metric,
                      const SuiteSpec& s) {
  if (!reports::needs_oracle(metric)) return;  // the BB oracle's metrics exist only on bb: data
  for (const auto& d : s.data)
    if (d.rfind("bb:", 0) == 0) return;
  r.fail(node, path, "'" + metric + "' is measured only on bb: data, and this suite has none");
}

void check_metric(const YamlReader& r, const YAML::Node& node, const std::string& path, const std::string& metric) {
  if (reports::is_known_metric(metric)) return;
  const std::string hint = did_you_mean(metric, reports::known_metrics());
  r.fail(node, path,
         "unknown metric '" + metric + "'" +
             (hint.empty() ? "; known metrics: " + list_of(reports::known_metrics()) : "; did you mean '" + hint + "'?"));
}

// Thresholds and expectations may also name an audit summary (sink_mass_max, residual_peak_max, ...), which
// exists only when the suite runs the audit.
void check_checked_metric(const YamlReader& r, const YAML::Node& node, const std::string& path,
                          const std::string& metric, const SuiteSpec& s) {
  if (reports::is_audit_metric(metric)) {
    if (!s.audit) r.fail(node, path, "'" + metric + "' is an audit metric; it needs 'audit: true'");
    return;
  }
  if (reports::is_task_metric(metric) &&
      std::none_of(s.data.begin(), s.data.end(), [](const std::string& d) { return reports::is_task_data(d); }))
    r.fail(node, path, "'" + metric + "' is a task metric; it needs a 'tasks:' list");
  if (reports::is_known_metric(metric)) return check_measurable(r, node, path, metric, s);
  std::vector<std::string> names = reports::known_metrics();
  names.insert(names.end(), reports::audit_metric_names().begin(), reports::audit_metric_names().end());
  const std::string hint = did_you_mean(metric, names);
  r.fail(node, path,
         "unknown metric '" + metric + "'" +
             (hint.empty() ? "; known metrics: " + list_of(names) : "; did you mean '" + hint + "'?"));
}

ModelRef parse_model(const YamlReader& r, const YAML::Node& node, const std::string& path, const std::string& suite) {
  ModelRef m;
  m.where = location(r.file(), node);
  if (node.IsScalar()) {
    const std::string text = node.Scalar();
    if (text.empty()) r.fail(node, path, "empty model name");
    // A zoo entry is a plain name; anything that looks like a path is a checkpoint directory.
    if (text.find('/') != std::string::npos || text.rfind(".", 0) == 0) {
      m.name = text;
      m.path = resolve(suite, text);
    } else {
      m.name = m.zoo = text;
    }
    return m;
  }
  r.expect_map(node, path, {"name", "zoo", "path"});
  if (node["zoo"] && node["path"]) r.fail(node, path, "give either 'zoo' or 'path', not both");
  if (!node["zoo"] && !node["path"]) r.fail(node, path, "missing 'zoo' (a zoo entry name) or 'path' (a checkpoint)");
  if (node["zoo"]) m.zoo = r.get_string(node["zoo"], path + ".zoo");
  if (node["path"]) m.path = resolve(suite, r.get_string(node["path"], path + ".path"));
  m.name = node["name"] ? r.get_string(node["name"], path + ".name") : (m.zoo.empty() ? m.path : m.zoo);
  if (m.name.empty()) r.fail(node, path, "empty model name");
  return m;
}

SchemeRef parse_scheme_node(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  SchemeRef s;
  s.where = location(r.file(), node);
  const std::string where = s.where + ": " + path;
  if (node.IsScalar()) {
    try {
      s.scheme = parse_scheme(node.Scalar());
    } catch (const InputError& e) {
      throw InputError(where + ": " + e.what());
    }
    s.label = node.Scalar();
    return s;
  }
  r.expect_map(node, path);
  std::map<std::string, std::string> fields;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = r.get_string(it->first, path);
    fields[key] = r.get_string(it->second, path + "." + key);
  }
  s.scheme = scheme_from_fields(fields, where);
  s.label = s.scheme.name;
  if (s.label == "custom" && !fields.count("name")) {
    r.fail(node, path, "a scheme given field by field needs a 'name' (used in results and thresholds)");
  }
  return s;
}

void parse_eval(const YamlReader& r, const YAML::Node& node, EvalSettings* e) {
  r.expect_map(node, "eval",
               {"window", "stride", "protocol", "max_sequences", "calib_sequences", "tau_tokens", "top_k_channels",
                "tau_channels"});
  e->where = location(r.file(), node);
  if (node["window"]) e->window_where = location(r.file(), node["window"]);
  auto positive = [&](const char* key, int64_t min_value) -> int64_t {
    const int64_t v = r.get_int(node[key], std::string("eval.") + key);
    if (v < min_value) r.fail(node[key], std::string("eval.") + key, "must be >= " + std::to_string(min_value));
    return v;
  };
  if (node["window"]) e->window = positive("window", 0);
  if (node["stride"]) e->stride = positive("stride", 0);
  if (node["protocol"]) {
    e->protocol = r.get_string(node["protocol"], "eval.protocol");
    try {
      (void)eval::parse_protocol(e->protocol);
    } catch (const InputError& err) {
      r.fail(node["protocol"], "eval.protocol", err.what());
    }
    if (e->protocol != "windows" && node["stride"])
      r.fail(node["stride"], "eval.stride", "give either a stride or a protocol, not both");
  }
  if (node["max_sequences"]) e->max_sequences = positive("max_sequences", 0);
  if (node["calib_sequences"]) e->outliers.calib_sequences = static_cast<int>(positive("calib_sequences", 1));
  if (node["top_k_channels"]) e->outliers.top_k_channels = static_cast<int>(positive("top_k_channels", 0));
  if (node["tau_tokens"]) {
    e->outliers.tau_tokens = static_cast<float>(r.get_number(node["tau_tokens"], "eval.tau_tokens"));
    if (!(e->outliers.tau_tokens > 1)) r.fail(node["tau_tokens"], "eval.tau_tokens", "must be > 1 (a ratio to the median)");
  }
  if (node["tau_channels"]) {
    e->outliers.tau_channels = static_cast<float>(r.get_number(node["tau_channels"], "eval.tau_channels"));
    if (e->outliers.tau_channels < 0) r.fail(node["tau_channels"], "eval.tau_channels", "must be >= 0");
  }
}

// Each task file is read now (layout, every item), so a bad line fails before any model is trained.
void parse_tasks(const YamlReader& r, const YAML::Node& node, SuiteSpec* s) {
  const std::vector<std::string> files = r.get_string_list(node, "tasks");
  if (files.empty()) r.fail(node, "tasks", "the list is empty");
  for (size_t i = 0; i < files.size(); ++i) {
    const YAML::Node at = node.IsSequence() ? node[i] : node;
    const std::string path = "tasks[" + std::to_string(i) + "]";
    if (files[i].empty()) r.fail(at, path, "empty task file name");
    const std::string file = resolve(s->path, files[i]);
    try {
      (void)tasks::read_task_file(file);
    } catch (const InputError& e) {
      r.fail(at, path, e.what());
    }
    const std::string entry = reports::kTaskDataPrefix + file;
    if (std::find(s->data.begin(), s->data.end(), entry) != s->data.end())
      r.fail(at, path, "task file '" + files[i] + "' is listed twice");
    s->data.push_back(entry);
  }
}

void parse_thresholds(const YamlReader& r, const YAML::Node& node, SuiteSpec* s) {
  r.expect_map(node, "thresholds");
  std::vector<std::string> labels = {"*"};
  for (const auto& sc : s->schemes) labels.push_back(sc.label);
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string scheme = r.get_string(it->first, "thresholds");
    const std::string path = "thresholds." + scheme;
    if (std::find(labels.begin(), labels.end(), scheme) == labels.end()) {
      const std::string hint = did_you_mean(scheme, labels);
      r.fail(it->first, path,
             "not a scheme of this suite" +
                 (hint.empty() ? "; schemes: " + list_of(labels) : "; did you mean '" + hint + "'?"));
    }
    r.expect_map(it->second, path);
    for (auto jt = it->second.begin(); jt != it->second.end(); ++jt) {
      const std::string key = r.get_string(jt->first, path);
      Threshold t;
      t.scheme = scheme;
      t.where = location(r.file(), jt->first);
      if (key.rfind("max_", 0) == 0) {
        t.is_max = true;
      } else if (key.rfind("min_", 0) == 0) {
        t.is_max = false;
      } else {
        r.fail(jt->first, path + "." + key, "expected max_<metric> or min_<metric> (e.g. max_kld_mean)");
      }
      t.metric = key.substr(4);
      check_checked_metric(r, jt->first, path + "." + key, t.metric, *s);
      t.limit = r.get_number(jt->second, path + "." + key);
      s->thresholds.push_back(t);
    }
  }
}

void parse_expectations(const YamlReader& r, const YAML::Node& node, SuiteSpec* s) {
  r.expect_sequence(node, "expectations");
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node e = node[i];
    const std::string path = "expectations[" + std::to_string(i) + "]";
    r.expect_map(e, path, {"name", "better", "worse", "scheme", "metric", "protection", "margin"});
    Expectation x;
    x.where = location(r.file(), e);
    if (e["metric"]) {
      x.metric = r.get_string(e["metric"], path + ".metric");
      check_checked_metric(r, e["metric"], path + ".metric", x.metric, *s);
    }
    // An audit metric describes the full-precision model: no scheme is needed (any case of the model carries it).
    const bool audit_metric = reports::is_audit_metric(x.metric);
    for (const char* required : {"better", "worse", "scheme"}) {
      if (audit_metric && std::string(required) == "scheme") continue;
      if (!e[required]) r.fail(e, path, std::string("missing '") + required + "'");
    }
    if (e["name"]) x.name = r.get_string(e["name"], path + ".name");
    std::vector<std::string> model_names;
    for (const auto& m : s->models) model_names.push_back(m.name);
    for (const char* key : {"better", "worse"}) {
      const std::string v = r.get_string(e[key], path + "." + key);
      if (!s->find_model(v)) {
        const std::string hint = did_you_mean(v, model_names);
        r.fail(e[key], path + "." + key,
               "'" + v + "' is not a model of this suite" +
                   (hint.empty() ? "; models: " + list_of(model_names) : "; did you mean '" + hint + "'?"));
      }
      (std::string(key) == "better" ? x.better : x.worse) = v;
    }
    if (x.better == x.worse) r.fail(e, path, "'better' and 'worse' name the same model");
    if (audit_metric && e["scheme"]) r.fail(e["scheme"], path + ".scheme", "an audit metric has no scheme; remove it");
    if (audit_metric && e["protection"]) {
      r.fail(e["protection"], path + ".protection", "an audit metric has no protection; remove it");
    }
    if (!audit_metric) x.scheme = r.get_string(e["scheme"], path + ".scheme");
    if (!audit_metric && !s->find_scheme(x.scheme)) {
      std::vector<std::string> labels;
      for (const auto& sc : s->schemes) labels.push_back(sc.label);
      const std::string hint = did_you_mean(x.scheme, labels);
      r.fail(e["scheme"], path + ".scheme",
             "'" + x.scheme + "' is not a scheme of this suite" +
                 (hint.empty() ? "; schemes: " + list_of(labels) : "; did you mean '" + hint + "'?"));
    }
    if (e["protection"]) {
      x.protection = r.get_string(e["protection"], path + ".protection");
      if (std::find(s->protections.begin(), s->protections.end(), x.protection) == s->protections.end()) {
        r.fail(e["protection"], path + ".protection", "'" + x.protection + "' is not among this suite's protections");
      }
    }
    if (e["margin"]) x.margin = r.get_number(e["margin"], path + ".margin");
    s->expectations.push_back(x);
  }
}

reports::Tolerance parse_tolerance(const YamlReader& r, const YAML::Node& node, const std::string& path) {
  r.expect_map(node, path, {"abs", "rel"});
  reports::Tolerance t{0, 0};
  if (node["abs"]) t.abs = r.get_number(node["abs"], path + ".abs");
  if (node["rel"]) t.rel = r.get_number(node["rel"], path + ".rel");
  if (t.abs < 0 || t.rel < 0) r.fail(node, path, "tolerances must be >= 0");
  return t;
}

void parse_baseline(const YamlReader& r, const YAML::Node& node, SuiteSpec* s) {
  BaselineSpec b;
  b.where = location(r.file(), node);
  if (node.IsScalar()) {
    b.file = resolve(s->path, node.Scalar());
    s->baseline = b;
    return;
  }
  r.expect_map(node, "baseline", {"file", "metrics", "tolerance", "tolerances", "require_all_cases"});
  if (!node["file"]) r.fail(node, "baseline", "missing 'file' (a results.json of an earlier run)");
  b.file = resolve(s->path, r.get_string(node["file"], "baseline.file"));
  if (node["metrics"]) {
    b.options.metrics = r.get_string_list(node["metrics"], "baseline.metrics");
    for (size_t i = 0; i < b.options.metrics.size(); ++i) {
      const YAML::Node at = node["metrics"].IsSequence() ? node["metrics"][i] : node["metrics"];
      check_metric(r, at, "baseline.metrics", b.options.metrics[i]);
    }
  }
  if (node["tolerance"]) b.options.tolerance = parse_tolerance(r, node["tolerance"], "baseline.tolerance");
  if (node["tolerances"]) {
    r.expect_map(node["tolerances"], "baseline.tolerances");
    for (auto it = node["tolerances"].begin(); it != node["tolerances"].end(); ++it) {
      const std::string metric = r.get_string(it->first, "baseline.tolerances");
      check_metric(r, it->first, "baseline.tolerances." + metric, metric);
      b.options.per_metric.emplace_back(metric, parse_tolerance(r, it->second, "baseline.tolerances." + metric));
    }
  }
  if (node["require_all_cases"]) {
    b.options.require_all_cases = r.get_bool(node["require_all_cases"], "baseline.require_all_cases");
  }
  s->baseline = b;
}

// methods: a list of method texts (src/methods/method.h), each checked here with its line and column, and
// method_calibration: {data, sequences}, which must not be one of the evaluated data specs.
void parse_methods(const YamlReader& r, const YAML::Node& root, SuiteSpec* s) {
  if (root["methods"]) {
    const YAML::Node list = root["methods"];
    const std::vector<std::string> texts = r.get_string_list(list, "methods");
    if (texts.empty()) r.fail(list, "methods", "the list is empty");
    for (size_t i = 0; i < texts.size(); ++i) {
      const YAML::Node at = list.IsSequence() ? list[i] : list;
      const std::string p = "methods[" + std::to_string(i) + "]";
      MethodRef m;
      try {
        m.method = methods::parse_method(texts[i], "method");
      } catch (const InputError& e) {
        r.fail(at, p, e.what());
      }
      m.label = m.method.label();
      m.where = location(r.file(), at);
      if (s->find_method(m.label)) r.fail(at, p, "duplicate method '" + m.label + "'");
      s->methods.push_back(m);
    }
  } else {
    s->methods.push_back(MethodRef{"rtn", methods::MethodSpec{}, r.file()});
  }
  bool needs_calibration = false;
  for (const auto& m : s->methods) needs_calibration |= m.method.needs_calibration();
  if (root["method_calibration"]) {
    const YAML::Node c = root["method_calibration"];
    r.expect_map(c, "method_calibration", {"data", "sequences"});
    s->method_calibration.where = location(r.file(), c);
    if (c["data"]) {
      s->method_calibration.data = r.get_string(c["data"], "method_calibration.data");
      for (const auto& d : s->data)
        if (d == s->method_calibration.data)
          r.fail(c["data"], "method_calibration.data", "is an evaluated data spec: calibration must be kept apart");
    }
    if (c["sequences"]) {
      const int64_t n = r.get_int(c["sequences"], "method_calibration.sequences");
      if (n < 1) r.fail(c["sequences"], "method_calibration.sequences", "must be >= 1");
      s->method_calibration.sequences = static_cast<int>(n);
    }
  }
  if (needs_calibration && s->method_calibration.data.empty())
    for (const auto& d : s->data)
      if (d.rfind("bb:", 0) != 0 && d != "bb")
        r.fail(root["methods"], "methods",
               "smoothquant / gptq need calibration data kept apart from the evaluated '" + d +
                   "': give method_calibration: {data: SPEC}");
}

}  // namespace

SuiteSpec parse_suite(const std::string& yaml_text, const std::string& path) {
  const YAML::Node root = load_yaml_string(yaml_text, path);
  const YamlReader r(path);
  if (!root.IsDefined() || root.IsNull()) throw InputError(path + ": the suite file is empty");
  r.expect_map(root, "", suite_top_level_keys());
  SuiteSpec s;
  s.path = path;
  s.content_hash = text_hash(yaml_text);
  s.name = root["name"] ? r.get_string(root["name"], "name") : fs::path(path).stem().string();
  if (root["description"]) s.description = r.get_string(root["description"], "description");
  s.zoo = root["zoo"] ? resolve(path, r.get_string(root["zoo"], "zoo")) : std::string("models/zoo.yaml");

  for (const char* required : {"models", "schemes"}) {
    if (!root[required]) r.fail(root, "", std::string("missing required key '") + required + "'");
  }
  if (!root["data"] && !root["tasks"])
    r.fail(root, "", "missing required key 'data' (data specs) or 'tasks' (task files)");
  const YAML::Node models = root["models"];
  r.expect_sequence(models, "models");
  if (models.size() == 0) r.fail(models, "models", "the list is empty");
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string p = "models[" + std::to_string(i) + "]";
    ModelRef m = parse_model(r, models[i], p, path);
    if (s.find_model(m.name)) r.fail(models[i], p, "duplicate model name '" + m.name + "'");
    s.models.push_back(m);
  }
  if (root["data"]) {
    s.data = r.get_string_list(root["data"], "data");
    if (s.data.empty()) r.fail(root["data"], "data", "the list is empty");
    for (size_t i = 0; i < s.data.size(); ++i) {
      const YAML::Node at = root["data"].IsSequence() ? root["data"][i] : root["data"];
      const std::string field = root["data"].IsSequence() ? "data[" + std::to_string(i) + "]" : "data";
      s.data_where.push_back(location(r.file(), at));
      if (s.data[i].empty()) r.fail(at, field, "empty data spec");
      if (reports::is_task_data(s.data[i])) r.fail(at, field, "task files go in the 'tasks:' list");
      if (std::find(s.data.begin(), s.data.begin() + i, s.data[i]) != s.data.begin() + i)
        r.fail(at, field, "duplicate data spec '" + s.data[i] + "'");
    }
  }
  if (root["tasks"]) parse_tasks(r, root["tasks"], &s);
  const YAML::Node schemes = root["schemes"];
  if (schemes.IsScalar()) {
    s.schemes.push_back(parse_scheme_node(r, schemes, "schemes"));
  } else {
    r.expect_sequence(schemes, "schemes");
    if (schemes.size() == 0) r.fail(schemes, "schemes", "the list is empty");
    for (size_t i = 0; i < schemes.size(); ++i) {
      const std::string p = "schemes[" + std::to_string(i) + "]";
      SchemeRef sc = parse_scheme_node(r, schemes[i], p);
      if (s.find_scheme(sc.label)) r.fail(schemes[i], p, "duplicate scheme '" + sc.label + "'");
      s.schemes.push_back(sc);
    }
  }
  if (root["attribution"]) {
    const YAML::Node a = root["attribution"];
    if (a.IsScalar()) {
      s.attribution = r.get_bool(a, "attribution");
    } else {
      r.expect_map(a, "attribution", {"metrics"});
      s.attribution = true;
      if (a["metrics"]) {
        s.attribution_metrics = r.get_string_list(a["metrics"], "attribution.metrics");
        for (size_t i = 0; i < s.attribution_metrics.size(); ++i) {
          const YAML::Node at = a["metrics"].IsSequence() ? a["metrics"][i] : a["metrics"];
          check_metric(r, at, "attribution.metrics", s.attribution_metrics[i]);
          check_measurable(r, at, "attribution.metrics", s.attribution_metrics[i], s);
        }
      }
    }
  }
  if (root["protections"]) {
    s.protections = r.get_string_list(root["protections"], "protections");
    for (size_t i = 0; i < s.protections.size(); ++i) {
      const auto& p = s.protections[i];
      if (std::find(kProtections.begin(), kProtections.end(), p) == kProtections.end()) {
        const YAML::Node at = root["protections"].IsSequence() ? root["protections"][i] : root["protections"];
        const std::string hint = did_you_mean(p, kProtections);
        r.fail(at, "protections", "unknown protection '" + p + "'" +
                                      (hint.empty() ? "; expected none, tokens, channels or both"
                                                    : "; did you mean '" + hint + "'?"));
      }
    }
  }
  if (s.attribution) {
    for (const auto& p : kProtections) {
      if (std::find(s.protections.begin(), s.protections.end(), p) == s.protections.end()) s.protections.push_back(p);
    }
  }
  if (std::find(s.protections.begin(), s.protections.end(), "none") == s.protections.end()) {
    s.protections.insert(s.protections.begin(), "none");  // thresholds and expectations look at unprotected cases
  }
  parse_methods(r, root, &s);
  if (root["audit"]) s.audit = r.get_bool(root["audit"], "audit");
  if (root["eval"]) parse_eval(r, root["eval"], &s.eval);
  if (root["thresholds"]) parse_thresholds(r, root["thresholds"], &s);
  if (root["expectations"]) parse_expectations(r, root["expectations"], &s);
  if (root["baseline"]) parse_baseline(r, root["baseline"], &s);
  // The data specs are checked last (syntax, sizes, that their files exist; relative paths against the suite's
  // folder), so that a bad spec fails at its line before any training, after the cheaper schema checks.
  const std::string suite_dir = fs::path(path).parent_path().string();
  for (size_t i = 0; i < s.data.size(); ++i) {
    if (reports::is_task_data(s.data[i])) {  // a tasks: entry, resolved and checked by parse_tasks
      s.data_specs.push_back(s.data[i]);
      continue;
    }
    const YAML::Node at = root["data"].IsSequence() ? root["data"][i] : root["data"];
    const std::string field = root["data"].IsSequence() ? "data[" + std::to_string(i) + "]" : "data";
    try {
      s.data_specs.push_back(data::resolve_spec_paths(s.data[i], suite_dir));
      data::validate_data_spec(s.data_specs.back());
    } catch (const InputError& e) {
      const std::string what = e.what();
      r.fail(at, field, what.rfind("data spec '", 0) == 0 ? what : "'" + s.data[i] + "': " + what);
    }
  }
  return s;
}

SuiteSpec load_suite(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the suite file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_suite(buffer.str(), path);
}

}  // namespace qh::suite
