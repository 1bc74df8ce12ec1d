// SHA-256 (FIPS 180-4) of a byte string as 64 lowercase hex digits: the content hash that names a tokenizer
// file in results (the same digest the Hugging Face Hub shows for a file stored with Git LFS).
#pragma once

#include <string>
#include <string_view>

namespace qh {

std::string sha256_hex(std::string_view data);

}  // namespace qh
