// tokenizer.json normalizers: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace and Sequence. A
// normalizer rewrites the text of each piece between added tokens before pre-tokenization.
#pragma once

#include <memory>
#include <string>

#include "models/json_util.h"

namespace qh::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8; so is the result.
  virtual std::string apply(std::string text) const = 0;
};

// `j` is the "normalizer" value (not null); path is its JSON path for messages.
std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& j, const std::string& file, const std::string& path);

}  // namespace qh::tok
