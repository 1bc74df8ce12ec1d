// The process's memory as the operating system reports it (Linux): the memory a run may still take, the
// peak resident set, and byte sizes as people write them. Used by the pre-load memory check
// (src/engine/memory_estimate.h) and the benchmarks.
#pragma once

#include <cstdint>
#include <string>

namespace qh {

// Memory available to this process: the smaller of MemAvailable in /proc/meminfo and, under a cgroup limit,
// the limit minus the cgroup's current usage (v2 memory.max / memory.current, or v1 limit_in_bytes /
// usage_in_bytes). `source` says which figure it is, for messages. bytes = 0 when none is readable.
struct AvailableMemory {
  uint64_t bytes = 0;
  std::string source;
};
AvailableMemory available_memory();

// "7G", "512M", "1.5GiB", "4096" (bytes): K/M/G/T are powers of 1024 with or without a trailing "iB"/"B",
// "KB"/"MB"/"GB"/"TB" powers of 1000. InputError naming `what` otherwise.
uint64_t parse_byte_size(const std::string& text, const std::string& what);

// "4.40 GB" (powers of 1000, three significant digits), for tables and messages.
std::string format_bytes(uint64_t bytes);

// Peak resident set size of this process (VmHWM of /proc/self/status); 0 when unreadable.
uint64_t peak_resident_bytes();
// Current resident set size (VmRSS); 0 when unreadable.
uint64_t resident_bytes();
// Resets the peak to the current resident set (writes 5 to /proc/self/clear_refs); false when refused.
bool reset_peak_resident();

}  // namespace qh
