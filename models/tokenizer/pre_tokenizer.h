// tokenizer.json pre-tokenizers: ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace,
// WhitespaceSplit and Sequence. Each turns every piece of text into smaller pieces ("words") that the model
// tokenizes on their own; the split rules follow Hugging Face's SplitDelimiterBehavior exactly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/json_util.h"

namespace qh::tok {

struct Piece {
  std::string text;
  bool at_origin = false;  // starts at byte 0 of the input text (Metaspace's prepend_scheme "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void apply(std::vector<Piece>& pieces) const = 0;
};

// What happens to the delimiters a split finds.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Segment {
  size_t begin, end;
  bool is_match;
};
// Applies a behavior to segments that cover a text in order; returns the [begin, end) ranges of the
// resulting pieces, empty ones dropped.
std::vector<std::pair<size_t, size_t>> apply_split_behavior(const std::vector<Segment>& segments,
                                                            SplitBehavior behavior);

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const nlohmann::json& j, const std::string& file,
                                                  const std::string& path);

}  // namespace qh::tok
