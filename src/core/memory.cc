#include "src/core/memory.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "src/core/error.h"

namespace qh {

namespace {

// The value of "Key:   123 kB" in a /proc file, in bytes; 0 when absent.
uint64_t proc_kb_field(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream ss(line.substr(key.size() + 1));
    uint64_t kb = 0;
    ss >> kb;
    return kb * 1024;
  }
  return 0;
}

// A cgroup file holding one number ("max" or an absurdly large v1 value mean no limit): 0 when none.
uint64_t cgroup_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (*end != '\0' || v >= (1ull << 60)) return 0;
  return v;
}

}  // namespace

AvailableMemory available_memory() {
  AvailableMemory out;
  const uint64_t avail = proc_kb_field("/proc/meminfo", "MemAvailable");
  if (avail) out = {avail, "MemAvailable of /proc/meminfo"};
  const struct {
    const char *limit, *usage, *name;
  } groups[] = {{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "the cgroup's memory.max"},
                {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
                 "the cgroup's memory.limit_in_bytes"}};
  for (const auto& g : groups) {
    const uint64_t limit = cgroup_number(g.limit);
    if (!limit) continue;
    const uint64_t used = cgroup_number(g.usage);
    const uint64_t left = limit > used ? limit - used : 0;
    if (!out.bytes || left < out.bytes) out = {left, std::string(g.name) + " less its usage"};
    break;
  }
  return out;
}

uint64_t parse_byte_size(const std::string& text, const std::string& what) {
  const std::string expected = what + " '" + text + "': expected a size such as 7G, 512M or 4096 (bytes)";
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) throw InputError(expected);
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(text.substr(0, i), &used);
    if (used != i) throw InputError(expected);
  } catch (const std::logic_error&) {
    throw InputError(expected);
  }
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double mult = 0;
  const char* const prefixes = "KMGT";
  if (unit.empty() || unit == "B") mult = 1;
  for (int p = 0; p < 4 && mult == 0; ++p) {
    const std::string u(1, prefixes[p]);
    if (unit == u || unit == u + "IB") mult = std::pow(1024.0, p + 1);
    else if (unit == u + "B") mult = std::pow(1000.0, p + 1);
  }
  if (mult == 0 || !std::isfinite(v * mult) || v * mult >= 1.8e19) throw InputError(expected);
  return static_cast<uint64_t>(v * mult);
}

std::string format_bytes(uint64_t bytes) {
  const char* const units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v,
                units[u]);
  return buf;
}

uint64_t peak_resident_bytes() { return proc_kb_field("/proc/self/status", "VmHWM"); }
uint64_t resident_bytes() { return proc_kb_field("/proc/self/status", "VmRSS"); }

bool reset_peak_resident() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace qh
