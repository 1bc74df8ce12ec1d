// The one number formatter (src/core/format.h) on hand-written cases at every boundary of its notation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "src/core/format.h"

namespace qh {
namespace {

TEST(FormatNumber, SignificantDigits) {
  EXPECT_EQ(format_number(0.12345, 3), "0.123");
  EXPECT_EQ(format_number(0.012345, 4), "0.01235");
  EXPECT_EQ(format_number(11.4), "11.4");
  EXPECT_EQ(format_number(-2.5), "-2.5");
  EXPECT_EQ(format_number(123456.0, 4), "1.235e+05");
}

TEST(FormatNumber, ScientificOutsideTheReadableRange) {
  EXPECT_EQ(format_number(123456.0, 3), "1.23e+05");  // >= 10^(3+2)
  EXPECT_EQ(format_number(99999.0, 3), "1e+05");      // below 10^5: %g rounds it
  EXPECT_EQ(format_number(5.6912e-4, 3), "5.69e-04");  // < 10^-3
  EXPECT_EQ(format_number(0.001, 3), "0.001");
  EXPECT_EQ(format_number(5.602e-05, 4), "5.602e-05");
  EXPECT_EQ(format_number(1e6, 4), "1.000e+06");
}

TEST(FormatNumber, SpecialValues) {
  EXPECT_EQ(format_number(0.0), "0");
  EXPECT_EQ(format_number(-0.0), "0");
  EXPECT_EQ(format_number(std::nan("")), "n/a");
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_number(-std::numeric_limits<double>::infinity()), "-inf");
}

}  // namespace
}  // namespace qh
