#include "reports/markdown_html.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "reports/svg.h"

namespace qh::reports {

namespace {

using svg::xml_escape;

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Escaped text with `code` spans.
std::string inline_html(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('`', i);
    const size_t close = open == std::string::npos ? std::string::npos : text.find('`', open + 1);
    if (close == std::string::npos) {
      out += xml_escape(text.substr(i));
      break;
    }
    out += xml_escape(text.substr(i, open - i)) + "<code>" + xml_escape(text.substr(open + 1, close - open - 1)) +
           "</code>";
    i = close + 1;
  }
  return out;
}

bool is_table_row(const std::string& line) {
  const std::string t = trim(line);
  return t.size() >= 2 && t.front() == '|' && t.back() == '|';
}

std::vector<std::string> cells(const std::string& line) {
  const std::string t = trim(line);
  std::vector<std::string> out;
  std::string cell;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    if (t[i] == '\\' && t[i + 1] == '|' && i + 2 < t.size()) {
      cell += '|';
      ++i;
    } else if (t[i] == '|') {
      out.push_back(trim(cell));
      cell.clear();
    } else {
      cell += t[i];
    }
  }
  out.push_back(trim(cell));
  return out;
}

bool is_separator(const std::string& line) {
  if (!is_table_row(line)) return false;
  for (const std::string& c : cells(line)) {
    if (c.empty() || c.find_first_not_of("-: ") != std::string::npos) return false;
  }
  return true;
}

// A cell that is one number ("0.01465", "-3", "1.2e-05", "inf", "n/a" is not): right-aligned.
bool is_number(const std::string& c) {
  if (c.empty()) return false;
  char* end = nullptr;
  std::strtod(c.c_str(), &end);
  return end == c.c_str() + c.size();
}

}  // namespace

std::string markdown_to_html(const std::string& markdown, int heading_offset) {
  std::vector<std::string> lines;
  std::istringstream in(markdown);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string html;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string t = trim(lines[i]);
    if (t.empty()) {
      ++i;
    } else if (t[0] == '#') {
      size_t level = t.find_first_not_of('#');
      if (level == std::string::npos) level = t.size();
      const int h = std::min(static_cast<int>(level) + heading_offset, 6);
      html += "<h" + std::to_string(h) + ">" + inline_html(trim(t.substr(level))) + "</h" + std::to_string(h) + ">\n";
      ++i;
    } else if (is_table_row(t) && i + 1 < lines.size() && is_separator(lines[i + 1])) {
      html += "<table>\n<tr>";
      for (const std::string& c : cells(t)) html += "<th>" + inline_html(c) + "</th>";
      html += "</tr>\n";
      for (i += 2; i < lines.size() && is_table_row(lines[i]); ++i) {
        html += "<tr>";
        for (const std::string& c : cells(lines[i]))
          html += (is_number(c) ? "<td class=\"num\">" : "<td>") + inline_html(c) + "</td>";
        html += "</tr>\n";
      }
      html += "</table>\n";
    } else {
      // A paragraph: this line (whatever it is) and the plain lines after it.
      html += "<p>";
      do {
        const std::string& line = lines[i];
        const bool hard_break = line.size() >= 2 && line.compare(line.size() - 2, 2, "  ") == 0;
        html += inline_html(trim(line)) + (hard_break ? "<br/>\n" : "\n");
        ++i;
      } while (i < lines.size() && !trim(lines[i]).empty() && trim(lines[i])[0] != '#' && !is_table_row(lines[i]));
      html += "</p>\n";
    }
  }
  return html;
}

}  // namespace qh::reports
