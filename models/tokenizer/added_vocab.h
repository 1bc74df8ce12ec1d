// Added tokens (tokenizer.json "added_tokens"): matched in the text before the model sees it, as Hugging Face
// does. Tokens with normalized=false are found in the raw text first; the pieces between them are normalized
// and then searched for the normalized=true tokens (whose content is normalized the same way). Matching is
// leftmost-longest; single_word, lstrip and rstrip follow the reference's rules (\w word boundaries, White_Space
// runs).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qh::tok {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
};

// A split of a text: a range that is an added token (id >= 0) or plain text (id = -1).
struct Match {
  size_t begin, end;
  int32_t id;
};

// Leftmost-longest matching of a set of strings (a byte trie).
class TokenMatcher {
 public:
  // patterns[i] is found as tokens[i]; empty patterns are ignored.
  TokenMatcher(const std::vector<std::string>& patterns, const std::vector<const AddedToken*>& tokens);
  bool empty() const { return nodes_.size() == 1; }
  // Splits `text` into added tokens and the plain text between them (covering it, no empty ranges).
  std::vector<Match> split(std::string_view text) const;

 private:
  struct Node {
    std::unordered_map<unsigned char, int32_t> next;
    int32_t token = -1;  // index into tokens_ when a pattern ends here
  };
  std::vector<Node> nodes_;
  std::vector<const AddedToken*> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace qh::tok
