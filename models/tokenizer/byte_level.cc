#include "models/tokenizer/byte_level.h"

#include "models/tokenizer/utf8.h"

namespace qh::tok {
namespace {

bool printable_latin1(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct Tables {
  std::array<std::string, 256> alphabet;
  std::array<int, 512> byte_of{};  // indexed by code point; the alphabet lies below U+0200
  Tables() {
    byte_of.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = printable_latin1(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      append_utf8(alphabet[b], cp);
      byte_of[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_level_alphabet() { return tables().alphabet; }

void append_byte_level(std::string& out, std::string_view bytes) {
  const auto& a = tables().alphabet;
  for (unsigned char b : bytes) out += a[b];
}

int byte_of_alphabet_char(char32_t cp) { return cp < 512 ? tables().byte_of[cp] : -1; }

}  // namespace qh::tok
