// libFuzzer target: arbitrary bytes as a safetensors file. The parser must either accept them (and then
// every tensor it accepted must decode within the buffer) or throw qh::InputError — never crash, read out
// of bounds, overflow, or throw anything else.
#include <cstddef>
#include <cstdint>

#include "models/safetensors.h"
#include "src/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const qh::SafetensorsHeader h = qh::parse_safetensors(data, size, "fuzz");
    for (const qh::SafetensorsEntry& e : h.tensors) {
      if (e.end - e.begin > (1u << 20)) continue;  // decoding is linear; keep iterations fast
      try {
        (void)qh::decode_tensor(data, h, e, "fuzz");
      } catch (const qh::InputError&) {
        // non-float dtypes cannot hold weights: a valid outcome
      }
    }
  } catch (const qh::InputError&) {
    // rejected input: the expected outcome for most inputs
  }
  return 0;
}
