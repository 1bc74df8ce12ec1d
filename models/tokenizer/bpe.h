// The BPE model of tokenizer.json: a word (one pre-tokenizer piece) starts as its characters (with
// continuing_subword_prefix / end_of_word_suffix, <0xNN> byte tokens for characters outside the vocabulary
// when byte_fallback is on, else the unk token, fused when fuse_unk) and is merged pair by pair, always the
// pair of lowest merge rank first (leftmost on ties), through a priority queue over a linked list of
// symbols. Results are cached per word; the cache is shared by threads (a mutex) and bounded. A long word
// (Metaspace without split makes the whole text one word) is cut where no merge can ever join the two
// characters on either side: they are not adjacent in any merged token. The parts are then merged (and
// cached) on their own, which gives the same ids, since merges never reach across such a cut.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "models/json_util.h"

namespace qh::tok {

class BpeModel {
 public:
  // `f` is the "model" object; vocab / merges are read and checked (every merge's parts and result must be in
  // the vocabulary).
  explicit BpeModel(const json_util::Fields& f);

  // Appends the ids of `word` to `out`. Throws InputError when a character has no token and the model has
  // neither byte fallback nor an unk token.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  const Merge* find_merge(int32_t a, int32_t b) const;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  void tokenize_cached(std::string_view word, std::vector<int32_t>& out) const;
  std::optional<int32_t> lookup(std::string_view s) const;

  std::string file_;
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<std::string> unk_token_;
  std::string prefix_;  // continuing_subword_prefix
  std::string suffix_;  // end_of_word_suffix
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  int32_t byte_ids_[256];  // <0xNN> ids, -1 where absent
  std::unordered_set<uint64_t> joined_pairs_;  // (code point, next code point) adjacent inside a merged token
  std::unordered_set<char32_t> single_chars_;  // code points that are tokens by themselves

  static constexpr size_t kCacheCapacity = 1 << 17;
  static constexpr size_t kCacheMaxWordBytes = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace qh::tok
