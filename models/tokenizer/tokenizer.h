// The one interface every tokenizer implements: text -> ids and back. Implementations: the byte-level
// tokenizer of the zoo's text models (ids 0..255, BOS 256), Hugging Face tokenizer.json (BPE, Unigram) and
// SentencePiece tokenizer.model. Data specs (`text:`, `jsonl:`) and task files reach text through this
// interface only, so a model's ids come from its own tokenizer or from nowhere (never silently bytes).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qh::tok {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // add_special: what Hugging Face's add_special_tokens=True adds (BOS / EOS / template of the
  // post-processor); false gives the bare ids of the text.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special) const = 0;
  // skip_special: leave special tokens out of the text (as skip_special_tokens=True).
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special) const = 0;
  // Number of ids the tokenizer can produce (max id + 1, added tokens included).
  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
  // What it is and where it came from, for results.json: e.g. "hf-bpe tokenizer.json sha256:..." .
  virtual std::string describe() const = 0;
};

// The BOS the tokenizer puts in front of a text with add_special (Llama's, the zoo's; GPT-2 adds none), if any:
// what a document starts with, so task requests and llama.cpp's perplexity windows start with it too.
inline std::optional<int32_t> leading_bos(const Tokenizer& t) {
  const auto bos = t.bos_id();
  const std::vector<int32_t> empty = t.encode("", /*add_special=*/true);
  if (bos && !empty.empty() && empty.front() == *bos) return bos;
  return std::nullopt;
}

// The zoo's byte-level tokenizer: each byte is its own id, BOS = 256 (vocab 257), no EOS.
class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kBos = 256;
  std::vector<int32_t> encode(std::string_view text, bool add_special) const override {
    std::vector<int32_t> ids;
    ids.reserve(text.size() + 1);
    if (add_special) ids.push_back(kBos);
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id >= 0 && id < 256) out.push_back(static_cast<char>(id));
      else if (!skip_special && id == kBos) out += "<bos>";
    }
    return out;
  }
  int64_t vocab_size() const override { return 257; }
  std::optional<int32_t> bos_id() const override { return kBos; }
  std::optional<int32_t> eos_id() const override { return std::nullopt; }
  std::string describe() const override { return "bytes"; }
};

}  // namespace qh::tok
