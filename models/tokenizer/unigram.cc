#include "models/tokenizer/unigram.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "models/tokenizer/utf8.h"
#include "src/core/error.h"

namespace qh::tok {

using json_util::brief;
using nlohmann::json;

UnigramModel::UnigramModel(const json_util::Fields& f) : file_(f.file) {
  f.only_keys({"type", "unk_id", "vocab", "byte_fallback"});
  byte_fallback_ = f.boolean("byte_fallback", false);
  if (!f.has("vocab") || !f.obj.at("vocab").is_array()) f.fail("vocab", "expected an array of [piece, score]");
  const json& vocab = f.obj.at("vocab");
  min_score_ = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < vocab.size(); ++i) {
    const json& e = vocab[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      f.fail("vocab[" + std::to_string(i) + "]", "expected [piece, score], got " + brief(e));
    pieces_.push_back(e[0].get<std::string>());
    scores_.push_back(e[1].get<double>());
    ids_.emplace(pieces_.back(), static_cast<int32_t>(i));  // a repeated piece keeps its first id
    min_score_ = std::min(min_score_, scores_.back());
    max_piece_bytes_ = std::max(max_piece_bytes_, pieces_.back().size());
  }
  if (f.has("unk_id")) {
    const int id = f.int_value("unk_id");
    if (id < 0 || static_cast<size_t>(id) >= pieces_.size())
      f.fail("unk_id", "expected an index into vocab (0.." + std::to_string(pieces_.size()) + "), got " + std::to_string(id));
    unk_id_ = id;
  }
}

void UnigramModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  constexpr double kUnkPenalty = 10.0;
  const double unk_score = min_score_ - kUnkPenalty;
  struct Best {
    double score = 0;
    int64_t start = -1;  // -1: not reached
    int32_t id = -1;
  };
  const size_t n = word.size();
  std::vector<Best> best(n + 1);
  best[0].start = 0;
  std::string key;
  for (size_t start = 0; start < n;) {
    const size_t char_len = utf8_lead_length(static_cast<unsigned char>(word[start]));
    const double here = best[start].score;
    bool single_char_piece = false;
    // Every vocabulary piece that starts here, shortest first (the reference's trie order).
    for (size_t len = 1; len <= max_piece_bytes_ && start + len <= n; ++len) {
      key.assign(word.substr(start, len));
      const auto it = ids_.find(key);
      if (it == ids_.end()) continue;
      Best& target = best[start + len];
      const double candidate = here + scores_[it->second];
      if (target.start < 0 || candidate > target.score) target = {candidate, static_cast<int64_t>(start), it->second};
      if (len == char_len) single_char_piece = true;
    }
    if (!single_char_piece) {
      if (!unk_id_)
        throw InputError(file_ + ": model: the text has a character no piece covers and the Unigram model has no unk_id");
      Best& target = best[start + char_len];
      const double candidate = here + unk_score;
      if (target.start < 0 || candidate > target.score) target = {candidate, static_cast<int64_t>(start), *unk_id_};
    }
    start += char_len;
  }
  // Back from the end: the pieces in reverse, runs of unk fused into one.
  std::vector<std::pair<size_t, size_t>> ranges;  // [begin, end) of each piece, reversed
  std::vector<bool> is_unk;
  for (size_t end = n; end > 0;) {
    const Best& b = best[end];
    QH_CHECK(b.start >= 0);
    const bool unk = unk_id_ && b.id == *unk_id_;
    if (unk && !ranges.empty() && is_unk.back()) ranges.back().first = static_cast<size_t>(b.start);
    else ranges.emplace_back(static_cast<size_t>(b.start), end), is_unk.push_back(unk);
    end = static_cast<size_t>(b.start);
  }
  for (size_t k = ranges.size(); k-- > 0;) {
    const std::string piece(word.substr(ranges[k].first, ranges[k].second - ranges[k].first));
    const auto it = ids_.find(piece);
    if (it != ids_.end()) {
      out.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> bytes;
      for (unsigned char c : piece) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", c);
        const auto b = ids_.find(name);
        if (b == ids_.end()) break;
        bytes.push_back(b->second);
      }
      if (bytes.size() == piece.size()) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    QH_CHECK(unk_id_.has_value());
    out.push_back(*unk_id_);
  }
}

}  // namespace qh::tok
