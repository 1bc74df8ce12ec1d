#include "src/audit/attribution.h"

#include <cmath>

namespace qh::audit {

Shapley shapley2(double d_none, double d_t, double d_c, double d_tc) {
  Shapley s;
  s.total = d_none;
  s.rest = d_tc;
  s.phi_tokens = 0.5 * ((d_none - d_t) + (d_c - d_tc));
  // The symmetric formula (not total - rest - phi_tokens) keeps the two players interchangeable bit for bit.
  s.phi_channels = 0.5 * ((d_none - d_c) + (d_t - d_tc));
  if (std::fabs(s.total) >= 1e-12) {
    s.share_tokens = s.phi_tokens / s.total;
    s.share_channels = s.phi_channels / s.total;
    s.share_rest = s.rest / s.total;
  }
  return s;
}

nlohmann::json Shapley::to_json() const {
  return {{"phi_tokens", phi_tokens},     {"phi_channels", phi_channels},     {"rest", rest},
          {"total", total},               {"share_tokens", share_tokens},     {"share_channels", share_channels},
          {"share_rest", share_rest}};
}

}  // namespace qh::audit
