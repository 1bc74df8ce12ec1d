// Headless Chromium as a test oracle for the HTML reports: chromium_check(html) loads a copy of the page with a
// test-only checker <script> appended (the shipped page stays script-free) through --dump-dom and returns the
// checker's verdict: "QH-CHECK OK <n> charts" or "QH-CHECK FAIL: ...". The checker requires that every <svg>
// has a non-zero box inside the page width, a <title> or a heading before it and drawn content; that no text
// of a chart overlaps another or sticks out of it; that each chart is as wide as its container allows (up to
// its drawn width); that nothing overflows the page; that no Markdown table is dumped as <pre>; and that no
// external resource was requested. Chromium is a test dependency (Debian package `chromium`, installed by
// `./setup.sh test`); without it the calling test FAILS with that advice rather than skipping.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/command.h"

namespace qh::testing {

constexpr const char* kChromium = "/usr/bin/chromium";

// Runs in the page after load; writes "QH-CHECK OK <n> charts" or "QH-CHECK FAIL: ..." into #qh-check.
inline constexpr const char* kChecker = R"js(<script>
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
  // Text inside each chart: no two labels overlap, none is cut off by the chart's edge.
  svgs.forEach(function (s, i) {
    var box = s.getBoundingClientRect();
    var name = 'chart ' + i + ' (' + (s.querySelector('title') ? s.querySelector('title').textContent : '?') + ')';
    var texts = Array.prototype.map.call(s.querySelectorAll('text'), function (t) {
      return {t: t.textContent, b: t.getBoundingClientRect()};
    }).filter(function (e) { return e.b.width > 0 && e.b.height > 0; });
    texts.forEach(function (a, j) {
      if (a.b.left < box.left - 0.5 || a.b.right > box.right + 0.5 || a.b.top < box.top - 0.5 || a.b.bottom > box.bottom + 0.5)
        problems.push(name + ': text "' + a.t + '" sticks out of the chart');
      for (var k = j + 1; k < texts.length; ++k) {
        var b = texts[k].b;
        var w = Math.min(a.b.right, b.right) - Math.max(a.b.left, b.left);
        var h = Math.min(a.b.bottom, b.bottom) - Math.max(a.b.top, b.top);
        if (w > 0.5 && h > 0.5) problems.push(name + ': "' + a.t + '" overlaps "' + texts[k].t + '"');
      }
    });
    // Charts use the page: a chart is as wide as its container allows, up to the width it is drawn at.
    var drawn = s.viewBox && s.viewBox.baseVal ? s.viewBox.baseVal.width : 0;
    var room = s.parentNode.getBoundingClientRect().width;
    if (drawn > 0 && box.width + 1 < Math.min(drawn, room)) problems.push(name + ': ' + box.width + ' px wide of ' + Math.min(drawn, room) + ' available');
  });
  // Tables are tables: no Markdown dumped as preformatted text.
  Array.prototype.forEach.call(document.querySelectorAll('pre'), function (p) {
    if (p.id !== 'qh-check' && p.textContent.indexOf('|---') >= 0) problems.push('a Markdown table shown as <pre>');
  });
  var out = document.createElement('pre');
  out.id = 'qh-check';
  out.textContent = problems.length ? 'QH-CHECK FAIL: ' + problems.slice(0, 20).join(' | ')
                                    : 'QH-CHECK OK ' + svgs.length + ' charts';
  document.body.appendChild(out);
});
</script>
)js";

// The checker's verdict on `html` ("" and a gtest failure when Chromium is missing or did not run it).
inline std::string chromium_check(const std::string& html, const std::string& name) {
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(kChromium)) << kChromium << " is not installed; `./setup.sh test` installs it (Debian "
                                     << "package chromium), which this test needs to render " << name;
  if (!fs::exists(kChromium)) return "";
  const fs::path dir = fs::path(::testing::TempDir()) / ("qh_chromium." + std::to_string(::getpid()) + "." + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_EQ(html.find("<script"), std::string::npos) << "the shipped page must stay script-free";
  const size_t end = html.rfind("</body>");
  EXPECT_NE(end, std::string::npos);
  if (end == std::string::npos) return "";
  std::ofstream(dir / "checked.html") << html.substr(0, end) + kChecker + html.substr(end);
  const std::string cmd = "timeout 120 " + std::string(kChromium) +
                          " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                          " --user-data-dir=" + (dir / "profile").string() +
                          " --window-size=1280,1000 --virtual-time-budget=5000 --dump-dom file://" +
                          (dir / "checked.html").string() + " 2>" + (dir / "chromium.log").string();
  const qh::testutil::Command chromium = qh::testutil::capture(cmd);
  const int rc = chromium.exit_code;
  const std::string& dom = chromium.output;
  std::stringstream log;
  log << std::ifstream(dir / "chromium.log").rdbuf();
  EXPECT_EQ(rc, 0) << "chromium failed: " << log.str();
  const std::string marker = "<pre id=\"qh-check\">";
  const size_t at = dom.find(marker);
  EXPECT_NE(at, std::string::npos) << "the checker did not run; chromium log:\n" << log.str();
  if (at == std::string::npos) return "";
  const size_t from = at + marker.size();
  fs::remove_all(dir);
  return dom.substr(from, dom.find("</pre>", from) - from);
}

// The number of top-level charts in a page (each "<svg" outside another).
inline size_t count_charts(const std::string& html) {
  size_t charts = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++charts;
  return charts;
}

}  // namespace qh::testing
