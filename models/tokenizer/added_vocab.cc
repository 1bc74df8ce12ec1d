#include "models/tokenizer/added_vocab.h"

#include <algorithm>

#include "models/tokenizer/unicode.h"
#include "models/tokenizer/utf8.h"

namespace qh::tok {
namespace {

// The code point that ends just before byte `end` of valid UTF-8 text.
char32_t code_point_before(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return next_code_point(s, start);
}

}  // namespace

TokenMatcher::TokenMatcher(const std::vector<std::string>& patterns, const std::vector<const AddedToken*>& tokens)
    : nodes_(1) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].empty()) continue;
    int32_t node = 0;
    for (unsigned char c : patterns[i]) {
      auto it = nodes_[node].next.find(c);
      if (it == nodes_[node].next.end()) {
        nodes_.emplace_back();
        it = nodes_[node].next.emplace(c, static_cast<int32_t>(nodes_.size() - 1)).first;
      }
      node = it->second;
    }
    if (nodes_[node].token < 0) {  // the first of equal patterns wins
      nodes_[node].token = static_cast<int32_t>(tokens_.size());
      tokens_.push_back(tokens[i]);
    }
    first_byte_[static_cast<unsigned char>(patterns[i][0])] = true;
  }
}

std::vector<Match> TokenMatcher::split(std::string_view text) const {
  std::vector<Match> out;
  size_t plain_from = 0;  // start of the plain text not yet emitted
  size_t pos = 0;
  while (pos < text.size()) {
    // Leftmost-longest: the first position where any pattern starts, and the longest pattern there.
    size_t start = pos, len = 0;
    int32_t found = -1;
    for (; start < text.size(); ++start) {
      if (!first_byte_[static_cast<unsigned char>(text[start])]) continue;
      int32_t node = 0;
      for (size_t k = start; k < text.size(); ++k) {
        const auto it = nodes_[node].next.find(static_cast<unsigned char>(text[k]));
        if (it == nodes_[node].next.end()) break;
        node = it->second;
        if (nodes_[node].token >= 0) found = nodes_[node].token, len = k + 1 - start;
      }
      if (found >= 0) break;
    }
    if (found < 0) break;
    pos = start + len;  // the next search starts after this match whether or not it is kept
    const AddedToken& tok = *tokens_[found];
    size_t b = start, e = start + len;
    if (tok.single_word) {
      const bool word_before = b > 0 && is_word_char(code_point_before(text, b));
      size_t after = e;
      const bool word_after = e < text.size() && is_word_char(next_code_point(text, after));
      if (word_before || word_after) continue;
    }
    if (tok.lstrip) {
      size_t nb = b;
      while (nb > plain_from && is_whitespace(code_point_before(text, nb))) {
        size_t s = nb - 1;
        while (s > 0 && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
        nb = s;
      }
      b = std::max(nb, plain_from);
    }
    if (tok.rstrip) {
      while (e < text.size()) {
        size_t i = e;
        if (!is_whitespace(next_code_point(text, i))) break;
        e = i;
      }
      pos = std::max(pos, e);
    }
    if (plain_from < b) out.push_back({plain_from, b, -1});
    out.push_back({b, e, tok.id});
    plain_from = e;
  }
  if (plain_from < text.size()) out.push_back({plain_from, text.size(), -1});
  return out;
}

}  // namespace qh::tok
