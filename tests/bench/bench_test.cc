// The benchmark framework (row JSON names of ARCHITECTURE.md 2.7, paired timing) and `qharness bench` end to end:
// rows, JSON output and exit code 2 on bad input. No timing assertions: only shapes and names.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "src/bench/bench.h"

namespace qh::bench {
namespace {

TEST(Bench, RowJsonUsesTheContractNames) {
  const BenchRow row{"quant_per_token_int8", 2, "gbps", 10.0, "read_gbps", 12.5, {{"shape", "4096x4096"}}};
  const nlohmann::json j = row.to_json();
  EXPECT_EQ(j.at("kernel"), "quant_per_token_int8");
  EXPECT_EQ(j.at("threads"), 2);
  EXPECT_DOUBLE_EQ(j.at("gbps").get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(j.at("read_gbps").get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(j.at("ratio").get<double>(), 0.8);
  EXPECT_EQ(j.at("shape"), "4096x4096");
  const BenchRow no_limit{"x", 1, "tokens_per_s", 5.0, "", 0, {}};
  EXPECT_FALSE(no_limit.to_json().contains("ratio"));
  EXPECT_EQ(no_limit.ratio(), 0.0);
  EXPECT_TRUE(no_limit.to_json().contains("tokens_per_s"));
}

TEST(Bench, PairedTimingRunsBothAlternately) {
  BenchOptions options;
  options.min_seconds = 0.0;
  options.min_repeats = 4;
  std::string order;
  const auto [a, b] = best_seconds_paired([&] { order += 'a'; }, [&] { order += 'b'; }, options);
  EXPECT_EQ(order, "ababababab");  // one warm-up each, then four alternating pairs
  EXPECT_GE(a, 0.0);
  EXPECT_GE(b, 0.0);
  order.clear();
  best_seconds_paired([&] { order += 'a'; }, [&] { order += 'b'; }, options, Timing::kSteady);
  EXPECT_EQ(order, "aabbaabbaabbaabb");  // each timed call follows an untimed one of the same function
}

TEST(Bench, PairedSecondsAlternateTheFunctions) {
  std::string order;
  const PairedSeconds t = paired_seconds([&] { order += 'a'; }, [&] { order += 'b'; }, 5);
  EXPECT_EQ(order, "abababababab");  // one warm-up each, then five pairs
  ASSERT_EQ(t.a.size(), 5u);
  ASSERT_EQ(t.b.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_GE(t.a[i], 0.0);
    EXPECT_GE(t.b[i], 0.0);
  }
}

// Ratios a / b by hand: 2/1 = 2, 3/4 = 0.75, 1/1 = 1, 9/2 = 4.5, 1/2 = 0.5 -> sorted 0.5 0.75 1 2 4.5: the median
// 1 is pair 2's, whose seconds the row reports.
TEST(Bench, MedianPairIsThePairWithTheMedianRatio) {
  const PairedSeconds t{{2, 3, 1, 9, 1}, {1, 4, 1, 2, 2}};
  const MedianPair m = median_pair(t);
  EXPECT_EQ(m.a_seconds, 1.0);
  EXPECT_EQ(m.b_seconds, 1.0);
  EXPECT_EQ(m.ratio_min, 0.5);
  EXPECT_EQ(m.ratio_max, 4.5);
  const PairedSeconds u{{3, 1, 4}, {2, 2, 1}};  // ratios 1.5, 0.5, 4: the median is pair 0's
  EXPECT_EQ(median_pair(u).a_seconds, 3.0);
  EXPECT_EQ(median_pair(u).b_seconds, 2.0);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run(const std::string& args) {
  const int status = std::system((std::string(QH_BINARY) + " " + args + " > /dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The quant, gemm and attention groups (the eval group has its own test with the engine).
TEST(BenchCli, QuickRunWritesEveryKernelRow) {
  nlohmann::json rows = nlohmann::json::array();
  for (const char* group : {"quant", "gemm", "attention"}) {
    const std::string out = ::testing::TempDir() + "bench_quick_" + group + ".json";
    std::remove(out.c_str());
    ASSERT_EQ(run(std::string("bench ") + group + " --quick --threads 1 --json " + out), 0) << group;
    const nlohmann::json got = nlohmann::json::parse(read_file(out));
    ASSERT_TRUE(got.is_array());
    for (const auto& r : got) rows.push_back(r);
  }
  std::set<std::string> kernels;
  for (const auto& r : rows) {
    kernels.insert(r.at("kernel").get<std::string>());
    EXPECT_EQ(r.at("threads"), 1);
    EXPECT_TRUE(r.contains("gbps") || r.contains("gflops")) << r.dump();
    EXPECT_TRUE(r.contains("read_gbps") || r.contains("gemm_gflops")) << r.dump();
    EXPECT_GT(r.at("ratio").get<double>(), 0.0) << r.dump();
  }
  for (const char* k : {"quant_per_token_int8", "quant_per_token_int4", "quant_per_channel_int4_mse",
                        "quant_group128_int4", "fake_quant_per_token_int8", "gemm_f32", "gemm_u8s8_int8",
                        "flash_attention"}) {
    EXPECT_TRUE(kernels.count(k)) << k;
  }
}

// The audit's cost against a plain fp pass: one row per workload and observer set, each with its ratio.
// The rotation's run-time cost: rotate against rtn W4A4 tokens/s, the median of paired passes, its ratio the
// row's figures' quotient and within the pairs' range.
TEST(BenchCli, QuickMethodsWritesTheRotationCostRow) {
  const std::string out = ::testing::TempDir() + "bench_quick_methods.json";
  std::remove(out.c_str());
  ASSERT_EQ(run("bench methods --quick --threads 1 --json " + out), 0);
  const nlohmann::json rows = nlohmann::json::parse(read_file(out));
  int found = 0;
  for (const auto& r : rows) {
    if (r.at("kernel") != "eval_W4A4_rotate") continue;
    ++found;
    const double value = r.at("tokens_per_s").get<double>(), limit = r.at("rtn_tokens_per_s").get<double>();
    const double ratio = r.at("ratio").get<double>();
    EXPECT_GT(value, 0.0);
    EXPECT_GT(limit, 0.0);
    EXPECT_NEAR(ratio, value / limit, 1e-12) << r.dump();
    EXPECT_LE(std::stod(r.at("ratio_min").get<std::string>()), ratio + 1e-3) << r.dump();
    EXPECT_GE(std::stod(r.at("ratio_max").get<std::string>()), ratio - 1e-3) << r.dump();
    EXPECT_EQ(r.at("pairs"), "5 (median pair)");
  }
  EXPECT_EQ(found, 1);
}

TEST(BenchCli, QuickAuditWritesCostRows) {
  const std::string out = ::testing::TempDir() + "bench_quick_audit.json";
  std::remove(out.c_str());
  ASSERT_EQ(run("bench audit --quick --threads 1 --json " + out), 0);
  const nlohmann::json rows = nlohmann::json::parse(read_file(out));
  std::set<std::string> kernels;
  for (const auto& r : rows) {
    kernels.insert(r.at("kernel").get<std::string>());
    EXPECT_EQ(r.at("threads"), 1);
    EXPECT_GT(r.at("tokens_per_s").get<double>(), 0.0) << r.dump();
    EXPECT_GT(r.at("fp32_tokens_per_s").get<double>(), 0.0) << r.dump();
    // cost_vs_fp is the inverse of the throughput ratio (printed with three decimals).
    const double cost = std::stod(r.at("cost_vs_fp").get<std::string>());
    EXPECT_NEAR(cost, 1.0 / r.at("ratio").get<double>(), 1e-3 * cost + 1e-3) << r.dump();
  }
  for (const char* k : {"audit_bb1_stats", "audit_bb1_stats_capture", "audit_llama_stats", "audit_llama_stats_capture"})
    EXPECT_TRUE(kernels.count(k)) << k;
}

// Tokens/s of fp32, W8A8 and W4A4 next to the same-run GEMM bound of the model's linear layers, and the rows
// measured beside a busy process, which the bench must have killed and reaped (by pid) when it returns.
TEST(BenchCli, QuickEvalWritesBoundAndBusyCoreRows) {
  const std::string out = ::testing::TempDir() + "bench_quick_eval.json";
  std::remove(out.c_str());
  ASSERT_EQ(run("bench eval --quick --threads 1,2 --json " + out), 0);
  const nlohmann::json rows = nlohmann::json::parse(read_file(out));
  std::set<std::string> seen;
  for (const auto& r : rows) {
    const std::string k = r.at("kernel").get<std::string>();
    seen.insert(k + "@" + std::to_string(r.at("threads").get<int>()));
    EXPECT_GT(r.at("tokens_per_s").get<double>(), 0.0) << r.dump();
    const bool fp = r.at("scheme") == "FP32";
    EXPECT_GT(r.at(fp ? "f32_gemm_tokens_per_s" : "int8_gemm_tokens_per_s").get<double>(), 0.0) << r.dump();
    EXPECT_NEAR(r.at("ratio").get<double>(),
                r.at("tokens_per_s").get<double>() / r.at(fp ? "f32_gemm_tokens_per_s" : "int8_gemm_tokens_per_s").get<double>(),
                1e-9) << r.dump();
    if (k.size() > 5 && k.substr(k.size() - 5) == "_busy") {
      const pid_t pid = static_cast<pid_t>(std::stol(r.at("busy_pid").get<std::string>()));
      ASSERT_GT(pid, 0) << r.dump();
      errno = 0;
      EXPECT_EQ(::kill(pid, 0), -1) << "busy process " << pid << " still exists";
      EXPECT_EQ(errno, ESRCH);
      EXPECT_TRUE(r.contains("vs_1_thread_idle")) << r.dump();
    }
  }
  for (const char* s : {"FP32", "W8A8", "W4A4"}) {
    EXPECT_TRUE(seen.count(std::string("eval_") + s + "@1")) << s;
    EXPECT_TRUE(seen.count(std::string("eval_") + s + "@2")) << s;
    EXPECT_TRUE(seen.count(std::string("eval_") + s + "_busy@2")) << s;
    EXPECT_FALSE(seen.count(std::string("eval_") + s + "_busy@1")) << s;
  }
}

// Tokens/s of each reference tokenizer on the TinyStories file, a cold (fresh tokenizer) and a warm row each;
// the token counts the rows report are those of the reference ids (tests/tokenizer/data/*/tinystories_head.u32).
TEST(BenchCli, TokenizeWritesColdAndWarmRowsOfEveryReferenceTokenizer) {
  const std::string data = std::string(QH_SOURCE_DIR) + "/tests/tokenizer/data";
  const std::string out = ::testing::TempDir() + "bench_tokenize.json";
  std::remove(out.c_str());
  // The default tokenizers and text are found from the source tree.
  const int status = std::system(("cd '" + std::string(QH_SOURCE_DIR) + "' && " + QH_BINARY +
                                  " bench tokenize --quick --json " + out + " > /dev/null 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const nlohmann::json rows = nlohmann::json::parse(read_file(out));
  std::set<std::string> seen;
  for (const auto& r : rows) {
    EXPECT_EQ(r.at("kernel"), "tokenize");
    EXPECT_EQ(r.at("threads"), 1);
    EXPECT_GT(r.at("tokens_per_s").get<double>(), 0.0) << r.dump();
    // "tests/tokenizer/data/<name>/tokenizer.json (hf-bpe)"
    const std::string prefix = "tests/tokenizer/data/", tokenizer = r.at("tokenizer").get<std::string>();
    ASSERT_EQ(tokenizer.rfind(prefix, 0), 0u) << tokenizer;
    const std::string name = tokenizer.substr(prefix.size(), tokenizer.find('/', prefix.size()) - prefix.size());
    const size_t reference_tokens = read_file(data + "/" + name + "/tinystories_head.u32").size() / 4;
    EXPECT_GT(reference_tokens, 40000u) << name;
    EXPECT_NE(r.at("text").get<std::string>().find("(197290 bytes, " + std::to_string(reference_tokens) + " tokens)"),
              std::string::npos)
        << r.dump();
    seen.insert(name + " " + r.at("cache").get<std::string>());
  }
  for (const char* name : {"gpt2", "mistral", "mistral_spm", "gpt_neox_20b"})
    for (const char* cache : {"cold", "warm"})
      EXPECT_TRUE(seen.count(std::string(name) + " " + cache)) << name << " " << cache;
  EXPECT_EQ(rows.size(), 8u);
  // One named tokenizer and text, from anywhere.
  std::remove(out.c_str());
  ASSERT_EQ(run("bench tokenize --quick --tokenizer " + data + "/gpt2 --text " + data +
                "/tinystories_head.txt --json " + out),
            0);
  EXPECT_EQ(nlohmann::json::parse(read_file(out)).size(), 2u);
  EXPECT_EQ(run("bench tokenize --quick --tokenizer " + data + "/nowhere.json --text " + data + "/texts.jsonl"), 2);
}

TEST(BenchCli, BadInputIsExitCode2) {
  EXPECT_EQ(run("bench nonsense --quick"), 2);
  EXPECT_EQ(run("bench quant --threads 0 --quick"), 2);
  EXPECT_EQ(run("bench quant --threads 1,x --quick"), 2);
}

}  // namespace
}  // namespace qh::bench
