// A suite file (suites/*.yaml, schema in suites/SCHEMA.md): which models, data, schemes, protections and
// post-training methods to
// evaluate, and which checks decide the exit code (thresholds per scheme, expectations between models, a
// baseline run with tolerances). Parsing validates everything up front with file:line:col messages, so a
// long run never dies on a typo half-way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "quant/scheme.h"
#include "src/engine/engine.h"
#include "src/methods/method.h"
#include "reports/baseline.h"

namespace qh::suite {

struct ModelRef {
  std::string name;   // label in results and checks (the zoo entry name, or the given name / the path)
  std::string zoo;    // zoo entry name, or empty
  std::string path;   // checkpoint directory (resolved against the suite's directory), or empty
  std::string where;  // file:line:col
};

struct SchemeRef {
  std::string label;  // the name used in results and thresholds
  Scheme scheme;
  std::string where;
};

// A post-training method (src/methods/method.h), the axis orthogonal to the scheme.
struct MethodRef {
  std::string label;  // the method's short label ("rtn", "rotate+gptq"): its name in results
  methods::MethodSpec method;
  std::string where;
};

// Calibration data of the methods that read activations (smoothquant, gptq), kept apart from the evaluated
// data. Empty data: derived from a BB data spec with another seed (other data needs it named).
struct MethodCalibration {
  std::string data;
  int sequences = 32;
  std::string where;
};

struct Threshold {
  std::string scheme;  // a scheme label, or "*" for every scheme
  std::string metric;  // ARCHITECTURE.md 2.7 name
  bool is_max = true;  // max_<metric>: value <= limit; min_<metric>: value >= limit
  double limit = 0;
  std::string where;
};

struct Expectation {
  std::string name;    // optional text; a name is generated when empty
  std::string better;  // model name expected to degrade less
  std::string worse;
  std::string scheme;  // empty for an audit metric (sink_mass_max, ...): a property of the fp model
  std::string metric = "kld_mean";
  std::string protection = "none";
  double margin = 0;   // the advantage required (in the metric's unit)
  std::string where;
};

struct BaselineSpec {
  std::string file;  // resolved against the suite's directory
  reports::BaselineOptions options;
  std::string where;
};

struct EvalSettings {
  int64_t window = 0, stride = 0, max_sequences = 0;
  std::string protocol = "windows";  // perplexity protocol (src/eval/windows.h): windows | strided:S | half
  // Sink tokens, protected channels and calibration data: one meaning per field (src/engine/engine.h), the same
  // for the suite's evaluations, audits and protections. tau_channels is read at float precision.
  engine::OutlierSettings outliers;
  std::string where, window_where;  // file:line:col of `eval` and of `eval.window` (empty when not given)
};

struct SuiteSpec {
  std::string path;         // the suite file
  std::string name;         // defaults to the file's stem
  std::string description;
  std::string content_hash;  // text_hash (src/core/content_hash.h) of the file's text: the suite's identity in results.json
  std::string zoo;          // zoo YAML (resolved); used for models given by zoo name
  std::vector<ModelRef> models;
  // Data specs, then one "task:<file>" entry per file of the suite's `tasks:` list (resolved against the suite's
  // directory): a task is evaluated like data, model x task x scheme x protection, with the task metrics.
  std::vector<std::string> data;
  std::vector<std::string> data_specs;  // data[i] with relative paths resolved against the suite's folder
  std::vector<std::string> data_where;  // file:line:col of each data spec
  std::vector<SchemeRef> schemes;
  std::vector<std::string> protections = {"none"};
  std::vector<MethodRef> methods;  // never empty: {rtn} unless the suite lists methods
  MethodCalibration method_calibration;
  bool attribution = false;  // run {none, tokens, channels, both} and attach Shapley splits to the "none" case
  std::vector<std::string> attribution_metrics = {"kld_mean", "delta_ppl", "backcopy_risk"};
  bool audit = false;        // full-precision outlier audit per model and data
  EvalSettings eval;
  std::vector<Threshold> thresholds;
  std::vector<Expectation> expectations;
  std::optional<BaselineSpec> baseline;

  const SchemeRef* find_scheme(const std::string& label) const;
  const ModelRef* find_model(const std::string& name) const;
  // What data[i] loads: data_specs[i] when parsed from a file, else data[i] itself.
  const std::string& data_spec(size_t i) const { return i < data_specs.size() ? data_specs[i] : data[i]; }
  const MethodRef* find_method(const std::string& label) const;
};

// Parses and validates; every problem is an InputError with file:line:col.
SuiteSpec parse_suite(const std::string& yaml_text, const std::string& path);
SuiteSpec load_suite(const std::string& path);

// The keys the schema knows at the top level (for docs and did-you-mean).
const std::vector<std::string>& suite_top_level_keys();

}  // namespace qh::suite
