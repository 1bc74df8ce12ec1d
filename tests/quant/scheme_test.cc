// The scheme registry: every named scheme and suffix, field-by-field schemes, and clear errors on nonsense.
#include <gtest/gtest.h>

#include <string>

#include "src/core/error.h"
#include "quant/scheme.h"

namespace qh {
namespace {

// The message of the InputError thrown by f (fails the test when nothing is thrown).
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError thrown";
  return "";
}

TEST(Scheme, NamedBases) {
  struct Case {
    const char* text;
    int w_bits, a_bits;
  } cases[] = {{"W8A8", 8, 8}, {"W4A4", 4, 4}, {"W4A8", 4, 8}, {"W4A16", 4, 0}, {"W8A16", 8, 0},
               {"FP32", 0, 0}, {"fp16", 0, 0}, {"fp", 0, 0}};
  for (const Case& c : cases) {
    const Scheme s = parse_scheme(c.text);
    EXPECT_EQ(s.weights.bits, c.w_bits) << c.text;
    EXPECT_EQ(s.activations.bits, c.a_bits) << c.text;
    EXPECT_EQ(s.is_fp(), c.w_bits == 0 && c.a_bits == 0) << c.text;
    if (c.w_bits) {
      EXPECT_EQ(s.weights.granularity, Granularity::kPerChannel) << c.text;
      EXPECT_TRUE(s.weights.symmetric);
      EXPECT_EQ(s.weights.clip_mode, ClipMode::kFixed);
      EXPECT_EQ(s.weights.clip, 1.0f);
    }
    if (c.a_bits) {
      EXPECT_EQ(s.activations.granularity, Granularity::kPerToken) << c.text;
      EXPECT_TRUE(s.activations.symmetric);
    }
    EXPECT_FALSE(s.kv.enabled());
    EXPECT_FALSE(s.attn_probs.enabled());
    EXPECT_FALSE(s.quantize_lm_head);
    EXPECT_FALSE(s.quantize_embeddings);
    for (bool site : s.sites) EXPECT_TRUE(site);
  }
  EXPECT_EQ(parse_scheme("w4a4").name, "W4A4");  // case-insensitive, canonical spelling
}

TEST(Scheme, Suffixes) {
  const Scheme st = parse_scheme("W8A8-static");
  EXPECT_EQ(st.activations.granularity, Granularity::kPerTensor);
  EXPECT_EQ(st.name, "W8A8-static");
  const Scheme asym = parse_scheme("W4A4-asym");
  EXPECT_FALSE(asym.activations.symmetric);
  EXPECT_TRUE(asym.weights.symmetric);
  EXPECT_EQ(parse_scheme("W4A4-kv4").kv.bits, 4);
  EXPECT_EQ(parse_scheme("W8A8-kv8").kv.bits, 8);
  EXPECT_EQ(parse_scheme("W8A8-kv8").kv.granularity, Granularity::kPerToken);
  const Scheme g = parse_scheme("W4A16-g128");
  EXPECT_EQ(g.weights.granularity, Granularity::kGroup);
  EXPECT_EQ(g.weights.group_size, 128);
  EXPECT_EQ(granularity_string(g.weights), "group:128");
  EXPECT_EQ(parse_scheme("W4A4-mse").weights.clip_mode, ClipMode::kMse);
  // Suffix order and case do not matter; the canonical name has a fixed order.
  const Scheme many = parse_scheme("w4a4-KV4-Asym-g64-static-mse");
  EXPECT_EQ(many.name, "W4A4-g64-mse-static-asym-kv4");
  EXPECT_EQ(parse_scheme(many.name), many);
  EXPECT_EQ(parse_scheme("fp-kv8").kv.bits, 8);
}

TEST(Scheme, EveryRegistryNameParsesToItself) {
  for (const std::string& name : named_schemes()) {
    const Scheme s = parse_scheme(name);
    EXPECT_EQ(s.name, name);
    EXPECT_NO_THROW(validate(s, "test"));
    EXPECT_FALSE(describe(s).empty());
  }
}

TEST(Scheme, NonsenseNamesAreClearErrors) {
  std::string m = error_of([] { parse_scheme("W4A5"); });
  EXPECT_NE(m.find("unknown scheme 'W4A5'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean"), std::string::npos) << m;
  m = error_of([] { parse_scheme("W4A4-statc"); });
  EXPECT_NE(m.find("unknown suffix '-statc'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'static'"), std::string::npos) << m;
  m = error_of([] { parse_scheme("W4A4-g0"); });
  EXPECT_NE(m.find("must be > 0"), std::string::npos) << m;
  m = error_of([] { parse_scheme("W4A4-gx"); });
  EXPECT_NE(m.find("unknown suffix"), std::string::npos) << m;
  m = error_of([] { parse_scheme("W4A4-kv4-kv8"); });
  EXPECT_NE(m.find("given twice"), std::string::npos) << m;
  m = error_of([] { parse_scheme("W4A16-static"); });
  EXPECT_NE(m.find("activations"), std::string::npos) << m;
  m = error_of([] { parse_scheme("fp-mse"); });
  EXPECT_NE(m.find("quantizes nothing"), std::string::npos) << m;
  m = error_of([] { parse_scheme(""); });
  EXPECT_NE(m.find("empty"), std::string::npos) << m;
  m = error_of([] { parse_scheme("W4A4-"); });
  EXPECT_NE(m.find("unknown suffix"), std::string::npos) << m;
}

TEST(Scheme, FieldByField) {
  const Scheme s = scheme_from_fields({{"base", "W4A4"}, {"a_bits", "8"}, {"sites", "q+k+v"},
                                       {"w_clip", "0.9"}, {"kv_bits", "4"}, {"kv_granularity", "group:32"}},
                                      "suite.yaml:3:5: scheme");
  EXPECT_EQ(s.name, "custom");
  EXPECT_EQ(s.weights.bits, 4);
  EXPECT_EQ(s.activations.bits, 8);
  EXPECT_FLOAT_EQ(s.weights.clip, 0.9f);
  EXPECT_EQ(s.kv.group_size, 32);
  EXPECT_TRUE(s.sites[static_cast<int>(Site::kQ)]);
  EXPECT_TRUE(s.sites[static_cast<int>(Site::kV)]);
  EXPECT_FALSE(s.sites[static_cast<int>(Site::kO)]);
  EXPECT_FALSE(s.sites[static_cast<int>(Site::kDown)]);
  // Only a base: keeps its name and equals the named scheme.
  EXPECT_EQ(scheme_from_fields({{"base", "W8A8-static"}}, "x"), parse_scheme("W8A8-static"));
  // The key=value form through parse_scheme, with a ',' list for sites.
  const Scheme kv = parse_scheme("base=W8A8,sites=q,k,a_symmetric=false,name=mine");
  EXPECT_EQ(kv.name, "mine");
  EXPECT_FALSE(kv.activations.symmetric);
  EXPECT_TRUE(kv.sites[static_cast<int>(Site::kK)]);
  EXPECT_FALSE(kv.sites[static_cast<int>(Site::kV)]);
}

TEST(Scheme, FieldsStringRoundTrips) {
  for (const std::string& name : named_schemes()) {
    const Scheme s = parse_scheme(name);
    const Scheme back = parse_scheme(to_fields_string(s));
    EXPECT_EQ(back, s) << to_fields_string(s);
  }
  const Scheme custom = parse_scheme("base=W4A8,w_granularity=group:64,w_clip=0.85,sites=up+down,lm_head=true");
  EXPECT_EQ(parse_scheme(to_fields_string(custom)), custom) << to_fields_string(custom);
  EXPECT_NE(to_fields_string(custom).find("w_clip=0.85,"), std::string::npos) << to_fields_string(custom);
}

TEST(Scheme, Equality) {
  EXPECT_EQ(parse_scheme("W4A4"), parse_scheme("w4a4"));
  EXPECT_NE(parse_scheme("W4A4"), parse_scheme("W4A4-asym"));
  Scheme renamed = parse_scheme("W4A4");
  renamed.name = "other";
  EXPECT_NE(renamed, parse_scheme("W4A4"));
  EXPECT_TRUE(same_quantization(renamed, parse_scheme("W4A4")));
}

TEST(Scheme, NonsenseFieldsAreClearErrors) {
  const std::string where = "suite.yaml:12:5: scheme";
  std::string m = error_of([&] {
    scheme_from_fields({{"w_bits", "3"}, {"w_symmetric", "false"}, {"w_granularity", "group:0"}}, where);
  });
  EXPECT_EQ(m.rfind(where, 0), 0u) << m;
  EXPECT_NE(m.find("w_granularity"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"w_bits", "9"}}, where); });
  EXPECT_NE(m.find("w_bits"), std::string::npos) << m;
  EXPECT_NE(m.find("2..8"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"base", "W4A4"}, {"a_clip", "0"}}, where); });
  EXPECT_NE(m.find("(0, 1]"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"base", "W4A4"}, {"w_clip", "1.5"}}, where); });
  EXPECT_NE(m.find("w_clip"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"w_bitz", "4"}}, where); });
  EXPECT_NE(m.find("unknown field 'w_bitz'; did you mean 'w_bits'"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"base", "W4A4"}, {"w_granularity", "per_token"}}, where); });
  EXPECT_NE(m.find("weights granularity per_token"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"base", "W4A4"}, {"a_granularity", "per_channel"}}, where); });
  EXPECT_NE(m.find("activations granularity per_channel"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"base", "W4A4"}, {"a_clip", "mse"}}, where); });
  EXPECT_NE(m.find("weights only"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"sites", "q+kk"}}, where); });
  EXPECT_NE(m.find("did you mean 'k'"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"w_symmetric", "maybe"}}, where); });
  EXPECT_NE(m.find("true or false"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"base", "W9A9"}}, where); });
  EXPECT_NE(m.find("field 'base'"), std::string::npos) << m;
  m = error_of([&] { parse_scheme("a_bits=4,a_bits=8"); });
  EXPECT_NE(m.find("given twice"), std::string::npos) << m;
  m = error_of([&] { scheme_from_fields({{"w_granularity", "group:abc"}}, where); });
  EXPECT_NE(m.find("group:G"), std::string::npos) << m;
}

TEST(Scheme, ValidateCatchesHandBuiltNonsense) {
  Scheme s = parse_scheme("W4A4");
  s.weights.bits = 1;
  EXPECT_NE(error_of([&] { validate(s, "here"); }).find("weights bits 1"), std::string::npos);
  s = parse_scheme("W4A4");
  s.activations.clip = 0.0f;
  EXPECT_NE(error_of([&] { validate(s, "here"); }).find("clip"), std::string::npos);
  s = parse_scheme("W4A4");
  s.weights.granularity = Granularity::kGroup;
  s.weights.group_size = 0;
  EXPECT_NE(error_of([&] { validate(s, "here"); }).find("group:0"), std::string::npos);
}

TEST(Scheme, Describe) {
  EXPECT_EQ(describe(parse_scheme("W4A4")),
            "W4A4: weights int4 per_channel sym, activations int4 per_token sym, kv fp");
  EXPECT_EQ(describe(parse_scheme("W8A8-static-kv8")),
            "W8A8-static-kv8: weights int8 per_channel sym, activations int8 per_tensor sym, kv int8 per_token sym");
  EXPECT_EQ(to_string(Site::kGate), std::string("gate"));
  EXPECT_EQ(to_string(Granularity::kPerTensor), "per_tensor");
}

}  // namespace
}  // namespace qh
