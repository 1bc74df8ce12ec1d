// The results of a suite run as plain structs, and their JSON form (results.json). This is the contract between
// the runner (src/suite), the report writers (reports/), `qharness merge` / `compare` and any script reading
// results.json. Key names follow ARCHITECTURE.md 2.7; a change of meaning bumps kSchemaVersion (json_io.h, shared
// with `eval --json` and audit.json).
// No engine or oneDNN types here: the runner converts its evaluation results into these structs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reports/json_io.h"

namespace qh::reports {

inline constexpr const char* kResultsKind = "results";  // the kind of results.json and case-cache entries

// Where and how the results were produced (recorded so that numbers from two machines are not confused).
struct Environment {
  std::string git_revision;  // of qharness
  std::string cpu;           // model name of the CPU
  std::string onednn_isa;    // the ISA oneDNN dispatched to (e.g. "avx512_core_vnni")
  int threads = 0;
  std::map<std::string, std::string> versions;  // library -> version ("onednn", "highway", ...)
};

// Metric name -> value in insertion order (ARCHITECTURE.md 2.7 names: ppl, ppl_fp, delta_ppl, kld_mean, ...). Kept
// ordered so results.json, tables and CSV columns read in the order the evaluator produced them.
class MetricMap {
 public:
  void set(const std::string& name, double value);
  std::optional<double> get(const std::string& name) const;
  bool has(const std::string& name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  bool operator==(const MetricMap& o) const;  // NaN equals NaN (a metric that was undefined in both)

 private:
  std::vector<std::pair<std::string, double>> items_;
};

// Per-layer / per-head outlier audit of the full-precision model on the case's data (ARCHITECTURE.md 1.1-1.2).
// Indexed [layer] or [layer][head], 0-based. Empty vectors when the audit was off.
struct AuditSummary {
  std::vector<double> residual_peak;                 // [layer]  ||h_0|| / median ||h_i||
  std::vector<double> residual_norm_sink;            // [layer]  ||h_0|| (for the sink-vs-median profile)
  std::vector<double> residual_norm_median;          // [layer]  median_{i>=1} ||h_i||
  std::vector<std::vector<double>> sink_mass;        // [layer][head]
  std::vector<std::vector<int>> sink_key;            // [layer][head] key with the largest mean attention
  std::vector<std::vector<double>> dormant_frac;     // [layer][head]
  std::vector<std::vector<double>> value_drain;      // [layer][head]
  std::vector<double> kurtosis;                      // [layer] per-token kurtosis of the residual, averaged
  std::vector<double> max_abs;                       // [layer] max |x| of the residual
  std::vector<std::vector<int>> outlier_channels;    // [layer]
  bool empty() const { return residual_peak.empty() && sink_mass.empty() && kurtosis.empty(); }
  bool operator==(const AuditSummary& o) const;
};

// Two-player Shapley split of a degradation D = metric(quant) - metric(fp) between sink tokens and outlier
// channels (ARCHITECTURE.md 1.6): phi_tokens + phi_channels + rest == total.
struct Attribution {
  std::string metric;  // "kld_mean", "delta_ppl", "backcopy_risk", ...
  double phi_tokens = 0, phi_channels = 0, rest = 0, total = 0;
  double share_tokens = 0, share_channels = 0, share_rest = 0;  // of total; 0 when total == 0
  bool operator==(const Attribution& o) const;
};

struct CaseResult {
  std::string model;       // zoo name or checkpoint path, as written in the suite
  std::string data;        // data spec
  std::string scheme;      // scheme name ("W4A4", or the suite's label of a field-by-field scheme)
  std::string protection;  // "none" | "tokens" | "channels" | "both"
  std::string method = "rtn";  // post-training method label ("rtn", "rotate", "rotate+gptq", ...)
  std::string checkpoint;  // resolved checkpoint directory (informational)
  std::string tokenizer;   // how text became ids (Tokenizer::describe(), "bb", "ids", ...); empty if unknown
  std::string protocol;    // how it was scored: "windows W=128", "strided:64 W=128", "half W=128", "task <layout>"
  MetricMap metrics;
  std::vector<std::pair<std::string, double>> site_sqnr_db;  // site ("q", "k", ..., "down") -> SQNR in dB
  AuditSummary audit;                                        // empty unless the suite asked for an audit
  std::vector<Attribution> attribution;                      // on the protection "none" case, one per metric
  double seconds = 0;                                        // wall time of the case (informational)
  double method_seconds = 0;  // one-time cost of the method on this model and scheme (informational)
  std::string engine_impl;  // oneDNN implementation of the quantized matmuls, e.g. "brg:avx512_core_vnni"

  // Identity of the case inside a run: model|data|scheme|protection, then |method unless it is rtn.
  std::string key() const;
  std::optional<double> metric(const std::string& name) const { return metrics.get(name); }
  const Attribution* attribution_for(const std::string& metric) const;
  bool operator==(const CaseResult& o) const;  // everything except seconds, method_seconds, checkpoint, engine_impl
};

enum class VerdictKind { kThreshold, kExpectation, kBaseline };
const char* to_string(VerdictKind k);  // "threshold" | "expectation" | "baseline"

struct Verdict {
  std::string name;     // unique and stable, e.g. "threshold W4A4 bb-softmax kld_mean <= 0.5"
  VerdictKind kind = VerdictKind::kThreshold;
  bool passed = true;
  std::string message;  // one line with the numbers
  double value = 0;     // the measured value
  double limit = 0;     // the bound it was compared with
  bool operator==(const Verdict& o) const;
};

struct Results {
  int schema_version = kSchemaVersion;
  std::string suite;         // suite name
  std::string created_utc;   // ISO 8601
  std::string shard;         // "I/N" when this is a shard's part, else empty
  std::string suite_file;    // the suite file the run came from (lets `merge` recompute the checks)
  std::string suite_hash;    // hash of the suite file's text: `merge` joins only parts of the same suite
  Environment environment;
  std::vector<CaseResult> cases;
  std::vector<Verdict> verdicts;

  bool all_passed() const;
  int num_failed() const;
  const CaseResult* find_case(const std::string& model, const std::string& data, const std::string& scheme,
                              const std::string& protection, const std::string& method = "rtn") const;
};

// JSON (ordered keys, so files diff well): one to_json / read_json pair per struct; readers throw InputError
// naming `where` and the field (reports/json_io.h). Reading keeps the key order of the file (metric order).
void to_json(ojson& j, const Environment& e);
void to_json(ojson& j, const AuditSummary& a);
void to_json(ojson& j, const Attribution& a);  // without its metric: the case's "attribution" is keyed by it
void to_json(ojson& j, const Verdict& v);
void to_json(ojson& j, const CaseResult& c);
void to_json(ojson& j, const Results& r);
void read_json(const ojson& j, const std::string& where, Environment* e);
void read_json(const ojson& j, const std::string& where, AuditSummary* a);
void read_json(const ojson& j, const std::string& where, Attribution* a);
void read_json(const ojson& j, const std::string& where, Verdict* v);
void read_json(const ojson& j, const std::string& where, CaseResult* c);
void read_json(const ojson& j, const std::string& where, Results* r);  // checks the schema header first
ojson to_json(const CaseResult& c);
ojson to_json(const Results& r);
CaseResult case_from_json(const ojson& j, const std::string& where);
Results results_from_json(const ojson& j, const std::string& where);

// Atomic write of results.json; read validates the schema version (newer versions are an InputError).
void write_results(const std::string& path, const Results& r);
Results read_results(const std::string& path);

}  // namespace qh::reports
