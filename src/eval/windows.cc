#include "src/eval/windows.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "src/core/error.h"

namespace qh::eval {

std::string Protocol::name() const {
  switch (kind) {
    case ProtocolKind::kWindows: return "windows";
    case ProtocolKind::kStrided: return "strided:" + std::to_string(stride);
    case ProtocolKind::kHalf: return "half";
  }
  return "windows";
}

Protocol parse_protocol(const std::string& text) {
  Protocol p;
  if (text == "windows") return p;
  if (text == "half") {
    p.kind = ProtocolKind::kHalf;
    return p;
  }
  if (text.rfind("strided:", 0) == 0) {
    const std::string s = text.substr(8);
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && *end == '\0' && errno == 0 && v >= 1) {
      p.kind = ProtocolKind::kStrided;
      p.stride = v;
      return p;
    }
  }
  throw InputError("protocol '" + text + "': expected windows, strided:S (S >= 1 tokens) or half");
}

std::vector<Window> plan_windows(const std::vector<std::vector<int32_t>>& sequences, size_t n, int64_t window,
                                 const Protocol& protocol) {
  std::vector<Window> out;
  const int64_t W = window;
  if (protocol.kind == ProtocolKind::kStrided && protocol.stride > W)
    throw InputError("protocol " + protocol.name() + ": the stride is larger than the window " + std::to_string(W));
  if (protocol.kind == ProtocolKind::kHalf && W < 2)
    throw InputError("protocol half: the window must be at least 2 tokens");
  for (size_t s = 0; s < n && s < sequences.size(); ++s) {
    const int64_t L = static_cast<int64_t>(sequences[s].size());
    if (L < 2) continue;
    switch (protocol.kind) {
      case ProtocolKind::kWindows:
        for (int64_t start = 0; start < L - 1; start += W) {
          const int64_t end = std::min(start + W, L);
          out.push_back({s, start, end, 0, std::min(end, L - 1) - start});
        }
        break;
      case ProtocolKind::kStrided: {
        int64_t prev_end = 0;
        for (int64_t start = 0;; start += protocol.stride) {
          const int64_t end = std::min(start + W, L);
          const int64_t first_target = std::max(prev_end, start + 1);
          out.push_back({s, start, end, first_target - start - 1, end - start - 1});
          prev_end = end;
          if (end >= L) break;
        }
        break;
      }
      case ProtocolKind::kHalf:
        for (int64_t start = 0; start + W <= L; start += W) out.push_back({s, start, start + W, W / 2, W - 1});
        break;
    }
  }
  return out;
}

}  // namespace qh::eval
