// libFuzzer target: arbitrary bytes through the tokenizers. The first byte picks the role of the rest:
//   even: a tokenizer.json. It must either load or throw qh::InputError; a tokenizer that loads must encode
//         a few fixed texts into ids inside its vocabulary (or refuse them with InputError).
//   odd:  a text for a fixed tokenizer with every pipeline step (NFKC + Lowercase, ByteLevel and Split
//         pre-tokenizers, added tokens with lstrip / rstrip / single_word, byte-level BPE with merges):
//         the text is encoded (invalid UTF-8 -> InputError) and the ids decoded again.
// Never a crash, an out-of-bounds read or another exception type.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "models/tokenizer/hf_tokenizer.h"
#include "src/core/error.h"

namespace {

const char* const kFixed = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 6, "content": "<s>", "special": true, "single_word": false, "lstrip": true, "rstrip": false, "normalized": false},
    {"id": 7, "content": "ab", "special": false, "single_word": true, "lstrip": false, "rstrip": true, "normalized": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}|\\s+(?!\\S)|[^\\s\\p{N}]+|\\s+"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
    {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [6], "tokens": ["<s>"]}}},
  "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "aa": 3, "Ġa": 4, "Ġaa": 5}, "merges": ["a a", "Ġ a", "Ġ aa"]}
})";

void check_ids(const qh::tok::Tokenizer& t, const std::string& text) {
  try {
    for (bool special : {false, true}) {
      const std::vector<int32_t> ids = t.encode(text, special);
      for (int32_t id : ids)
        if (id < 0 || id >= t.vocab_size()) std::abort();
      (void)t.decode(ids, !special);
    }
  } catch (const qh::InputError&) {
    // a character without a token in a vocabulary without fallback, or text that is not UTF-8
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    std::unique_ptr<qh::tok::HfTokenizer> t;
    try {
      t = std::make_unique<qh::tok::HfTokenizer>(rest, "fuzz.json", std::nullopt, "");
    } catch (const qh::InputError&) {
      return 0;  // rejected: the expected outcome for most inputs
    }
    for (const char* text : {"", "a b", "Hello, World! 123", "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80"}) check_ids(*t, text);
    return 0;
  }
  static const qh::tok::HfTokenizer fixed(kFixed, "fixed.json", std::nullopt, "");
  check_ids(fixed, rest);
  return 0;
}
