// The project's hashes (src/core/content_hash.h, src/core/sha256.h) against published values: SHA-256 on the
// FIPS 180-4 test vectors, FNV-1a 64 on the reference vectors of its authors, and the file hash's stability.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "src/core/content_hash.h"
#include "src/core/sha256.h"

namespace qh {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(TextHash, Fnv1a64KnownVectors) {
  EXPECT_EQ(text_hash(""), "cbf29ce484222325");  // the offset basis
  EXPECT_EQ(text_hash("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(text_hash("foobar"), "85944171f73967e8");
}

TEST(FileContentHash, FollowsTheContent) {
  const std::string path = ::testing::TempDir() + "/qh_hash_test.bin";
  std::ofstream(path, std::ios::binary) << "weights";
  const std::string a = file_content_hash(path);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(file_content_hash(path), a);
  std::ofstream(path, std::ios::binary) << "weightz";
  EXPECT_NE(file_content_hash(path), a);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace qh
