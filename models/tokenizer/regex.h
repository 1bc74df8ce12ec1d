// Unicode regular expressions for pre-tokenizers, normalizers and decoders, through PCRE2 (UTF + UCP, so
// \p{L}, \p{N}, \s and \w are Unicode classes; possessive quantifiers and lookahead as in the GPT-2 and
// Llama-3 split patterns). Compiled once, JIT-compiled where the platform supports it; matching is
// thread-safe (each call has its own match data).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qh::tok {

class Regex {
 public:
  // Throws InputError("<where>: ...") when the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // All non-overlapping matches as [begin, end) byte offsets, left to right. After an empty match the search
  // moves on by one character. `text` must be valid UTF-8.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::string where_;
  void* code_ = nullptr;  // pcre2_code_8
};

// The pattern that matches `literal` exactly (for HF patterns given as {"String": ...}).
std::string regex_escape(std::string_view literal);

}  // namespace qh::tok
