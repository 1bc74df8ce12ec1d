#include "src/core/content_hash.h"

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include "src/core/error.h"

namespace qh {

namespace {

uint64_t mix_round(uint64_t acc, uint64_t w) {
  acc += w * 0xC2B2AE3D27D4EB4Full;
  acc = (acc << 31) | (acc >> 33);
  return acc * 0x9E3779B97F4A7C15ull;
}

uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  return k ^ (k >> 33);
}

std::string stat_signature(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

}  // namespace

// Four independent multiply-rotate lanes over 8-byte little-endian words (so the hash is not limited by one
// multiplication's latency), folded with the length through the MurmurHash3 finaliser.
void ContentHasher::update(const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  length_ += n;
  while (n > 0) {
    if (pending_size_ == 0 && n >= sizeof(pending_)) {  // whole blocks straight from the input
      block(p);
      p += sizeof(pending_);
      n -= sizeof(pending_);
      continue;
    }
    pending_[pending_size_++] = *p++;
    --n;
    if (pending_size_ == sizeof(pending_)) {
      block(pending_);
      pending_size_ = 0;
    }
  }
}

uint64_t ContentHasher::digest() const {
  uint64_t h = length_ * 0x9E3779B97F4A7C15ull;
  for (int lane = 0; lane < 4; ++lane) h = fmix(h ^ lanes_[lane]) + static_cast<uint64_t>(lane);
  for (size_t i = 0; i < pending_size_; ++i) h = (h ^ pending_[i]) * 1099511628211ull;  // the tail, FNV-1a
  return fmix(h);
}

std::string ContentHasher::hex() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest()));
  return hex;
}

void ContentHasher::block(const unsigned char* p) {
  for (int lane = 0; lane < 4; ++lane) {
    uint64_t w = 0;
    for (int b = 7; b >= 0; --b) w = (w << 8) | p[lane * 8 + b];  // little-endian on every machine
    lanes_[lane] = mix_round(lanes_[lane], w);
  }
}

std::string file_content_hash(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::pair<std::string, std::string>> memo;  // path -> (stat signature, hash)
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError("'" + path + "' is a directory, not a file");
  const std::string signature = stat_signature(path);
  if (signature.empty()) throw InputError("cannot read file '" + path + "'");
  {
    std::lock_guard<std::mutex> lock(mu);
    const auto it = memo.find(path);
    if (it != memo.end() && it->second.first == signature) return it->second.second;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read file '" + path + "'");
  ContentHasher h;
  std::vector<char> buf(size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(reinterpret_cast<const unsigned char*>(buf.data()), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw InputError("cannot read file '" + path + "'");
  const std::string hash = h.hex();
  std::lock_guard<std::mutex> lock(mu);
  memo[path] = {signature, hash};
  return hash;
}

std::string text_hash(std::string_view text) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis and prime
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace qh
