// junit.xml: one <testsuite> per kind of check (threshold, expectation, baseline), one <testcase> per check;
// a failed check carries its one-line message with the numbers. No timestamps, so the file is reproducible.
#include <fmt/format.h>

#include "src/core/format.h"
#include "reports/svg.h"
#include "reports/writers.h"

namespace qh::reports {

std::string render_junit(const Results& r) {
  using svg::xml_escape;
  const std::string suite = r.suite.empty() ? "qharness" : r.suite;
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += fmt::format("<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\">\n", xml_escape(suite), r.verdicts.size(),
                   r.num_failed());
  for (VerdictKind kind : {VerdictKind::kThreshold, VerdictKind::kExpectation, VerdictKind::kBaseline}) {
    int tests = 0, failures = 0;
    for (const auto& v : r.verdicts) {
      if (v.kind != kind) continue;
      ++tests;
      failures += v.passed ? 0 : 1;
    }
    if (tests == 0) continue;
    s += fmt::format("  <testsuite name=\"{}.{}\" tests=\"{}\" failures=\"{}\">\n", xml_escape(suite),
                     to_string(kind), tests, failures);
    for (const auto& v : r.verdicts) {
      if (v.kind != kind) continue;
      s += fmt::format("    <testcase classname=\"{}.{}\" name=\"{}\"", xml_escape(suite), to_string(kind),
                       xml_escape(v.name));
      if (v.passed) {
        s += fmt::format(">\n      <system-out>{}</system-out>\n    </testcase>\n", xml_escape(v.message));
      } else {
        s += fmt::format(">\n      <failure message=\"{}\">value {} limit {}</failure>\n    </testcase>\n",
                         xml_escape(v.message), xml_escape(format_number(v.value)), xml_escape(format_number(v.limit)));
      }
    }
    s += "  </testsuite>\n";
  }
  s += "</testsuites>\n";
  return s;
}

}  // namespace qh::reports
