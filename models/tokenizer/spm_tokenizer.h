// A SentencePiece tokenizer.model, run by the SentencePiece library itself (Debian's libsentencepiece).
// add_special prepends BOS (as Llama-family loaders do); the text "<s>" is plain text here, unlike in the
// tokenizer.json of the same vocabulary, because that is how SentencePiece defines it.
#pragma once

#include <memory>
#include <string>

#include "models/tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace qh::tok {

class SpmTokenizer final : public Tokenizer {
 public:
  // `content`: the bytes of the .model file; `file`: its name for messages and describe().
  SpmTokenizer(const std::string& content, const std::string& file);
  ~SpmTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override;
  int64_t vocab_size() const override;
  std::optional<int32_t> bos_id() const override;
  std::optional<int32_t> eos_id() const override;
  std::string describe() const override { return describe_; }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string describe_;
};

}  // namespace qh::tok
