// Same inputs, same bits, on any thread count: `qharness eval` and `qharness audit` run at 1, 2, 3 and 5 OpenMP
// threads must write identical numbers (every metric, every statistic; only timings and the thread count itself
// may differ). The model is large enough (256 tokens x 128 channels per window, 2 layers: ~240 MFLOP per pass,
// above window_parallel.h's kIntraOpMinFlops) that every parallel path of the engine, the quantizer and the
// statistics is taken, and the thread counts include ones that do not
// divide the row counts (3, 5), where a split by thread count would show.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "models/checkpoint.h"
#include "tests/engine/tiny_models.h"

namespace qh {
namespace {

class ThreadsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "qh_threads_cli." + std::to_string(::getpid()));
    std::system(("rm -rf '" + *dir_ + "' && mkdir -p '" + *dir_ + "'").c_str());
    ArchSpec a = enginetest::tiny_spec();
    a.d_model = 128;
    a.num_heads = 4;
    a.num_kv_heads = 4;
    a.head_dim = 32;
    a.d_ff = 352;
    a.vocab_size = 40;
    a.context = 256;
    a.recipe_json = R"({"task": "bb", "data": "bb:seed=3,seqs=3,len=256,k=3,vocab=39"})";
    save_checkpoint(*dir_ + "/ckpt", enginetest::random_model(a, 1234));
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf '" + *dir_ + "'").c_str());
    delete dir_;
  }
  static int run(const std::string& args) {
    const int rc = std::system((std::string(QH_BINARY) + " " + args + " > /dev/null 2> /dev/null").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  static nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
  }
  // Drops what legitimately differs between runs: wall times and the thread count.
  static void strip_timings(nlohmann::json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end();) {
        const std::string& k = it.key();
        if (k == "threads" || k == "seconds" || k.find("seconds") != std::string::npos || k == "created_utc" ||
            k == "environment")
          it = j.erase(it);
        else
          strip_timings(*it++);
      }
    } else if (j.is_array()) {
      for (auto& x : j) strip_timings(x);
    }
  }
  static std::string* dir_;
};
std::string* ThreadsCli::dir_ = nullptr;

// Every number is compared through its exact JSON text (nlohmann prints the shortest round-trip form).
void expect_same_bits(const nlohmann::json& a, const nlohmann::json& b, const std::string& path = "") {
  ASSERT_EQ(a.type(), b.type()) << path;
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (auto it = a.begin(); it != a.end(); ++it) {
      ASSERT_TRUE(b.contains(it.key())) << path + "." + it.key();
      expect_same_bits(*it, b[it.key()], path + "." + it.key());
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (size_t i = 0; i < a.size(); ++i) expect_same_bits(a[i], b[i], path + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a.dump(), b.dump()) << path;
  }
}

TEST_F(ThreadsCli, EvalIsBitIdenticalOnOneTwoThreeAndFiveThreads) {
  nlohmann::json first;
  for (int threads : {1, 2, 3, 5}) {
    const std::string out = *dir_ + "/eval" + std::to_string(threads) + ".json";
    ASSERT_EQ(run("eval " + *dir_ + "/ckpt --data bb:seed=9,seqs=3,len=256,k=3,vocab=39 --scheme W8A8 --scheme W4A4 "
                  "--scheme W4A16 --scheme W8A8-static --protect none --protect both --threads " +
                  std::to_string(threads) + " --json " + out + " --quiet"),
              0);
    nlohmann::json j = read_json(out);
    ASSERT_EQ(j["cases"].size(), 8u);
    strip_timings(j);
    if (threads == 1) {
      first = j;
      continue;
    }
    SCOPED_TRACE("threads " + std::to_string(threads));
    expect_same_bits(first, j);
  }
}

// Both ways of spreading an evaluation over threads (src/engine/window_parallel.h): one window (every thread
// count above 1 runs it with intra-op threads) and seven windows (window-parallel at 2, 3 and 5 threads, with
// windows handed out unevenly), each against its 1-thread result.
TEST_F(ThreadsCli, EvalIsBitIdenticalWindowParallelAndIntraOp) {
  for (const char* seqs : {"1", "7"}) {
    nlohmann::json first;
    for (int threads : {1, 2, 3, 5}) {
      const std::string out = *dir_ + "/evalw" + seqs + "_" + std::to_string(threads) + ".json";
      ASSERT_EQ(run("eval " + *dir_ + "/ckpt --data bb:seed=5,seqs=" + seqs +
                    ",len=256,k=3,vocab=39 --scheme W8A8 --scheme W4A4-kv4 --scheme W4A16 --protect none "
                    "--protect both --threads " + std::to_string(threads) + " --json " + out + " --quiet"),
                0);
      nlohmann::json j = read_json(out);
      ASSERT_EQ(j["windows"], std::stoi(seqs));
      strip_timings(j);
      if (threads == 1) {
        first = j;
        continue;
      }
      SCOPED_TRACE(std::string("seqs ") + seqs + ", threads " + std::to_string(threads));
      expect_same_bits(first, j);
    }
  }
}

TEST_F(ThreadsCli, AuditIsBitIdenticalOnOneTwoThreeAndFiveThreads) {
  nlohmann::json first;
  for (int threads : {1, 2, 3, 5}) {
    const std::string out = *dir_ + "/audit" + std::to_string(threads);
    ASSERT_EQ(run("audit " + *dir_ + "/ckpt --data bb:seed=9,seqs=2,len=256,k=3,vocab=39 --scheme W4A4 --threads " +
                  std::to_string(threads) + " --out " + out + " --quiet"),
              0);
    nlohmann::json j = read_json(out + "/audit.json");
    strip_timings(j);
    if (threads == 1) {
      first = j;
      continue;
    }
    SCOPED_TRACE("threads " + std::to_string(threads));
    expect_same_bits(first, j);
  }
}

}  // namespace
}  // namespace qh
