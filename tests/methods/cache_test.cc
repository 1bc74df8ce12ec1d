// The method calibration cache: an unchanged rerun reads the statistics back (and gives the same quantized
// model, bit for bit), while changing any input of the key (model contents, any method parameter, the
// calibration windows' content, count or length, the harness version) computes them again; a damaged or
// foreign file is a miss, never a wrong number.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "src/methods/cache.h"
#include "src/core/version.h"
#include "src/methods/prepare.h"
#include "tests/engine/tiny_models.h"

namespace qh::methods {
namespace {

namespace fs = std::filesystem;
using enginetest::random_model;
using enginetest::random_tokens;
using enginetest::tiny_spec;

class MethodCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("qh_method_cache." + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    model_ = random_model(tiny_spec(), 3);
    for (int i = 0; i < 4; ++i) calib_.push_back(random_tokens(tiny_spec().context, tiny_spec().vocab_size, 50 + i));
  }
  void TearDown() override { fs::remove_all(dir_); }

  PreparedModel run(const Model& m, const std::string& method, const std::vector<std::vector<int32_t>>& calib) {
    return prepare(m, parse_method(method), calib, PrepareOptions{dir_});
  }
  std::vector<float> logits(const PreparedModel& p, const char* scheme) {
    engine::Engine e(p.model, parse_scheme(scheme), {}, {}, p.engine_options());
    const std::vector<int32_t> tok = random_tokens(p.model.spec.context, p.model.spec.vocab_size, 99);
    std::vector<float> out(tok.size() * p.model.spec.vocab_size);
    e.forward(tok.data(), static_cast<int64_t>(tok.size()), out.data());
    return out;
  }
  size_t files() const {
    size_t n = 0;
    if (fs::exists(dir_))
      for (const auto& e : fs::directory_iterator(dir_)) n += e.path().extension() == ".qhstats" ? 1 : 0;
    return n;
  }

  std::string dir_;
  Model model_;
  std::vector<std::vector<int32_t>> calib_;
};

TEST_F(MethodCacheTest, AnUnchangedRerunHitsAndGivesTheSameBits) {
  for (const char* method : {"gptq", "smoothquant", "smoothquant+gptq:group=8", "rotate+gptq"}) {
    const PreparedModel first = run(model_, method, calib_);
    EXPECT_FALSE(first.from_cache) << method;
    const PreparedModel again = run(model_, method, calib_);
    EXPECT_TRUE(again.from_cache) << method;
    EXPECT_EQ(logits(first, "W4A16"), logits(again, "W4A16")) << method;
    EXPECT_EQ(logits(first, "W4A4"), logits(again, "W4A4")) << method;
  }
  EXPECT_EQ(files(), 4u);
  // rtn and rotate read no calibration data: nothing to cache.
  EXPECT_FALSE(run(model_, "rotate", calib_).from_cache);
  EXPECT_EQ(files(), 4u);
  // Without a directory nothing is read or written.
  EXPECT_FALSE(prepare(model_, parse_method("gptq"), calib_).from_cache);
}

TEST_F(MethodCacheTest, ChangingEachKeyInputRecomputes) {
  ASSERT_FALSE(run(model_, "smoothquant+gptq", calib_).from_cache);
  ASSERT_TRUE(run(model_, "smoothquant+gptq", calib_).from_cache);
  // Model contents: one weight.
  Model m = model_;
  m.layers[1].w_down.data[5] += 1e-3f;
  EXPECT_FALSE(run(m, "smoothquant+gptq", calib_).from_cache);
  // Every method parameter.
  for (const char* method : {"smoothquant:alpha=0.6+gptq", "smoothquant+gptq:damp=0.02", "smoothquant+gptq:act_order=1",
                             "smoothquant+gptq:block=64", "smoothquant+gptq:group=8", "gptq"})
    EXPECT_FALSE(run(model_, method, calib_).from_cache) << method;
  EXPECT_FALSE(run(model_, "rotate:seed=1+gptq", calib_).from_cache);
  EXPECT_TRUE(run(model_, "rotate:seed=1+gptq", calib_).from_cache);
  EXPECT_FALSE(run(model_, "rotate:seed=2+gptq", calib_).from_cache);
  // Calibration data: one token, one window fewer, shorter windows.
  auto c = calib_;
  c[2][7] = (c[2][7] + 1) % tiny_spec().vocab_size;
  EXPECT_FALSE(run(model_, "smoothquant+gptq", c).from_cache);
  c = calib_;
  c.pop_back();
  EXPECT_FALSE(run(model_, "smoothquant+gptq", c).from_cache);
  c = calib_;
  for (auto& w : c) w.resize(w.size() / 2);
  EXPECT_FALSE(run(model_, "smoothquant+gptq", c).from_cache);
  // Every one of them was stored: each reruns from the cache.
  EXPECT_TRUE(run(m, "smoothquant+gptq", calib_).from_cache);
  EXPECT_TRUE(run(model_, "smoothquant+gptq:act_order=1", calib_).from_cache);
  EXPECT_TRUE(run(model_, "smoothquant+gptq", c).from_cache);
  EXPECT_TRUE(run(model_, "smoothquant+gptq", calib_).from_cache);
}

TEST_F(MethodCacheTest, TheKeyHoldsTheHarnessVersionAndEveryInput) {
  const MethodSpec g = parse_method("gptq");
  const std::string model = model_identity(model_), calib = calibration_identity(calib_);
  const std::string key = method_cache_key("0.1.0+abc", model, g, calib);
  const MethodCache cache(dir_);
  EXPECT_NE(cache.path_of(key), cache.path_of(method_cache_key("0.1.0+abd", model, g, calib)));
  EXPECT_NE(cache.path_of(key), cache.path_of(method_cache_key("0.1.0+abc", model, parse_method("gptq:damp=0.5"), calib)));
  EXPECT_EQ(model_identity(random_model(tiny_spec(), 3)), model);
  ArchSpec other = tiny_spec();
  other.norm_eps *= 2;  // a config field alone changes the model's identity
  Model m2 = model_;
  m2.spec = other;
  EXPECT_NE(model_identity(m2), model);
  EXPECT_NE(calib.find(" x4 window 32"), std::string::npos) << calib;
  // A stored entry is read only under its own key.
  MethodStatistics s;
  s.hessians = std::make_shared<HessianObserver>(1);
  s.hessians->hessian(0, InputSlot::kAttn) = {4, 2, 2, 3};
  s.hessians->set_rows(7);
  cache.store(key, s);
  const auto back = cache.load(key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->hessians->hessian(0, InputSlot::kAttn), (std::vector<double>{4, 2, 2, 3}));
  EXPECT_EQ(back->hessians->rows(), 7);
  EXPECT_FALSE(back->smooth.has_value());
  fs::copy_file(cache.path_of(key), cache.path_of(method_cache_key("other", model, g, calib)));
  EXPECT_FALSE(cache.load(method_cache_key("other", model, g, calib)).has_value());
}

TEST_F(MethodCacheTest, ADamagedFileIsAMissAndIsRewritten) {
  ASSERT_FALSE(run(model_, "gptq", calib_).from_cache);
  const std::string key =
      method_cache_key(version_string(), model_identity(model_), parse_method("gptq"), calibration_identity(calib_));
  const std::string path = MethodCache(dir_).path_of(key);
  ASSERT_TRUE(fs::exists(path));
  const auto size = fs::file_size(path);
  for (uintmax_t keep : {uintmax_t{0}, uintmax_t{10}, size / 2, size - 1}) {
    fs::resize_file(path, keep);
    EXPECT_FALSE(run(model_, "gptq", calib_).from_cache) << keep;  // recomputed and stored again
    EXPECT_EQ(fs::file_size(path), size);
  }
  std::ofstream(path, std::ios::binary | std::ios::app) << "x";  // trailing bytes
  EXPECT_FALSE(run(model_, "gptq", calib_).from_cache);
  EXPECT_TRUE(run(model_, "gptq", calib_).from_cache);
}

}  // namespace
}  // namespace qh::methods
