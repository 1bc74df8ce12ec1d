// UTF-8 at the byte level: walking code points, appending them, validating, and the "lossy" repair that
// turns invalid bytes into U+FFFD the way Hugging Face's decoders do (Rust's String::from_utf8_lossy: one
// replacement character per maximal invalid subpart, as the Unicode standard recommends). Character
// properties and normalization are not here: they come from ICU (unicode.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qh::tok {

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 if the bytes there are not one.
size_t utf8_valid_length(std::string_view s, size_t i);

// Byte offset of the first byte that does not start a valid UTF-8 sequence, or nullopt for valid text.
std::optional<size_t> first_invalid_utf8(std::string_view s);

// Decodes the code point at s[i] and advances i; s must be valid UTF-8 there.
char32_t next_code_point(std::string_view s, size_t& i);

// Number of bytes of the (valid) sequence whose lead byte is c.
inline size_t utf8_lead_length(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

void append_utf8(std::string& out, char32_t cp);

// Valid UTF-8: each maximal invalid subpart of `bytes` replaced by U+FFFD.
std::string utf8_lossy(std::string_view bytes);

}  // namespace qh::tok
