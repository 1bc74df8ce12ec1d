#include "reports/metric_info.h"

#include <algorithm>
#include <cmath>

namespace qh::reports {

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> names = {
      "ppl",        "ppl_fp",      "delta_ppl", "ppl_ratio",    "kld_mean",      "kld_mean_se",
      "kld_median", "kld_p90",     "kld_p99",   "kld_max",      "top1_agree",    "delta_p_mean",
      "sqnr_db",    "backcopy_risk", "bigram_risk", "backcopy_acc", "backcopy_acc_fp", "nll",
      "nll_fp",     "backcopy_risk_fp", "bigram_risk_fp", "kld_mean_first", "kld_mean_sink", "kld_mean_rest",
      "n_tokens"};
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v = names;
    v.insert(v.end(), task_metrics().begin(), task_metrics().end());
    return v;
  }();
  return all;
}

const std::vector<std::string>& task_metrics() {
  static const std::vector<std::string> names = {
      "acc",           "acc_stderr",       "acc_norm",         "acc_norm_stderr", "acc_fp",
      "acc_norm_fp",   "acc_drop",         "acc_drop_lo",      "acc_drop_hi",     "acc_drop_p",
      "acc_norm_drop", "acc_norm_drop_lo", "acc_norm_drop_hi", "acc_norm_drop_p", "n_items"};
  return names;
}

bool is_task_metric(const std::string& metric) {
  const auto& t = task_metrics();
  return std::find(t.begin(), t.end(), metric) != t.end();
}

bool is_task_data(const std::string& data) { return data.rfind(kTaskDataPrefix, 0) == 0; }

bool is_known_metric(const std::string& metric) {
  const auto& k = known_metrics();
  return std::find(k.begin(), k.end(), metric) != k.end();
}

Direction metric_direction(const std::string& metric) {
  static const std::vector<std::string> higher_is_better = {"top1_agree",   "delta_p_mean", "sqnr_db",
                                                            "backcopy_acc", "backcopy_acc_fp", "acc",
                                                            "acc_norm",     "acc_fp",       "acc_norm_fp"};
  return std::find(higher_is_better.begin(), higher_is_better.end(), metric) != higher_is_better.end()
             ? Direction::kHigherIsBetter
             : Direction::kLowerIsBetter;
}

const std::vector<std::string>& headline_metrics() {
  static const std::vector<std::string> names = {"ppl_fp",      "ppl",           "delta_ppl",   "kld_mean",
                                                 "kld_p99",     "top1_agree",    "sqnr_db",     "backcopy_risk",
                                                 "bigram_risk", "backcopy_acc"};
  return names;
}

std::string metric_label(const std::string& metric) {
  static const std::vector<std::pair<std::string, std::string>> labels = {
      {"ppl", "ppl"},           {"ppl_fp", "ppl fp"},          {"delta_ppl", "Δppl"},
      {"ppl_ratio", "ppl ratio"}, {"kld_mean", "KLD mean"},    {"kld_mean_se", "KLD se"},
      {"kld_median", "KLD median"}, {"kld_p90", "KLD p90"},    {"kld_p99", "KLD p99"},
      {"kld_max", "KLD max"},   {"top1_agree", "top-1 agree"}, {"delta_p_mean", "Δp mean"},
      {"sqnr_db", "SQNR dB"},   {"backcopy_risk", "backcopy risk"}, {"bigram_risk", "bigram risk"},
      {"backcopy_acc", "backcopy acc"}, {"acc", "acc"},             {"acc_norm", "acc_norm"},
      {"acc_drop", "acc drop (points)"}, {"acc_norm_drop", "acc_norm drop (points)"}};
  for (const auto& [k, v] : labels) {
    if (k == metric) return v;
  }
  return metric;
}

bool is_worse(const std::string& metric, double value, double reference, double slack) {
  if (std::isnan(value) != std::isnan(reference)) return true;  // a metric that became (or stopped being) undefined
  if (std::isnan(value)) return false;
  const double diff = value - reference;
  return metric_direction(metric) == Direction::kLowerIsBetter ? diff > slack : -diff > slack;
}

}  // namespace qh::reports
