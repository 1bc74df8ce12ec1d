// The Markdown the report writers produce, as HTML: headings (#, ##, ###), GitHub-flavoured pipe tables (header
// row, |---| separator, body rows; "\|" is a literal pipe; cells that are numbers are right-aligned with class
// "num"), paragraphs with
// hard line breaks (two trailing spaces) and `code` spans. Everything else is escaped text. It is how a page
// shows the same tables as its Markdown file without a second copy of them (audit.html from audit.md).
#pragma once

#include <string>

namespace qh::reports {

// heading_offset shifts heading levels (1: "#" becomes <h2>), for Markdown shown inside a page's section.
std::string markdown_to_html(const std::string& markdown, int heading_offset = 0);

}  // namespace qh::reports
