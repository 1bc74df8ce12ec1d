// A Hugging Face tokenizer.json: added tokens, normalizer, pre-tokenizer, model (BPE or Unigram),
// post-processor and decoder, run in the reference's order:
//   added tokens (normalized=false) on the raw text -> normalizer on each piece between them -> added tokens
//   (normalized=true) -> pre-tokenizer -> model per word -> post-processor (add_special only).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/tokenizer/added_vocab.h"
#include "models/tokenizer/tokenizer.h"

namespace qh::tok {

class Normalizer;
class PreTokenizer;
class PostProcessor;
class Decoder;
class BpeModel;
class UnigramModel;

class HfTokenizer final : public Tokenizer {
 public:
  // `content`: the tokenizer.json text; `file`: its name for messages and describe(). `config`: the content of
  // a tokenizer_config.json next to it, if any (its bos_token / eos_token name the document markers).
  HfTokenizer(const std::string& content, const std::string& file, const std::optional<std::string>& config,
              const std::string& config_file);
  ~HfTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  std::string describe() const override { return describe_; }

  // The token string of an id (the vocabulary entry, or the added token's content); nullopt if unused.
  std::optional<std::string> id_to_token(int32_t id) const;
  std::optional<int32_t> token_to_id(const std::string& token) const;

 private:
  void encode_plain(std::string_view text, bool at_origin, std::vector<int32_t>& ids) const;
  void find_document_markers(const std::optional<std::string>& config, const std::string& config_file);

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<BpeModel> bpe_;
  std::unique_ptr<UnigramModel> unigram_;
  std::vector<AddedToken> added_;
  std::unique_ptr<TokenMatcher> raw_matcher_;         // normalized=false tokens
  std::unique_ptr<TokenMatcher> normalized_matcher_;  // normalized=true tokens
  std::vector<std::string> id_to_token_;
  std::vector<bool> known_;    // id_to_token_[id] is a real token
  std::vector<bool> special_;  // added token with special=true (skipped by decode(skip_special))
  std::optional<int32_t> bos_, eos_;
  std::string describe_;
};

}  // namespace qh::tok
