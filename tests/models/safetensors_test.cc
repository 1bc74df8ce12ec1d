// The safetensors parser on hand-made byte buffers, and writer -> parser round trips.
#include <gtest/gtest.h>

#include "ckpt_test_util.h"
#include "models/half.h"
#include "models/weight_stats.h"

namespace qh {
namespace {

std::vector<uint8_t> file_bytes(const std::string& header, const std::string& data) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>((header.size() >> (8 * i)) & 0xFF);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string parse_error(const std::string& header, const std::string& data) {
  const auto bytes = file_bytes(header, data);
  return testing::error_of([&] { parse_safetensors(bytes.data(), bytes.size(), "f.st"); });
}

TEST(Safetensors, ParsesHandMadeHeader) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},)"
      R"("a":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}  )";
  // a = F16 [1.0, -2.0]; b = BF16 [0.5, 3.0]
  const std::string data = std::string("\x00\x3c\x00\xc0", 4) + std::string("\x00\x3f\x40\x40", 4);
  const auto bytes = file_bytes(header, data);
  const SafetensorsHeader h = parse_safetensors(bytes.data(), bytes.size(), "f.st");
  ASSERT_EQ(h.tensors.size(), 3u);
  EXPECT_EQ(h.tensors[0].name, "a");
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_EQ(h.data_offset, 8 + header.size());
  const Tensor a = decode_tensor(bytes.data(), h, *h.find("a"), "f.st");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(a.data, (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(decode_tensor(bytes.data(), h, *h.find("b"), "f.st").data, (std::vector<float>{0.5f, 3.0f}));
  EXPECT_TRUE(decode_tensor(bytes.data(), h, *h.find("e"), "f.st").empty());
  EXPECT_EQ(h.find("zzz"), nullptr);
}

TEST(Safetensors, RejectsMalformedHeaders) {
  const std::string d8(8, '\0');
  struct Case {
    std::string header, expect;
  } cases[] = {
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", "invalid JSON"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", "unexpected key 'x'"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "a'.shape: expected non-negative"},
      {R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", "a'.shape"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", "expected begin <= end"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", "expected [begin, end]"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "expected 12 bytes"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", "beyond the data section"},
      {R"({"a":{"dtype":"F32","shape":[1099511627775,1099511627775],"data_offsets":[0,8]}})", "does not match"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
       "overlaps"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]},)"
       R"("b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})",
       "overlaps tensor 'a'"},
      {R"({"a":{"dtype":"X9","shape":[2],"data_offsets":[0,8]}})", "unknown dtype 'X9'"},
      {R"({"a":[[[[[[[[[[1]]]]]]]]]]})", "nested deeper"},
      {R"({"a":7})", "expected an object with dtype"},
      {R"({"__metadata__":[1]})", "__metadata__: expected an object"},
      {"[]", "expected a JSON object starting with '{'"},
  };
  for (const Case& c : cases) {
    const std::string msg = parse_error(c.header, d8);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.header << " -> '" << msg << "'";
    EXPECT_EQ(msg.rfind("f.st: ", 0), 0u) << msg;
  }
  // A zero-size tensor inside another one occupies no bytes: allowed.
  EXPECT_EQ(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", d8), "");
}

TEST(Safetensors, WriterRoundTripsEveryDtype) {
  std::mt19937 rng(2);
  const Tensor a = testing::random_tensor({3, 5}, rng), b = testing::random_tensor({7}, rng);
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    const std::string bytes = serialize_safetensors({{"w.a", &a}, {"w.b", &b}}, dt);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const SafetensorsHeader h = parse_safetensors(p, bytes.size(), "mem");
    EXPECT_EQ(h.data_offset % 8, 0u);
    EXPECT_EQ(h.metadata.at("format"), "pt");
    ASSERT_EQ(h.tensors.size(), 2u);
    EXPECT_EQ(h.tensors[0].dtype, dt);
    const Tensor ra = decode_tensor(p, h, *h.find("w.a"), "mem");
    ASSERT_EQ(ra.shape, a.shape);
    for (size_t i = 0; i < a.size(); ++i) {
      const float want = dt == DType::kF32 ? a.data[i]
                         : dt == DType::kF16 ? f16_to_f32(f32_to_f16(a.data[i]))
                                             : bf16_to_f32(f32_to_bf16(a.data[i]));
      ASSERT_EQ(ra.data[i], want);
    }
    EXPECT_EQ(bytes.size(), h.data_offset + (a.size() + b.size()) * dtype_size(dt));
  }
}

TEST(WeightStats, HandComputedValues) {
  // Rows (output channels) absmax: 1, 2, 8 -> absmax 8, median 2, ratio 4.
  const Tensor w({3, 2}, {1.0f, -1.0f, 2.0f, 0.0f, -8.0f, 0.0f});
  const WeightStats s = weight_stats("w", w);
  EXPECT_DOUBLE_EQ(s.absmax, 8.0);
  EXPECT_DOUBLE_EQ(s.channel_ratio, 4.0);
  EXPECT_EQ(s.nonfinite, 0);
  // Each row is two values a, b: deviations +-|a-b|/2, so m4 / m2^2 = 1 for every row; the mean is 1.
  EXPECT_DOUBLE_EQ(s.kurtosis, 1.0);
  // Kurtosis per output row, averaged: row 0 (1, 1, 1, 5): mean 2, deviations -1, -1, -1, 3 -> m2 = 12/4,
  // m4 = 84/4, kurtosis 21/9 = 7/3; row 1 is constant (0). Mean over the rows: 7/6.
  const Tensor k({2, 4}, {1.0f, 1.0f, 1.0f, 5.0f, 2.0f, 2.0f, 2.0f, 2.0f});
  EXPECT_DOUBLE_EQ(weight_stats("k", k).kurtosis, 7.0 / 6.0);
  // Non-finite values are counted, not used: row 0 keeps (1, 3) (kurtosis 1), row 1 has none left and is not
  // part of the kurtosis mean; row absmax 3 and 0 -> median 1.5, ratio 2.
  const Tensor v({2, 4}, {1.0f, NAN, 3.0f, INFINITY, NAN, INFINITY, NAN, -INFINITY});
  const WeightStats t = weight_stats("v", v);
  EXPECT_EQ(t.nonfinite, 6);
  EXPECT_DOUBLE_EQ(t.kurtosis, 1.0);
  EXPECT_DOUBLE_EQ(t.channel_ratio, 2.0);
  // Even row count: median is the mean of the middle two (1 and 3) -> 4 / 2.
  const Tensor e({4, 1}, {0.0f, 1.0f, 3.0f, 4.0f});
  EXPECT_DOUBLE_EQ(weight_stats("e", e).channel_ratio, 2.0);
}

TEST(WeightStats, ModelListsEveryMatrix) {
  ArchSpec s = testing::tiny_spec();
  s.tied_embeddings = true;
  const auto stats = model_weight_stats(testing::random_model(s));
  // embed + 2 x (q, k, v, o, gate, up, down); the tied head is not listed twice.
  ASSERT_EQ(stats.size(), 1u + 2 * 7);
  EXPECT_EQ(stats[0].name, "model.embed_tokens.weight");
  EXPECT_EQ(stats.back().name, "model.layers.1.mlp.down_proj.weight");
  EXPECT_GT(stats[0].kurtosis, 1.5);  // Gaussian: about 3
  EXPECT_LT(stats[0].kurtosis, 5.0);
}

}  // namespace
}  // namespace qh
