// Byte sizes as users write them, and the memory figures read from /proc.
#include <gtest/gtest.h>

#include <vector>

#include "src/core/error.h"
#include "src/core/memory.h"

namespace qh {
namespace {

TEST(ByteSize, ParsesUnitsAsPeopleWriteThem) {
  EXPECT_EQ(parse_byte_size("4096", "x"), 4096u);
  EXPECT_EQ(parse_byte_size("4096B", "x"), 4096u);
  EXPECT_EQ(parse_byte_size("64k", "x"), 65536u);
  EXPECT_EQ(parse_byte_size("7G", "x"), 7ull << 30);
  EXPECT_EQ(parse_byte_size("7GiB", "x"), 7ull << 30);
  EXPECT_EQ(parse_byte_size("7GB", "x"), 7000000000ull);
  EXPECT_EQ(parse_byte_size("1.5M", "x"), 1572864u);
  EXPECT_EQ(parse_byte_size("2t", "x"), 2ull << 40);
  for (const char* bad : {"", "G", "7X", "-1G", "1e9", "7 G", "1.2.3M", "99999999999T"}) {
    try {
      parse_byte_size(bad, "--max-memory");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--max-memory '" + std::string(bad) + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(ByteSize, FormatsThreeSignificantDigits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(65536), "65.5 kB");
  EXPECT_EQ(format_bytes(4400000000ull), "4.40 GB");
  EXPECT_EQ(format_bytes(123456789012ull), "123 GB");
}

TEST(ProcessMemory, PeakIsAtLeastTheResidentSetAndGrowsWithTouchedPages) {
  const uint64_t rss = resident_bytes(), peak = peak_resident_bytes();
  ASSERT_GT(rss, 0u);
  EXPECT_GE(peak, rss);
  {
    std::vector<char> touched(64u << 20, 1);  // 64 MiB, every page written
    EXPECT_GE(peak_resident_bytes(), resident_bytes());
    EXPECT_GE(peak_resident_bytes(), peak + (32u << 20) - (peak - rss));
    EXPECT_EQ(touched[12345], 1);
  }
  EXPECT_GT(available_memory().bytes, 0u);
  EXPECT_FALSE(available_memory().source.empty());
}

}  // namespace
}  // namespace qh
