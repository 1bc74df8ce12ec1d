// A small XML well-formedness checker for the report tests: balanced and properly nested tags, quoted
// attributes, no bare '<' or '&' in text, only known entities. Returns "" when well-formed, else the first
// problem with its byte offset. Enough for what the writers produce (HTML written as XHTML-compatible markup).
#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace qh::testing {

inline std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  auto at = [&](size_t pos, const std::string& what) { return what + " at offset " + std::to_string(pos); };
  auto check_entity = [&](size_t pos) -> bool {
    const size_t end = s.find(';', pos);
    if (end == std::string::npos || end - pos > 10) return false;
    const std::string name = s.substr(pos + 1, end - pos - 1);
    if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") return true;
    if (name.size() >= 2 && name[0] == '#') {
      for (size_t k = 1; k < name.size(); ++k) {
        if (!std::isxdigit(static_cast<unsigned char>(name[k])) && !(k == 1 && name[k] == 'x')) return false;
      }
      return true;
    }
    return false;
  };
  bool seen_root = false;
  while (i < s.size()) {
    if (s[i] == '&') {
      if (!check_entity(i)) return at(i, "bad entity");
      ++i;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t end = s.find("-->", i);
      if (end == std::string::npos) return at(i, "unterminated comment");
      i = end + 3;
      continue;
    }
    if (s.compare(i, 2, "<?") == 0 || s.compare(i, 2, "<!") == 0) {
      const size_t end = s.find('>', i);
      if (end == std::string::npos) return at(i, "unterminated declaration");
      i = end + 1;
      continue;
    }
    const bool closing = i + 1 < s.size() && s[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_start = j;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '-' || s[j] == ':' ||
                            s[j] == '_')) {
      ++j;
    }
    const std::string name = s.substr(name_start, j - name_start);
    if (name.empty()) return at(i, "bare '<' or empty tag name");
    if (closing) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size() || s[j] != '>') return at(j, "malformed closing tag </" + name);
      if (stack.empty() || stack.back() != name) {
        return at(i, "closing </" + name + "> does not match <" + (stack.empty() ? "" : stack.back()) + ">");
      }
      stack.pop_back();
      i = j + 1;
      continue;
    }
    if (stack.empty() && seen_root) return at(i, "second root element <" + name + ">");
    // Attributes: name="value" or name='value'.
    bool self_closing = false;
    while (true) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size()) return at(i, "unterminated tag <" + name);
      if (s[j] == '>') break;
      if (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '>') {
        self_closing = true;
        ++j;
        break;
      }
      const size_t attr_start = j;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '-' || s[j] == ':' ||
                              s[j] == '_')) {
        ++j;
      }
      if (j == attr_start) return at(j, "bad attribute in <" + name);
      if (j >= s.size() || s[j] != '=') return at(j, "attribute without value in <" + name);
      ++j;
      if (j >= s.size() || (s[j] != '"' && s[j] != '\'')) return at(j, "unquoted attribute in <" + name);
      const char q = s[j++];
      while (j < s.size() && s[j] != q) {
        if (s[j] == '<') return at(j, "'<' inside an attribute value");
        if (s[j] == '&' && !check_entity(j)) return at(j, "bad entity in an attribute value");
        ++j;
      }
      if (j >= s.size()) return at(attr_start, "unterminated attribute value");
      ++j;
    }
    if (!self_closing) stack.push_back(name);
    seen_root = true;
    i = j + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + "> at end of document";
  if (!seen_root) return "no root element";
  return "";
}

}  // namespace qh::testing
