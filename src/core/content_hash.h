// What cache keys know a file by: a 64-bit hash of its whole content (16 hex digits, the same on every
// machine), so that a file changed in place, or a checkpoint retrained into the same folder, is never taken
// for the one a cached result was computed from. It is not a cryptographic hash: it guards against accidents,
// not against an adversary.
#pragma once

#include <string>

namespace qh {

// Within one process a file is read once: its hash is remembered under its path, device, inode, size, mtime and
// ctime (ctime changes on every write and cannot be set back by the user, unlike mtime), so a file changed
// since is read again. A missing, unreadable or directory path is an InputError naming it.
std::string file_content_hash(const std::string& path);

}  // namespace qh
