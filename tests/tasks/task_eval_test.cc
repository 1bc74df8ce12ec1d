// Task accuracy on a zoo text model (a tiny byte-level Llama-style model trained here through the zoo's cache
// mechanism): the fp log-likelihoods and the accuracies the scorer reports equal an independent computation, a
// naive double-precision forward written below from the model's weights, over requests built here by hand
// (BOS + the bytes of context + continuation).
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/train/zoo.h"
#include "quant/scheme.h"
#include "src/core/error.h"
#include "src/tasks/checkpoint_tokenizer.h"
#include "src/tasks/layouts.h"
#include "src/tasks/task_eval.h"

namespace qh::tasks {
namespace {

namespace fs = std::filesystem;
using Mat = std::vector<std::vector<double>>;

const char* kCorpus =
    "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat and sat.\n"
    "the sun is hot. the moon is cold. the cat likes the sun and the dog likes the moon.\n";

// Trains (once per process, cached in a temporary zoo cache) a 1-layer byte-level text model.
class ZooTextModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(fs::temp_directory_path() / ("qh_tasks_test." + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    std::ofstream(*dir_ + "/corpus.txt") << kCorpus << kCorpus << kCorpus;
    std::ofstream(*dir_ + "/zoo.yaml")
        << "version: 1\nmodels:\n  - {name: tiny-text, task: text, text: " << *dir_ + "/corpus.txt"
        << ", seq_len: 48, d_model: 16, heads: 2, layers: 1, norm: rmsnorm, positions: rope, mlp: swiglu, "
           "attention: softmax, batch: 4, steps: 40, warmup: 5, lr: 0.01, probe_every: 1000, log_every: 1000}\n";
    train::ZooOptions o;
    o.cache_dir = *dir_ + "/cache";
    o.quiet = true;
    ckpt_ = new std::string(train::ensure_zoo_model(*dir_ + "/zoo.yaml", "tiny-text", o));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete ckpt_;
  }
  static std::string write(const std::string& name, const std::string& text) {
    const std::string path = *dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static std::string* dir_;
  static std::string* ckpt_;
};
std::string* ZooTextModel::dir_ = nullptr;
std::string* ZooTextModel::ckpt_ = nullptr;

// The naive forward: RMSNorm, RoPE (rotate-half pairs i, i + hd/2), causal softmax attention, SwiGLU, untied
// head; every product in double. Returns logits [T][V].
Mat naive_logits(const Model& m, const std::vector<int32_t>& tok) {
  const ArchSpec& a = m.spec;
  const int T = static_cast<int>(tok.size()), d = a.d_model, H = a.num_heads, KV = a.num_kv_heads,
            hd = a.head_dim, ff = a.d_ff, V = a.vocab_size;
  auto linear = [](const Mat& x, const Tensor& w) {
    Mat y(x.size(), std::vector<double>(w.dim(0), 0.0));
    for (size_t t = 0; t < x.size(); ++t)
      for (int64_t n = 0; n < w.dim(0); ++n)
        for (int64_t k = 0; k < w.dim(1); ++k) y[t][n] += x[t][k] * w.data[n * w.dim(1) + k];
    return y;
  };
  auto rmsnorm = [&](const Mat& x, const Tensor& w) {
    Mat y = x;
    for (size_t t = 0; t < x.size(); ++t) {
      double ms = 0;
      for (double v : x[t]) ms += v * v;
      const double inv = 1.0 / std::sqrt(ms / d + a.norm_eps);
      for (int c = 0; c < d; ++c) y[t][c] = x[t][c] * inv * w.data[c];
    }
    return y;
  };
  auto rope = [&](Mat& x, int heads) {
    for (int t = 0; t < T; ++t)
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < hd / 2; ++i) {
          const double ang = t * std::pow(static_cast<double>(a.rope_theta), -2.0 * i / hd);
          double& p = x[t][h * hd + i];
          double& q = x[t][h * hd + i + hd / 2];
          const double p0 = p, q0 = q;
          p = p0 * std::cos(ang) - q0 * std::sin(ang);
          q = q0 * std::cos(ang) + p0 * std::sin(ang);
        }
  };
  Mat h(T, std::vector<double>(d));
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < d; ++c) h[t][c] = m.tok_emb.data[tok[t] * d + c];
  for (const LayerWeights& L : m.layers) {
    const Mat xn = rmsnorm(h, L.attn_norm_w);
    Mat q = linear(xn, L.wq), k = linear(xn, L.wk);
    const Mat v = linear(xn, L.wv);
    rope(q, H);
    rope(k, KV);
    Mat att(T, std::vector<double>(H * hd, 0.0));
    for (int hh = 0; hh < H; ++hh) {
      const int kvh = hh / (H / KV);
      for (int i = 0; i < T; ++i) {
        std::vector<double> logit(i + 1);
        double mx = -1e300, den = 0;
        for (int j = 0; j <= i; ++j) {
          double s = 0;
          for (int c = 0; c < hd; ++c) s += q[i][hh * hd + c] * k[j][kvh * hd + c];
          logit[j] = s / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, logit[j]);
        }
        for (int j = 0; j <= i; ++j) den += std::exp(logit[j] - mx);
        for (int j = 0; j <= i; ++j)
          for (int c = 0; c < hd; ++c) att[i][hh * hd + c] += std::exp(logit[j] - mx) / den * v[j][kvh * hd + c];
      }
    }
    const Mat o = linear(att, L.wo);
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < d; ++c) h[t][c] += o[t][c];
    const Mat xm = rmsnorm(h, L.mlp_norm_w);
    const Mat gate = linear(xm, L.w_gate), up = linear(xm, L.w_up);
    Mat act(T, std::vector<double>(ff));
    for (int t = 0; t < T; ++t)
      for (int f = 0; f < ff; ++f) act[t][f] = gate[t][f] / (1.0 + std::exp(-gate[t][f])) * up[t][f];
    const Mat down = linear(act, L.w_down);
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < d; ++c) h[t][c] += down[t][c];
  }
  const Mat logits = linear(rmsnorm(h, m.final_norm_w), m.lm_head);
  EXPECT_EQ(static_cast<int>(logits[0].size()), V);
  return logits;
}

// log P(continuation | BOS + context) with the naive forward.
double naive_loglik(const Model& m, const std::string& context, const std::string& continuation) {
  std::vector<int32_t> tok{256};
  for (unsigned char c : context + continuation) tok.push_back(c);
  const std::vector<int32_t> input(tok.begin(), tok.end() - 1);
  const Mat logits = naive_logits(m, input);
  double ll = 0;
  for (size_t i = tok.size() - continuation.size(); i < tok.size(); ++i) {
    const std::vector<double>& row = logits[i - 1];
    const double mx = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (double x : row) sum += std::exp(x - mx);
    ll += row[tok[i]] - mx - std::log(sum);
  }
  return ll;
}

struct PlainItem {
  std::string context;
  std::vector<std::string> choices;
  int gold;
};

TEST_F(ZooTextModel, AccuraciesEqualANaiveForwardsLogLikelihoods) {
  const Model model = load_checkpoint(*ckpt_);
  ASSERT_EQ(model.spec.vocab_size, 257);
  const std::vector<PlainItem> items = {
      {"the cat sat on the", {" mat", " log", " sun"}, 0},     {"the dog sat on the", {" mat", " log"}, 1},
      {"the sun is", {" hot", " cold", " mat."}, 0},           {"the moon is", {" hot", " cold"}, 1},
      {"a cat and a dog met on the", {" mat", " moon"}, 0},    {"the cat likes the", {" sun", " dog", " log"}, 0},
      {"the dog likes the", {" moon", " cat"}, 0},             {"the", {" cat", " zebra"}, 0},
      {"a dog", {" met", " sat", " is"}, 2},                   {"the moon", {" is cold.", " likes"}, 0},
      {"sat on the", {" mat and sat.", " sun"}, 1},            {"the cat", {" sat", " likes the moon", " is"}, 1}};
  std::string jsonl;
  for (const auto& it : items) {
    nlohmann::json j;
    j["context"] = it.context;
    j["choices"] = it.choices;
    j["gold"] = it.gold;
    jsonl += j.dump() + "\n";
  }
  const Task task = read_task_file(write("plain.jsonl", jsonl));
  const auto tokenizer = checkpoint_tokenizer(*ckpt_, model);
  EXPECT_EQ(tokenizer->describe(), "bytes");
  const std::vector<eval::EvalCase> cases = {{"", parse_scheme("FP32"), {}, {}}, {"", parse_scheme("W4A4"), {}, {}}};
  const TasksReport rep = evaluate_tasks(model, *tokenizer, {task}, cases, {});
  ASSERT_EQ(rep.tasks.size(), 1u);
  const TaskReport& tr = rep.tasks[0];
  ASSERT_EQ(tr.fp_loglik.size(), items.size());

  int acc = 0, acc_norm = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<double> ll, norm;
    for (size_t c = 0; c < items[i].choices.size(); ++c) {
      const double want = naive_loglik(model, items[i].context, items[i].choices[c]);
      EXPECT_NEAR(tr.fp_loglik[i][c], want, 1e-4 * (1 + std::fabs(want))) << "item " << i << " choice " << c;
      ll.push_back(want);
      norm.push_back(want / static_cast<double>(items[i].choices[c].size()));  // ASCII: characters = bytes
    }
    // The comparison of decisions is meaningful only away from ties.
    std::vector<double> sorted = ll;
    std::sort(sorted.rbegin(), sorted.rend());
    ASSERT_GT(sorted[0] - sorted[1], 1e-3) << "item " << i << " is a near tie";
    acc += std::max_element(ll.begin(), ll.end()) - ll.begin() == items[i].gold;
    acc_norm += std::max_element(norm.begin(), norm.end()) - norm.begin() == items[i].gold;
  }
  const double n = static_cast<double>(items.size());
  const TaskMetrics& fp = tr.cases[0].metrics;
  EXPECT_DOUBLE_EQ(fp.acc.mean, acc / n);
  EXPECT_DOUBLE_EQ(fp.acc_norm.mean, acc_norm / n);
  EXPECT_DOUBLE_EQ(fp.acc_fp.mean, acc / n);
  EXPECT_DOUBLE_EQ(fp.acc_drop.drop, 0.0);  // the FP32 case is the fp pass itself
  EXPECT_DOUBLE_EQ(fp.acc_drop.lo, 0.0);
  EXPECT_DOUBLE_EQ(fp.acc_drop.p_mcnemar, 1.0);
  const TaskMetrics& q = tr.cases[1].metrics;
  EXPECT_DOUBLE_EQ(q.acc_fp.mean, acc / n);  // the quantized case is compared with the same fp pass
  EXPECT_NEAR(q.acc_drop.drop, 100.0 * (q.acc_fp.mean - q.acc.mean), 1e-9);
  EXPECT_EQ(tr.requests, 29);
  const nlohmann::json j = tr.cases[1].to_json();
  for (const char* key : {"acc", "acc_norm", "acc_stderr", "acc_norm_stderr", "acc_drop", "acc_norm_drop"})
    EXPECT_TRUE(j.contains(key)) << key;
}

// Items are scored window-parallel (one item per thread at a time): the log-likelihoods and every accuracy
// must be the same bits at 1, 2 and 3 threads (3 does not divide the 11 items, so they are handed out unevenly).
TEST_F(ZooTextModel, ItemsScoredOnAnyThreadCountGiveTheSameBits) {
  const Model model = load_checkpoint(*ckpt_);
  std::string jsonl;
  for (int i = 0; i < 11; ++i) {
    nlohmann::json j;
    j["context"] = std::string("the cat sat on the ").substr(0, 4 + i);
    j["choices"] = {" mat", " log and the sun", " dog"};
    j["gold"] = i % 3;
    jsonl += j.dump() + "\n";
  }
  const Task task = read_task_file(write("threads.jsonl", jsonl));
  const auto tokenizer = checkpoint_tokenizer(*ckpt_, model);
  const std::vector<eval::EvalCase> cases = {{"", parse_scheme("W8A8"), {}, {}}, {"", parse_scheme("W4A4"), {}, {}}};
  const int saved = omp_get_max_threads();
  std::vector<TasksReport> reps;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    reps.push_back(evaluate_tasks(model, *tokenizer, {task}, cases, {}));
  }
  omp_set_num_threads(saved);
  for (size_t r = 1; r < reps.size(); ++r) {
    const TaskReport &a = reps[0].tasks[0], &b = reps[r].tasks[0];
    ASSERT_EQ(a.fp_loglik, b.fp_loglik) << "threads " << r + 1;  // exact: vector<double> ==
    EXPECT_EQ(a.requests, b.requests);
    for (size_t c = 0; c < cases.size(); ++c)
      EXPECT_EQ(a.cases[c].metrics.to_json().dump(), b.cases[c].metrics.to_json().dump()) << "case " << c;
  }
}

TEST_F(ZooTextModel, LambadaIsGreedyMatchOfTheLastWord) {
  const Model model = load_checkpoint(*ckpt_);
  const std::string texts[] = {"the cat sat on the mat", "the sun is hot", "the dog likes the moon",
                               "a cat and a dog met on the zebra"};
  std::string jsonl;
  for (const auto& t : texts) jsonl += nlohmann::json{{"text", t}}.dump() + "\n";
  const Task task = read_task_file(write("lambada.jsonl", jsonl));
  const auto tokenizer = checkpoint_tokenizer(*ckpt_, model);
  const TasksReport rep = evaluate_tasks(model, *tokenizer, {task}, {{"", parse_scheme("FP32"), {}, {}}}, {});
  int greedy = 0;
  for (const auto& t : texts) {
    std::vector<int32_t> tok{256};
    for (unsigned char c : t) tok.push_back(c);
    const Mat logits = naive_logits(model, std::vector<int32_t>(tok.begin(), tok.end() - 1));
    const size_t word = t.rfind(' ');  // the continuation is " " + last word
    bool all = true;
    for (size_t i = word + 1; i < tok.size(); ++i) {
      const auto& row = logits[i - 1];
      all = all && std::max_element(row.begin(), row.end()) - row.begin() == tok[i];
    }
    greedy += all;
  }
  const TaskMetrics& m = rep.tasks[0].cases[0].metrics;
  EXPECT_DOUBLE_EQ(m.acc.mean, greedy / 4.0);
  EXPECT_FALSE(m.has_norm);
  EXPECT_TRUE(rep.tasks[0].cases[0].to_json()["acc_norm"].is_null());
}

TEST(CheckpointTokenizer, BytesOnlyForTheByteVocabularyAndAMismatchIsAnError) {
  Model m;
  m.spec.vocab_size = 100;
  EXPECT_THROW(checkpoint_tokenizer("no-such-folder", m), InputError);  // no tokenizer, not 257 ids
  m.spec.vocab_size = 257;
  EXPECT_EQ(checkpoint_tokenizer("no-such-folder", m)->describe(), "bytes");
  // A byte-level model given a tokenizer with more ids than its vocabulary.
  const std::string gpt2 = std::string(QH_SOURCE_DIR) + "/tests/tokenizer/data/gpt2/tokenizer.json";
  try {
    checkpoint_tokenizer("no-such-folder", m, gpt2);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ids but the model's vocabulary has 257"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qh::tasks
