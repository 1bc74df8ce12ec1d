// The dormant profile's split of the queries: --query-class parsing (files and inline lists, bad input as
// InputErrors naming the file / line / what was expected), the choice of split, and the audit of token data split
// by a token class and by position against counts taken from the full attention.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <string>

#include "models/data/data_spec.h"
#include "models/stats/sinks.h"
#include "src/audit/audit.h"
#include "src/audit/query_split.h"
#include "src/engine/engine.h"

namespace qh::audit {
namespace {

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("qh_qsplit_" + std::to_string(::getpid()) + "_" + name)).string();
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(QueryClass, InlineListsAndFiles) {
  EXPECT_EQ(parse_query_class("17,3,3,42", 50), (std::vector<int32_t>{3, 17, 42}));
  EXPECT_EQ(parse_query_class("0", 1), (std::vector<int32_t>{0}));
  const std::string f = temp_file("ok.txt", "# vowels\n3, 5 7\n\n11 # end\n5\n");
  EXPECT_EQ(parse_query_class(f, 20), (std::vector<int32_t>{3, 5, 7, 11}));
  std::filesystem::remove(f);
}

TEST(QueryClass, BadInputNamesTheProblem) {
  EXPECT_NE(error_of([] { parse_query_class("3,x", 50); }).find("not a comma-separated list"), std::string::npos);
  EXPECT_NE(error_of([] { parse_query_class("no/such/file.txt", 50); }).find("no such file"), std::string::npos);
  EXPECT_NE(error_of([] { parse_query_class("3,50", 50); }).find("'50' is not a token id; expected decimal ids in [0, 50)"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_query_class(",,", 50); }).find("no token ids"), std::string::npos);
  const std::string bad = temp_file("bad.txt", "1 2\n3 -4\n");
  const std::string msg = error_of([&] { parse_query_class(bad, 50); });
  EXPECT_NE(msg.find("file '" + bad + "', line 2: '-4' is not a token id"), std::string::npos) << msg;
  const std::string empty = temp_file("empty.txt", "# nothing\n");
  EXPECT_NE(error_of([&] { parse_query_class(empty, 50); }).find("holds no token ids"), std::string::npos);
  const std::string huge = temp_file("huge.txt", "99999999999999999999\n");
  EXPECT_NE(error_of([&] { parse_query_class(huge, 50); }).find("is not a token id"), std::string::npos);
  for (const std::string& p : {bad, empty, huge}) std::filesystem::remove(p);
}

TEST(QuerySplit, ChoiceAndDomains) {
  const data::Dataset bb = data::load_data("bb:seed=1,seqs=1,len=16,k=3,vocab=8", 9);
  const QuerySplit by_trigger = choose_query_split({}, bb.bb.get(), 16);
  EXPECT_STREQ(by_trigger.name(), "bb_trigger");
  EXPECT_EQ(by_trigger.labels()[1], "trigger");
  std::vector<uint8_t> dom(16);
  by_trigger.fill(bb.sequences[0].data(), 16, dom.data());
  for (int t = 0; t < 16; ++t) EXPECT_EQ(dom[t], bb.bb->is_trigger(bb.sequences[0][t]) ? 1 : 0);

  const QuerySplit by_class = choose_query_split({5, 2, 5}, bb.bb.get(), 16);  // a class wins over BB triggers
  EXPECT_STREQ(by_class.name(), "token_class");
  EXPECT_EQ(by_class.class_ids, (std::vector<int32_t>{2, 5}));
  const int32_t tok[6] = {8, 2, 3, 5, 5, 0};
  by_class.fill(tok, 6, dom.data());
  EXPECT_EQ(std::vector<uint8_t>(dom.begin(), dom.begin() + 6), (std::vector<uint8_t>{0, 1, 0, 1, 1, 0}));

  const QuerySplit by_position = choose_query_split({}, nullptr, 2);
  EXPECT_STREQ(by_position.name(), "position");
  EXPECT_EQ(by_position.labels()[0], "late_positions");
  by_position.fill(tok, 6, dom.data());
  EXPECT_EQ(std::vector<uint8_t>(dom.begin(), dom.begin() + 6), (std::vector<uint8_t>{1, 1, 1, 0, 0, 0}));
  EXPECT_THROW(choose_query_split({}, nullptr, 0), InputError);
}

// A token-file audit split by a class and by position: the per-domain dormant counts equal those taken from the
// full attention matrices of the same windows.
TEST(QuerySplit, AuditOfTokenDataSplitsTheDormantProfile) {
  ArchSpec a;
  a.architecture = "LlamaForCausalLM";
  a.num_layers = 1;
  a.d_model = 16;
  a.num_heads = a.num_kv_heads = 2;
  a.head_dim = 8;
  a.d_ff = 32;
  a.vocab_size = 12;
  a.context = 20;
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  auto t = [&](std::vector<int64_t> shape, float scale, float offset = 0.0f) {
    Tensor x(std::move(shape));
    for (float& v : x.data) v = offset + scale * g(rng);
    return x;
  };
  Model m;
  m.spec = a;
  m.tok_emb = t({12, 16}, 1.0f);
  LayerWeights w;
  w.attn_norm_w = t({16}, 0.0f, 1.0f);
  w.mlp_norm_w = t({16}, 0.0f, 1.0f);
  w.wq = t({16, 16}, 1.0f);  // sharp attention, so some queries are dormant
  w.wk = t({16, 16}, 1.0f);
  w.wv = t({16, 16}, 0.3f);
  w.wo = t({16, 16}, 0.3f);
  w.w_gate = t({32, 16}, 0.3f);
  w.w_up = t({32, 16}, 0.3f);
  w.w_down = t({16, 32}, 0.2f);
  m.layers.push_back(std::move(w));
  m.final_norm_w = t({16}, 0.0f, 1.0f);
  m.lm_head = t({12, 16}, 0.3f);

  std::vector<uint16_t> flat(60);
  for (auto& x : flat) x = static_cast<uint16_t>(rng() % 12);
  const std::string path = temp_file("tokens.u16", "");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(flat.data()), flat.size() * 2);
  const data::Dataset d = data::load_data("tokens:" + path + ",len=20", 12);
  ASSERT_EQ(d.sequences.size(), 3u);

  struct Full : engine::Observer {
    std::vector<std::vector<float>> p;
    void on_attention(int, int head, const float* probs, int64_t T) override {
      p.resize(2);
      p[head].assign(probs, probs + T * T);
    }
    bool wants_attention() const override { return true; }
  } full;
  engine::Engine fp(m, parse_scheme("FP32"));
  std::vector<float> logits(20 * 12);
  AuditOptions o;
  o.dormant_threshold = 0.5;
  o.query_class = {1, 4, 7};
  o.early_positions = 5;
  for (bool by_class : {true, false}) {
    AuditOptions oo = o;
    if (!by_class) oo.query_class.clear();
    const AuditResult r = run_audit(m, d, {}, oo);
    EXPECT_EQ(r.dormant_split, by_class ? "token_class" : "position");
    int64_t dormant[2][2] = {}, total[2][2] = {};
    for (const auto& seq : d.sequences) {
      fp.forward(seq.data(), 20, logits.data(), &full);
      for (int h = 0; h < 2; ++h)
        for (int i = 1; i < 20; ++i) {
          const int dom = by_class ? (seq[i] == 1 || seq[i] == 4 || seq[i] == 7) : (i <= 5);
          ++total[h][dom];
          dormant[h][dom] += full.p[h][i * 20] >= 0.5f;
        }
    }
    for (int h = 0; h < 2; ++h)
      for (int dom = 0; dom < 2; ++dom) {
        ASSERT_GT(total[h][dom], 0);
        EXPECT_EQ(r.heads[h].domain_queries[dom], total[h][dom]) << by_class << h << dom;
        EXPECT_DOUBLE_EQ(r.heads[h].dormant_frac_domain[dom], double(dormant[h][dom]) / total[h][dom]);
      }
    const nlohmann::json j = r.to_json();
    EXPECT_EQ(j["dormant_split"]["by"], r.dormant_split);
    const std::string one = by_class ? "class_tokens" : "early_positions";
    EXPECT_EQ(j["heads"][0]["queries_split"][one].get<int64_t>(), total[0][1]);
    if (by_class) EXPECT_EQ(j["dormant_split"]["query_class"], nlohmann::json({1, 4, 7}));
    else EXPECT_EQ(j["dormant_split"]["early_positions"], 5);
  }
  AuditOptions bad = o;
  bad.query_class = {12};
  EXPECT_THROW(run_audit(m, d, {}, bad), InputError);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace qh::audit
