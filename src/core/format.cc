#include "src/core/format.h"

#include <cmath>
#include <cstdio>

namespace qh {

std::string format_number(double v, int digits) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  if (digits < 1) digits = 1;
  const double a = std::fabs(v);
  const bool scientific = a < std::pow(10.0, -digits) || a >= std::pow(10.0, digits + 2);
  char buf[64];
  std::snprintf(buf, sizeof(buf), scientific ? "%.*e" : "%.*g", scientific ? digits - 1 : digits, v);
  return buf;
}

}  // namespace qh
