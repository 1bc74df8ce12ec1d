#include "reports/metric_info.h"

#include <algorithm>
#include <cmath>

namespace qh::reports {

namespace {

constexpr Direction kLower = Direction::kLowerIsBetter;
constexpr Direction kHigher = Direction::kHigherIsBetter;
constexpr MetricSource kEval = MetricSource::kEval;
constexpr MetricSource kOracle = MetricSource::kEvalOracle;
constexpr MetricSource kTask = MetricSource::kTask;

std::vector<std::string> names_where(bool (*keep)(const MetricInfo&)) {
  std::vector<std::string> out;
  for (const MetricInfo& m : metric_table())
    if (keep(m)) out.push_back(m.name);
  return out;
}

}  // namespace

// Formulas: ARCHITECTURE.md 1.7 (perplexity metrics) and src/tasks/statistics.h (task metrics).
const std::vector<MetricInfo>& metric_table() {
  static const std::vector<MetricInfo> table = {
      // name               direction label                    unit         source   path in the case's JSON
      {"ppl",               kLower,  "ppl",                    "",          kEval,   "ppl", "", 2},
      {"ppl_fp",            kLower,  "ppl fp",                 "",          kEval,   "ppl_fp", "", 1},
      {"delta_ppl",         kLower,  "Δppl",                   "",          kEval,   "delta_ppl", "", 3},
      {"ppl_ratio",         kLower,  "ppl ratio",              "",          kEval,   "ppl_ratio"},
      {"nll",               kLower,  "nll",                    "nats",      kEval,   "nll"},
      {"nll_fp",            kLower,  "nll_fp",                 "nats",      kEval,   "nll_fp"},
      {"kld_mean",          kLower,  "KLD mean",               "nats",      kEval,   "kld_mean", "", 4},
      {"kld_mean_se",       kLower,  "KLD se",                 "nats",      kEval,   "kld_mean_se"},
      {"kld_median",        kLower,  "KLD median",             "nats",      kEval,   "kld_median"},
      {"kld_p90",           kLower,  "KLD p90",                "nats",      kEval,   "kld_p90"},
      {"kld_p99",           kLower,  "KLD p99",                "nats",      kEval,   "kld_p99", "", 5},
      {"kld_max",           kLower,  "KLD max",                "nats",      kEval,   "kld_max"},
      {"top1_agree",        kHigher, "top-1 agree",            "fraction",  kEval,   "top1_agree", "", 6},
      {"delta_p_mean",      kHigher, "Δp mean",                "probability", kEval, "delta_p_mean"},
      {"sqnr_db",           kHigher, "SQNR dB",                "dB",        kEval,   "sqnr_db", "", 7},
      {"backcopy_risk",     kLower,  "backcopy risk",          "nats",      kOracle, "backcopy_risk", "", 8},
      {"backcopy_risk_fp",  kLower,  "backcopy_risk_fp",       "nats",      kOracle, "backcopy_risk_fp"},
      {"bigram_risk",       kLower,  "bigram risk",            "nats",      kOracle, "bigram_risk", "", 9},
      {"bigram_risk_fp",    kLower,  "bigram_risk_fp",         "nats",      kOracle, "bigram_risk_fp"},
      {"backcopy_acc",      kHigher, "backcopy acc",           "fraction",  kOracle, "backcopy_acc", "", 10},
      {"backcopy_acc_fp",   kHigher, "backcopy_acc_fp",        "fraction",  kOracle, "backcopy_acc_fp"},
      {"kld_mean_first",    kLower,  "kld_mean_first",         "nats",      kEval,   "by_position.first.kld_mean",
       "by_position.first.n_tokens"},
      {"kld_mean_sink",     kLower,  "kld_mean_sink",          "nats",      kEval,   "by_position.sink.kld_mean",
       "by_position.sink.n_tokens"},
      {"kld_mean_rest",     kLower,  "kld_mean_rest",          "nats",      kEval,   "by_position.rest.kld_mean",
       "by_position.rest.n_tokens"},
      {"n_tokens",          kLower,  "n_tokens",               "tokens",    kEval,   "n_tokens"},
      {"acc",               kHigher, "acc",                    "fraction",  kTask,   "acc"},
      {"acc_stderr",        kLower,  "acc_stderr",             "fraction",  kTask,   "acc_stderr"},
      {"acc_norm",          kHigher, "acc_norm",               "fraction",  kTask,   "acc_norm"},
      {"acc_norm_stderr",   kLower,  "acc_norm_stderr",        "fraction",  kTask,   "acc_norm_stderr"},
      {"acc_fp",            kHigher, "acc_fp",                 "fraction",  kTask,   "acc_fp"},
      {"acc_norm_fp",       kHigher, "acc_norm_fp",            "fraction",  kTask,   "acc_norm_fp"},
      {"acc_drop",          kLower,  "acc drop (points)",      "points",    kTask,   "acc_drop"},
      {"acc_drop_lo",       kLower,  "acc_drop_lo",            "points",    kTask,   "acc_drop_lo"},
      {"acc_drop_hi",       kLower,  "acc_drop_hi",            "points",    kTask,   "acc_drop_hi"},
      {"acc_drop_p",        kLower,  "acc_drop_p",             "",          kTask,   "acc_drop_p"},
      {"acc_norm_drop",     kLower,  "acc_norm drop (points)", "points",    kTask,   "acc_norm_drop"},
      {"acc_norm_drop_lo",  kLower,  "acc_norm_drop_lo",       "points",    kTask,   "acc_norm_drop_lo"},
      {"acc_norm_drop_hi",  kLower,  "acc_norm_drop_hi",       "points",    kTask,   "acc_norm_drop_hi"},
      {"acc_norm_drop_p",   kLower,  "acc_norm_drop_p",        "",          kTask,   "acc_norm_drop_p"},
      {"n_items",           kLower,  "n_items",                "items",     kTask,   "n_items"},
  };
  return table;
}

const MetricInfo* find_metric(const std::string& metric) {
  for (const MetricInfo& m : metric_table())
    if (metric == m.name) return &m;
  return nullptr;
}

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> names = names_where([](const MetricInfo&) { return true; });
  return names;
}

const std::vector<std::string>& task_metrics() {
  static const std::vector<std::string> names =
      names_where([](const MetricInfo& m) { return m.source == MetricSource::kTask; });
  return names;
}

const std::vector<std::string>& headline_metrics() {
  static const std::vector<std::string> names = [] {
    std::vector<const MetricInfo*> rows;
    for (const MetricInfo& m : metric_table())
      if (m.headline > 0) rows.push_back(&m);
    std::sort(rows.begin(), rows.end(), [](const MetricInfo* a, const MetricInfo* b) { return a->headline < b->headline; });
    std::vector<std::string> out;
    for (const MetricInfo* m : rows) out.push_back(m->name);
    return out;
  }();
  return names;
}

bool is_known_metric(const std::string& metric) { return find_metric(metric) != nullptr; }

bool is_task_metric(const std::string& metric) {
  const MetricInfo* m = find_metric(metric);
  return m && m->source == MetricSource::kTask;
}

bool needs_oracle(const std::string& metric) {
  const MetricInfo* m = find_metric(metric);
  return m && m->source == MetricSource::kEvalOracle;
}

bool is_task_data(const std::string& data) { return data.rfind(kTaskDataPrefix, 0) == 0; }

Direction metric_direction(const std::string& metric) {
  const MetricInfo* m = find_metric(metric);
  return m ? m->direction : Direction::kLowerIsBetter;
}

std::string metric_label(const std::string& metric) {
  const MetricInfo* m = find_metric(metric);
  return m ? m->label : metric;
}

bool is_worse(const std::string& metric, double value, double reference, double slack) {
  if (std::isnan(value) != std::isnan(reference)) return true;  // a metric that became (or stopped being) undefined
  if (std::isnan(value)) return false;
  const double diff = value - reference;
  return metric_direction(metric) == Direction::kLowerIsBetter ? diff > slack : -diff > slack;
}

}  // namespace qh::reports
