// The method calibration cache; see cache.h.
#include "src/methods/cache.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "models/config.h"
#include "models/tensor_layout.h"
#include "src/core/atomic_file.h"
#include "src/core/content_hash.h"

namespace qh::methods {

namespace {

constexpr char kMagic[] = "qharness method statistics 1\n";

// Appends / reads raw values; the reader fails (returns false) instead of reading past the end.
class Writer {
 public:
  template <class T>
  void put(const T& v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <class T>
  void put_array(const std::vector<T>& v) {
    put(static_cast<uint64_t>(v.size()));
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& s, size_t pos) : s_(s), pos_(pos) {}
  template <class T>
  bool get(T* v) {
    if (s_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, s_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  template <class T>
  bool get_array(std::vector<T>* v, uint64_t max_count) {
    uint64_t n = 0;
    if (!get(&n) || n > max_count || (s_.size() - pos_) / sizeof(T) < n) return false;
    v->resize(n);
    std::memcpy(v->data(), s_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return true;
  }
  bool at_end() const { return pos_ == s_.size(); }

 private:
  const std::string& s_;
  size_t pos_;
};

}  // namespace

std::string model_identity(const Model& m) {
  ContentHasher h;
  const std::string config = config_to_json(m.spec).dump();
  h.update(config.data(), config.size());
  for (const auto& [name, t] : canonical_tensors(m)) {
    h.update(name.data(), name.size() + 1);  // with the terminating 0: names cannot run into each other
    const uint64_t rank = t->shape.size();
    h.update(&rank, sizeof rank);
    h.update(t->shape.data(), t->shape.size() * sizeof(int64_t));
    h.update(t->data.data(), t->data.size() * sizeof(float));
  }
  return h.hex();
}

std::string calibration_identity(const std::vector<std::vector<int32_t>>& windows) {
  ContentHasher h;
  size_t longest = 0;
  for (const auto& w : windows) {
    const uint64_t n = w.size();
    h.update(&n, sizeof n);
    h.update(w.data(), w.size() * sizeof(int32_t));
    longest = std::max(longest, w.size());
  }
  return h.hex() + " x" + std::to_string(windows.size()) + " window " + std::to_string(longest);
}

std::string method_cache_key(const std::string& harness, const std::string& model, const MethodSpec& method,
                             const std::string& calibration) {
  return "harness " + harness + "\nmodel " + model + "\nmethod " + method.name() + "\ncalibration " + calibration +
         "\n";
}

std::string MethodCache::path_of(const std::string& key) const {
  ContentHasher h;
  h.update(key.data(), key.size());
  return dir_ + "/" + h.hex() + ".qhstats";
}

void MethodCache::store(const std::string& key, const MethodStatistics& s) const {
  Writer w;
  w.str() = kMagic;
  w.put_array(std::vector<char>(key.begin(), key.end()));
  w.put(static_cast<uint8_t>(s.smooth.has_value()));
  if (s.smooth) {
    w.put(static_cast<int64_t>(s.smooth->rows));
    w.put(static_cast<uint64_t>(s.smooth->sites.size()));
    for (const auto& layer : s.smooth->sites) {
      w.put(static_cast<uint64_t>(layer.size()));
      for (const engine::SiteCalibration& site : layer) w.put_array(site.col_absmax);
    }
  }
  w.put(static_cast<uint8_t>(s.hessians != nullptr));
  if (s.hessians) {
    w.put(static_cast<int64_t>(s.hessians->rows()));
    w.put(static_cast<uint64_t>(s.hessians->num_layers()));
    for (int l = 0; l < s.hessians->num_layers(); ++l)
      for (int slot = 0; slot < kNumSlots; ++slot) {
        const std::vector<double>& h = s.hessians->hessian(l, static_cast<InputSlot>(slot));
        const int64_t K = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(h.size()))));
        std::vector<double> lower;  // rows of the lower triangle: the matrix is symmetric
        lower.reserve(K * (K + 1) / 2);
        for (int64_t i = 0; i < K; ++i) lower.insert(lower.end(), h.begin() + i * K, h.begin() + i * K + i + 1);
        w.put(K);
        w.put_array(lower);
      }
  }
  make_dirs(dir_);
  write_file_atomic(path_of(key), w.str());
}

std::optional<MethodStatistics> MethodCache::load(const std::string& key) const {
  std::ifstream in(path_of(key), std::ios::binary);
  if (!in) return std::nullopt;
  std::string data;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return std::nullopt;
  data.resize(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(data.data(), size)) return std::nullopt;
  const size_t magic = sizeof(kMagic) - 1;
  if (data.compare(0, magic, kMagic) != 0) return std::nullopt;
  Reader r(data, magic);
  std::vector<char> stored_key;
  if (!r.get_array(&stored_key, 1 << 20) || std::string(stored_key.begin(), stored_key.end()) != key)
    return std::nullopt;
  constexpr uint64_t kMaxCount = uint64_t{1} << 40;
  MethodStatistics s;
  uint8_t has = 0;
  if (!r.get(&has)) return std::nullopt;
  if (has) {
    engine::Calibration c;
    uint64_t layers = 0;
    if (!r.get(&c.rows) || c.rows <= 0 || !r.get(&layers) || layers > (1 << 20)) return std::nullopt;
    c.sites.resize(layers);
    for (auto& layer : c.sites) {
      uint64_t sites = 0;
      if (!r.get(&sites) || sites > (1 << 10)) return std::nullopt;
      layer.resize(sites);
      for (engine::SiteCalibration& site : layer)
        if (!r.get_array(&site.col_absmax, kMaxCount)) return std::nullopt;
    }
    s.smooth = std::move(c);
  }
  if (!r.get(&has)) return std::nullopt;
  if (has) {
    int64_t rows = 0;
    uint64_t layers = 0;
    if (!r.get(&rows) || !r.get(&layers) || layers > (1 << 20)) return std::nullopt;
    s.hessians = std::make_shared<HessianObserver>(static_cast<int>(layers));
    s.hessians->set_rows(rows);
    for (uint64_t l = 0; l < layers; ++l)
      for (int slot = 0; slot < kNumSlots; ++slot) {
        int64_t K = 0;
        std::vector<double> lower;
        if (!r.get(&K) || K < 0 || K > (1 << 24) || !r.get_array(&lower, kMaxCount) ||
            static_cast<int64_t>(lower.size()) != K * (K + 1) / 2)
          return std::nullopt;
        std::vector<double>& h = s.hessians->hessian(static_cast<int>(l), static_cast<InputSlot>(slot));
        h.assign(K * K, 0.0);
        size_t p = 0;
        for (int64_t i = 0; i < K; ++i)
          for (int64_t j = 0; j <= i; ++j) h[i * K + j] = h[j * K + i] = lower[p++];
      }
  }
  if (!r.at_end()) return std::nullopt;
  return s;
}

}  // namespace qh::methods
