// The project's hashes, one per job (all in src/core):
//  - file_content_hash: what cache keys know a file by (below), fast over gigabytes of weights;
//  - text_hash: FNV-1a 64 of a short text (cache keys, suite and recipe identities);
//  - sha256_hex (sha256.h): a published identity a user can check with sha256sum, as the Hugging Face Hub
//    shows for files (the tokenizer in results). The first two are not cryptographic: they guard against
//    accidents, not against an adversary.
//
// file_content_hash: a 64-bit hash of its whole content (16 hex digits, the same on every
// machine), so that a file changed in place, or a checkpoint retrained into the same folder, is never taken
// for the one a cached result was computed from. It is not a cryptographic hash: it guards against accidents,
// not against an adversary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qh {

// The same hash over bytes in memory, fed in pieces (an in-memory model's tensors, token windows): equal
// bytes in equal order give the hash file_content_hash gives a file holding them.
class ContentHasher {
 public:
  void update(const void* data, size_t n);
  std::string hex() const;  // 16 hex digits
  uint64_t digest() const;

 private:
  void block(const unsigned char* p);
  uint64_t lanes_[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  unsigned char pending_[32] = {};
  size_t pending_size_ = 0;
  uint64_t length_ = 0;
};

// Within one process a file is read once: its hash is remembered under its path, device, inode, size, mtime and
// ctime (ctime changes on every write and cannot be set back by the user, unlike mtime), so a file changed
// since is read again. A missing, unreadable or directory path is an InputError naming it.
std::string file_content_hash(const std::string& path);

// FNV-1a 64 of `text` as 16 lowercase hex digits (stable across runs and machines).
std::string text_hash(std::string_view text);

}  // namespace qh
