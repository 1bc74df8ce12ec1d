// The one number formatter of tables, charts and check messages: `digits` significant digits, switching to
// scientific notation (digits - 1 decimals) outside [10^-digits, 10^(digits+2)) so that a column never shows a
// long run of zeros; "0" for zero, "n/a" for NaN (an undefined metric), "inf" / "-inf" for infinities.
// format_number(0.012345, 4) == "0.01235", format_number(5.6912e-4, 3) == "5.69e-04".
#pragma once

#include <string>

namespace qh {

std::string format_number(double v, int digits = 4);

}  // namespace qh
