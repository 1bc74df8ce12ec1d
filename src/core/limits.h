// The stated limits of qharness, checked before the work they bound starts, so that an absurd request is a
// clear bad-input error (exit 2) instead of a crash inside a library or a machine swapping to death.
#pragma once

#include <cstdint>
#include <string>

#include "src/core/error.h"

namespace qh {

// OpenMP threads of one process (--threads). libgomp allocates every thread's stack up front and crashes
// (not fails) when that is impossible; 1024 is above the core count of any single machine qharness runs on.
inline constexpr int kMaxThreads = 1024;

// Token ids held by one data set: 2^28 ids (1 GiB as int32, about 3 GiB while a file is read and split).
// A data spec or file larger than this is refused before anything is read or generated.
inline constexpr int64_t kMaxDataTokens = int64_t{1} << 28;

// `option` (e.g. "--threads") must be in [0, kMaxThreads]; 0 means "all cores". Throws InputError.
inline int checked_threads(int64_t threads, const std::string& option) {
  if (threads < 0 || threads > kMaxThreads)
    throw InputError(option + " " + std::to_string(threads) + ": expected 0 (all cores) to " +
                     std::to_string(kMaxThreads));
  return static_cast<int>(threads);
}

}  // namespace qh
