// One field-path helper for every JSON file the harness reads or maps: "by_position.sink.kld_mean" names the
// member kld_mean of the member sink of by_position. Used by the metric table (reports/metric_info.h: where each
// metric lives in the evaluator's JSON) and by the results readers (reports/results.cc: error messages that
// name the field).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qh::reports {

// The value at `path` (members separated by '.'), or nullptr when a member on the way is missing or a value on
// the way is not an object. Works for nlohmann::json and nlohmann::ordered_json.
template <typename Json>
const Json* find_path(const Json& j, std::string_view path) {
  const Json* at = &j;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!at->is_object()) return nullptr;
    const auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return at;
}

}  // namespace qh::reports
