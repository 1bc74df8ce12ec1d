// tokenizer.json decoders: turn the token strings of ids back into text. ByteLevel (alphabet -> bytes, invalid
// UTF-8 -> U+FFFD), Metaspace (replacement -> space, the first token's prefix dropped), ByteFallback (<0xNN>
// runs -> the bytes' text, or one U+FFFD per byte when they are not UTF-8), Fuse, Strip, Replace and
// Sequence. Without a decoder the tokens are joined with spaces, as the reference does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/json_util.h"

namespace qh::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // One step of the chain: tokens in, tokens out (the final text is their concatenation).
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

std::unique_ptr<Decoder> parse_decoder(const nlohmann::json& j, const std::string& file, const std::string& path);

}  // namespace qh::tok
