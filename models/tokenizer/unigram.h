// The Unigram model of tokenizer.json: the segmentation of a word with the highest total piece score
// (Viterbi over all vocabulary pieces that match at each position). A character no piece covers becomes the
// unk piece with score min_score - 10 (consecutive unks fused), or its <0xNN> byte tokens with byte_fallback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/json_util.h"

namespace qh::tok {

class UnigramModel {
 public:
  explicit UnigramModel(const json_util::Fields& f);
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;
  const std::vector<std::string>& pieces() const { return pieces_; }

 private:
  std::string file_;
  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  std::unordered_map<std::string, int32_t> ids_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  double min_score_ = 0;
  size_t max_piece_bytes_ = 0;
};

}  // namespace qh::tok
