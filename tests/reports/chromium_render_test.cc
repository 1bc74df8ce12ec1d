// report.html renders in headless Chromium with every chart visible. The test writes a report (with a
// baseline, so every kind of chart is drawn) and a COPY with a test-only checker <script> appended (the
// shipped report stays script-free), has Chromium load the copy with --dump-dom, and reads the checker's
// verdict from the dumped DOM: every <svg> has a non-zero box inside the page width, a <title> or a heading
// before it and drawn content; nothing overflows the page; no external resource was requested.
// Chromium is a test dependency (Debian package `chromium`, installed by `./setup.sh test`); without it this
// test FAILS with that advice rather than skipping.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "reports/writers.h"
#include "tests/reports/sample_results.h"

namespace qh::reports {
namespace {

namespace fs = std::filesystem;

constexpr const char* kChromium = "/usr/bin/chromium";

// Runs in the page after load; writes "QH-CHECK OK <n> charts" or "QH-CHECK FAIL: ..." into #qh-check.
constexpr const char* kChecker = R"js(<script>
window.addEventListener('load', function () {
  var problems = [];
  var page = document.documentElement.clientWidth;
  var svgs = Array.prototype.filter.call(document.querySelectorAll('svg'), function (s) {
    return !s.parentNode.closest('svg');  // top-level charts only
  });
  if (svgs.length === 0) problems.push('no <svg> chart in the page');
  var headings = Array.prototype.slice.call(document.querySelectorAll('h1,h2,h3,h4'));
  svgs.forEach(function (s, i) {
    var r = s.getBoundingClientRect();
    var style = getComputedStyle(s);
    var name = 'chart ' + i + ' (' + (s.querySelector('title') ? s.querySelector('title').textContent : '?') + ')';
    if (!(r.width > 0 && r.height > 0)) problems.push(name + ': empty box ' + r.width + 'x' + r.height);
    if (r.left < -0.5 || r.right > page + 0.5) problems.push(name + ': outside the page width ' + r.left + '..' + r.right + ' of ' + page);
    if (style.display === 'none' || style.visibility === 'hidden' || style.opacity === '0') problems.push(name + ': hidden');
    var titled = !!s.querySelector(':scope > title');
    var headed = headings.some(function (h) { return h.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING; });
    if (!titled && !headed) problems.push(name + ': neither a <title> nor a heading before it');
    var drawn = s.querySelectorAll('rect,path,line,polyline,circle,text');
    var visible = Array.prototype.some.call(drawn, function (e) { var b = e.getBoundingClientRect(); return b.width > 0 || b.height > 0; });
    if (!visible) problems.push(name + ': nothing drawn');
  });
  if (document.documentElement.scrollWidth > page + 1) problems.push('page overflows horizontally: ' + document.documentElement.scrollWidth + ' > ' + page);
  Array.prototype.forEach.call(document.body.querySelectorAll('*'), function (e) {
    if (e.id === 'qh-check' || e.closest('svg') && e.tagName.toLowerCase() !== 'svg') return;
    var b = e.getBoundingClientRect();
    if (b.width > 0 && b.right > page + 0.5) problems.push('<' + e.tagName.toLowerCase() + '> overflows: right ' + b.right + ' > ' + page);
  });
  var requested = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  if (requested.length) problems.push('external resources requested: ' + requested.join(' '));
  var out = document.createElement('pre');
  out.id = 'qh-check';
  out.textContent = problems.length ? 'QH-CHECK FAIL: ' + problems.slice(0, 20).join(' | ')
                                    : 'QH-CHECK OK ' + svgs.length + ' charts';
  document.body.appendChild(out);
});
</script>
)js";

std::string run_capture(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return out;
}

// A realistic report: the sample run plus a baseline that differs, so the baseline-delta charts appear too.
std::string sample_html() {
  Results r = testing::sample_results();
  r.cases[0].audit = r.cases[1].audit;
  r.cases[2].audit.residual_peak = {1.5, 3.0};
  r.cases[2].audit.sink_mass = {{0.1, 0.05}, {0.2, 0.1}};
  Results old = r;
  old.cases[1].metrics.set("kld_mean", 0.4);
  old.cases[3].metrics.set("kld_mean", 0.25);
  return render_html(r, &old);
}

TEST(ChromiumRender, EveryChartVisibleInsideThePage) {
  ASSERT_TRUE(fs::exists(kChromium)) << kChromium << " is not installed; `./setup.sh test` installs it (Debian "
                                     << "package chromium), which this test needs to render report.html";
  const fs::path dir = fs::path(::testing::TempDir()) / ("qh_chromium." + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string html = sample_html();
  ASSERT_EQ(html.find("<script"), std::string::npos) << "the shipped report must stay script-free";
  const size_t end = html.rfind("</body>");
  ASSERT_NE(end, std::string::npos);
  std::ofstream(dir / "report.html") << html;
  std::ofstream(dir / "checked.html") << html.substr(0, end) + kChecker + html.substr(end);

  const std::string cmd = "timeout 120 " + std::string(kChromium) +
                          " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                          " --user-data-dir=" + (dir / "profile").string() +
                          " --window-size=1280,1000 --virtual-time-budget=5000 --dump-dom file://" +
                          (dir / "checked.html").string() + " 2>" + (dir / "chromium.log").string();
  int rc = -1;
  const std::string dom = run_capture(cmd, &rc);
  std::stringstream log;
  log << std::ifstream(dir / "chromium.log").rdbuf();
  ASSERT_EQ(rc, 0) << "chromium failed: " << log.str();
  const std::string marker = "<pre id=\"qh-check\">";
  const size_t at = dom.find(marker);
  ASSERT_NE(at, std::string::npos) << "the checker did not run; chromium log:\n" << log.str();
  const size_t from = at + marker.size();
  const std::string verdict = dom.substr(from, dom.find("</pre>", from) - from);
  EXPECT_EQ(verdict.rfind("QH-CHECK OK", 0), 0u) << verdict;
  // Every chart of the page was checked (the count of top-level <svg> in the HTML).
  size_t charts = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++charts;
  EXPECT_GE(charts, 6u);  // degradation, attribution, sink + residual profiles, heatmap, baseline deltas
  EXPECT_NE(verdict.find(" " + std::to_string(charts) + " charts"), std::string::npos) << verdict;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qh::reports
