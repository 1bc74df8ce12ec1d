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

#include <string>
#include <string_view>

namespace qh {

// Within one process a file is read once: its hash is remembered under its path, device, inode, size, mtime and
// ctime (ctime changes on every write and cannot be set back by the user, unlike mtime), so a file changed
// since is read again. A missing, unreadable or directory path is an InputError naming it.
std::string file_content_hash(const std::string& path);

// FNV-1a 64 of `text` as 16 lowercase hex digits (stable across runs and machines).
std::string text_hash(std::string_view text);

}  // namespace qh
