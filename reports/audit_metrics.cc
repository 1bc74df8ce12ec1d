#include "reports/audit_metrics.h"

#include <algorithm>
#include <cmath>

namespace qh::reports {

namespace {

struct Accumulator {
  double sum = 0, max = -INFINITY;
  size_t count = 0;
  void add(double v) {
    if (std::isnan(v)) return;
    sum += v;
    max = std::max(max, v);
    ++count;
  }
};

Accumulator over_heads(const std::vector<std::vector<double>>& per_layer_head) {
  Accumulator a;
  for (const auto& layer : per_layer_head) {
    for (double v : layer) a.add(v);
  }
  return a;
}

}  // namespace

const std::vector<std::string>& audit_metric_names() {
  static const std::vector<std::string> names = {"sink_mass_max", "sink_mass_mean", "residual_peak_max",
                                                 "dormant_frac_mean"};
  return names;
}

bool is_audit_metric(const std::string& name) {
  const auto& n = audit_metric_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

std::optional<double> audit_metric(const AuditSummary& audit, const std::string& name) {
  Accumulator a;
  bool want_max = false;
  if (name == "sink_mass_max" || name == "sink_mass_mean") {
    a = over_heads(audit.sink_mass);
    want_max = name == "sink_mass_max";
  } else if (name == "dormant_frac_mean") {
    a = over_heads(audit.dormant_frac);
  } else if (name == "residual_peak_max") {
    for (double v : audit.residual_peak) a.add(v);
    want_max = true;
  } else {
    return std::nullopt;
  }
  if (a.count == 0) return std::nullopt;
  return want_max ? a.max : a.sum / static_cast<double>(a.count);
}

std::optional<double> case_value(const CaseResult& c, const std::string& name) {
  if (auto v = c.metric(name)) return v;
  return audit_metric(c.audit, name);
}

}  // namespace qh::reports
