// Markdown -> HTML for the reports' own Markdown (reports/markdown_html.h): hand-written inputs and the exact
// HTML expected, including escaping, numeric cells, escaped pipes and lines that only look like tables.
#include <gtest/gtest.h>

#include "reports/markdown_html.h"
#include "tests/reports/xml_check.h"

namespace qh::reports {
namespace {

TEST(MarkdownHtml, HeadingsTablesAndParagraphs) {
  const std::string md =
      "# Audit\n\nModel: `llama` <2 layers>  \nData: bb.\n\n## Heads\n\n"
      "| layer | name | sink_mass |\n|---|---|---:|\n| 0 | a \\| b | 0.25 |\n| 1 | n/a | 1.2e-05 |\n";
  EXPECT_EQ(markdown_to_html(md),
            "<h1>Audit</h1>\n"
            "<p>Model: <code>llama</code> &lt;2 layers&gt;<br/>\nData: bb.\n</p>\n"
            "<h2>Heads</h2>\n"
            "<table>\n<tr><th>layer</th><th>name</th><th>sink_mass</th></tr>\n"
            "<tr><td class=\"num\">0</td><td>a | b</td><td class=\"num\">0.25</td></tr>\n"
            "<tr><td class=\"num\">1</td><td>n/a</td><td class=\"num\">1.2e-05</td></tr>\n"
            "</table>\n");
}

TEST(MarkdownHtml, HeadingOffsetAndWellFormedness) {
  const std::string html = markdown_to_html("## Residual stream\n\n| a |\n|---|\n| 1 |\n", 1);
  EXPECT_EQ(html.rfind("<h3>Residual stream</h3>", 0), 0u) << html;
  EXPECT_EQ(qh::testing::xml_problem("<div>" + html + "</div>"), "");
}

// A pipe row without a separator line is text, and ends (no endless loop on it).
TEST(MarkdownHtml, PipeLinesWithoutSeparatorAreText) {
  EXPECT_EQ(markdown_to_html("| not | a table |\n| still | text |\n"),
            "<p>| not | a table |\n</p>\n<p>| still | text |\n</p>\n");
  EXPECT_EQ(markdown_to_html(""), "");
  EXPECT_EQ(markdown_to_html("\n\n"), "");
}

}  // namespace
}  // namespace qh::reports
