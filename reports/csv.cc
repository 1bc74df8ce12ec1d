// cases.csv: one row per case; columns model, data, scheme, protection, method, every metric any case has (first-seen
// order) and the per-site SQNR as sqnr_db_<site>. RFC 4180 quoting (data specs contain commas).
#include <algorithm>
#include <fmt/format.h>

#include "reports/writers.h"

namespace qh::reports {

namespace {

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string number(double v) { return std::isnan(v) ? std::string() : fmt::format("{:.9g}", v); }

void add_unique(std::vector<std::string>* list, const std::string& name) {
  if (std::find(list->begin(), list->end(), name) == list->end()) list->push_back(name);
}

}  // namespace

std::string render_csv(const Results& r) {
  std::vector<std::string> metrics, sites;
  for (const auto& c : r.cases) {
    for (const auto& [name, v] : c.metrics.items()) add_unique(&metrics, name);
    for (const auto& [site, v] : c.site_sqnr_db) add_unique(&sites, site);
  }
  std::string s = "model,data,scheme,protection,method";
  for (const auto& m : metrics) s += "," + quote(m);
  for (const auto& site : sites) s += "," + quote("sqnr_db_" + site);
  s += "\n";
  for (const auto& c : r.cases) {
    s += quote(c.model) + "," + quote(c.data) + "," + quote(c.scheme) + "," + quote(c.protection) + "," +
         quote(c.method);
    for (const auto& m : metrics) {
      const auto v = c.metric(m);
      s += "," + (v ? number(*v) : std::string());
    }
    for (const auto& site : sites) {
      std::string cellv;
      for (const auto& [name, v] : c.site_sqnr_db) {
        if (name == site) cellv = number(v);
      }
      s += "," + cellv;
    }
    s += "\n";
  }
  return s;
}

}  // namespace qh::reports
