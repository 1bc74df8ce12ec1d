#include "src/tasks/lm_eval_text.h"

#include <unicode/uchar.h>

#include "models/tokenizer/unicode.h"
#include "models/tokenizer/utf8.h"
#include "src/core/error.h"

namespace qh::tasks {

int64_t code_points(const std::string& utf8) {
  int64_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool valid_utf8(const std::string& s) { return !tok::first_invalid_utf8(s).has_value(); }

std::string py_capitalize(const std::string& utf8) {
  if (!valid_utf8(utf8)) throw InputError("text is not valid UTF-8");
  if (utf8.empty()) return utf8;
  size_t i = 0;
  const char32_t first = tok::next_code_point(utf8, i);
  std::string out;
  tok::append_utf8(out, static_cast<char32_t>(u_totitle(static_cast<UChar32>(first))));
  return out + tok::to_lower(std::string_view(utf8).substr(i));
}

namespace {
// Python's str.isspace: general category Zs, or bidirectional class WS, B or S.
bool py_isspace(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  const UCharDirection d = u_charDirection(c);
  return u_charType(c) == U_SPACE_SEPARATOR || d == U_WHITE_SPACE_NEUTRAL || d == U_BLOCK_SEPARATOR ||
         d == U_SEGMENT_SEPARATOR;
}
}  // namespace

size_t py_trailing_space_bytes(const std::string& utf8) {
  size_t end = utf8.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(utf8[start]) & 0xC0) == 0x80) --start;
    if (tok::utf8_valid_length(utf8, start) != end - start) break;
    size_t at = start;
    if (!py_isspace(tok::next_code_point(utf8, at))) break;
    end = start;
  }
  return utf8.size() - end;
}

std::string py_strip(const std::string& s) {
  const size_t end = s.size() - py_trailing_space_bytes(s);
  size_t begin = 0;
  while (begin < end) {
    const size_t len = tok::utf8_valid_length(s, begin);
    if (len == 0 || begin + len > end) break;
    size_t at = begin;
    if (!py_isspace(tok::next_code_point(s, at))) break;
    begin = at;
  }
  return s.substr(begin, end - begin);
}

namespace {
void replace_all(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}
}  // namespace

std::string hellaswag_preprocess(const std::string& text) {
  std::string t = py_strip(text);
  replace_all(&t, " [title]", ". ");
  // re.sub("\\[.*?\\]", "", t): each "[" up to the nearest "]" (no newline inside, as "." does not match it).
  std::string out;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '[') {
      const size_t close = t.find_first_of("]\n", i + 1);
      if (close != std::string::npos && t[close] == ']') {
        i = close + 1;
        continue;
      }
    }
    out.push_back(t[i++]);
  }
  // str.replace("  ", " ") is one left-to-right pass over non-overlapping pairs.
  std::string once;
  for (size_t i = 0; i < out.size(); ++i) {
    once.push_back(out[i]);
    if (out[i] == ' ' && i + 1 < out.size() && out[i + 1] == ' ') ++i;
  }
  return once;
}

}  // namespace qh::tasks
