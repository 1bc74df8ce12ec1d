// 4-bit packing for weight storage (two values per byte, low nibble first; see quant/quantize.h).
#include <cstdint>

#include "quant/quantize.h"

namespace qh::quant {

// Byte shuffling for weight storage, done once per weight: plain loops (the compiler vectorizes them).
void pack_int4(const int8_t* codes, int64_t n, uint8_t* packed) {
  for (int64_t i = 0; i + 1 < n; i += 2) {
    packed[i / 2] = static_cast<uint8_t>((static_cast<uint8_t>(codes[i]) & 0x0f) | (static_cast<uint8_t>(codes[i + 1]) << 4));
  }
  if (n % 2 == 1) packed[n / 2] = static_cast<uint8_t>(codes[n - 1]) & 0x0f;
}

void unpack_int4(const uint8_t* packed, int64_t n, int8_t* codes) {
  for (int64_t i = 0; i + 1 < n; i += 2) {
    // Shift the nibble to the top of the byte, then arithmetic-shift back down: sign extension.
    codes[i] = static_cast<int8_t>(static_cast<int8_t>(packed[i / 2] << 4) >> 4);
    codes[i + 1] = static_cast<int8_t>(static_cast<int8_t>(packed[i / 2]) >> 4);
  }
  if (n % 2 == 1) codes[n - 1] = static_cast<int8_t>(static_cast<int8_t>(packed[n / 2] << 4) >> 4);
}

}  // namespace qh::quant
