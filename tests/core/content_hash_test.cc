// The in-memory content hash equals the file hash of the same bytes, however the bytes are split into pieces
// (block edges of 32 bytes, the tail), and follows every byte and the length.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "src/core/content_hash.h"

namespace qh {
namespace {

TEST(ContentHasher, EqualsTheFileHashForAnySplit) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("qh_content_hash." + std::to_string(::getpid()))).string();
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>((i * 37) % 256));
  std::ofstream(path, std::ios::binary) << bytes;
  const std::string want = file_content_hash(path);
  std::filesystem::remove(path);
  for (size_t first : {size_t{0}, size_t{1}, size_t{31}, size_t{32}, size_t{33}, size_t{64}, size_t{999}, size_t{1000}})
    for (size_t second : {size_t{0}, size_t{5}, size_t{32}}) {
      if (first + second > bytes.size()) continue;
      ContentHasher h;
      h.update(bytes.data(), first);
      h.update(bytes.data() + first, second);
      h.update(bytes.data() + first + second, bytes.size() - first - second);
      EXPECT_EQ(h.hex(), want) << first << " " << second;
    }
  ContentHasher whole;
  whole.update(bytes.data(), bytes.size());
  for (size_t pos : {size_t{0}, size_t{31}, size_t{32}, size_t{999}}) {
    std::string changed = bytes;
    changed[pos] ^= 1;
    ContentHasher h;
    h.update(changed.data(), changed.size());
    EXPECT_NE(h.hex(), whole.hex()) << pos;
  }
  ContentHasher shorter;
  shorter.update(bytes.data(), bytes.size() - 1);
  EXPECT_NE(shorter.hex(), whole.hex());
  EXPECT_EQ(whole.hex().size(), 16u);
}

}  // namespace
}  // namespace qh
