// The GPT-2 byte-level alphabet: every byte 0..255 is shown as one printable code point (printable Latin-1
// bytes as themselves, the others as U+0100 + n in byte order), so that a byte-level BPE vocabulary is a set
// of ordinary strings. Used by the ByteLevel pre-tokenizer (bytes -> alphabet) and decoder (back).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace qh::tok {

// UTF-8 of the alphabet character of each byte.
const std::array<std::string, 256>& byte_level_alphabet();

// Appends the alphabet form of every byte of `bytes` to `out`.
void append_byte_level(std::string& out, std::string_view bytes);

// Byte of an alphabet code point, or -1 when the code point is not in the alphabet.
int byte_of_alphabet_char(char32_t cp);

}  // namespace qh::tok
