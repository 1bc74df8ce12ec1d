// Attribution of quantization loss to sink tokens (T) and outlier channels (C), ARCHITECTURE.md 1.6.
// From the 2x2 protection design, D(S) = metric(quant with protection S) - metric(fp):
//   phi_tokens   = ((D(0) - D(T)) + (D(C) - D(TC))) / 2
//   phi_channels = ((D(0) - D(C)) + (D(T) - D(TC))) / 2
//   rest         = D(TC)
// so phi_tokens + phi_channels + rest == D(0) == total (exact up to rounding of the additions).
// Shares are each part divided by total; when |total| is below 1e-12 every share is 0 (nothing to split).
#pragma once

#include <nlohmann/json.hpp>

namespace qh::audit {

struct Shapley {
  double phi_tokens = 0, phi_channels = 0, rest = 0, total = 0;
  double share_tokens = 0, share_channels = 0, share_rest = 0;
  nlohmann::json to_json() const;  // phi_tokens, phi_channels, rest, total, share_tokens, share_channels, share_rest
};

Shapley shapley2(double d_none, double d_t, double d_c, double d_tc);

}  // namespace qh::audit
