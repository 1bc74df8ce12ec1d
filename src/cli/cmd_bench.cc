// `qharness bench [quant|gemm|eval|attention|audit|tokenize|methods|all] [--json OUT] [--threads 1,2] [--quick] [--params 1.1B]`: measured against the
// machine's own limits in the same run (ARCHITECTURE.md 2.2, 2.7). Prints a table; --json writes the rows for machines.
// `tokenize` takes --tokenizer PATH and --text FILE (default: the reference tokenizers and TinyStories file of
// tests/tokenizer/data).
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "src/bench/bench.h"
#include "src/bench/bench_attention.h"
#include "src/bench/bench_audit.h"
#include "src/bench/bench_eval.h"
#include "src/bench/bench_tokenize.h"
#include "src/bench/bench_methods.h"
#include "src/cli/command.h"

namespace qh::cli {
namespace {

struct BenchArgs {
  std::string what = "all";
  std::string json;
  std::string threads = "1,2";
  bool quick = false;
  std::string params, cache;  // bench eval at a model size
  std::string tokenizer;  // bench tokenize
  std::string text;
};

// The benchmark groups by name, in the order "all" runs them.
const std::vector<std::pair<std::string, std::function<std::vector<bench::BenchRow>(const bench::BenchOptions&)>>>&
groups() {
  static const std::vector<std::pair<std::string, std::function<std::vector<bench::BenchRow>(const bench::BenchOptions&)>>>
      kGroups = {{"quant", bench::bench_quant}, {"gemm", bench::bench_gemm}, {"eval", bench::bench_eval},
                 {"attention", bench::bench_attention}, {"audit", bench::bench_audit},
                 {"methods", bench::bench_methods}};
  return kGroups;
}

std::vector<int> parse_threads(const std::string& text) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(start, comma - start);
    char* end = nullptr;
    const long n = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || n < 1 || n > 1024) {
      throw InputError("--threads '" + text + "': expected a comma-separated list of thread counts 1..1024, e.g. 1,2");
    }
    out.push_back(static_cast<int>(n));
    start = comma + 1;
  }
  return out;
}

void run_bench(const BenchArgs& args) {
  bench::BenchOptions options;
  options.threads = parse_threads(args.threads);
  options.quick = args.quick;
  options.params = args.params;
  options.cache_dir = args.cache;
  if ((!args.params.empty() || !args.cache.empty()) && args.what != "eval")
    throw InputError("bench: --params and --cache belong to 'bench eval'");
  if (args.quick) {
    options.min_seconds = 0.05;
    options.min_repeats = 2;
  }
  std::string names;
  bool found = false;
  std::vector<bench::BenchRow> rows;
  for (const auto& [name, fn] : groups()) {
    names += (names.empty() ? "" : ", ") + name;
    if (args.what != "all" && args.what != name) continue;
    found = true;
    std::fprintf(stderr, "bench %s ...\n", name.c_str());
    const std::vector<bench::BenchRow> got = fn(options);
    rows.insert(rows.end(), got.begin(), got.end());
  }
  names += ", tokenize";
  if (args.what == "tokenize" || args.what == "all") {
    found = true;
    std::fprintf(stderr, "bench tokenize ...\n");
    const std::vector<bench::BenchRow> got =
        bench::bench_tokenize(options, {args.tokenizer, args.text, /*required=*/args.what == "tokenize"});
    rows.insert(rows.end(), got.begin(), got.end());
  } else if (!args.tokenizer.empty() || !args.text.empty()) {
    throw InputError("bench: --tokenizer and --text belong to 'bench tokenize'");
  }
  if (!found) throw InputError("bench: unknown benchmark '" + args.what + "'; expected one of " + names + ", all");
  bench::print_table(rows, stdout);
  if (!args.json.empty()) bench::write_json(rows, args.json);
}

}  // namespace

void add_bench(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure the quantizer and the GEMMs against the machine's own limits "
                                              "(same-run read bandwidth, f32 GEMM)");
  cmd->add_option("what", args->what, "quant | gemm | eval | attention | audit | tokenize | methods | all")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "write the rows as JSON to this file");
  cmd->add_option("--threads", args->threads, "comma-separated thread counts")->capture_default_str();
  cmd->add_flag("--quick", args->quick, "smaller shapes, shorter timing (smoke test)");
  cmd->add_option("--params", args->params,
                  "bench eval: 1.1B runs a random checkpoint of TinyLlama-1.1B's shape (BF16 shards, written once "
                  "into the cache) at window 2048: load time, tokens/s of FP32 / W8A8 / W4A4 (largest --threads), "
                  "peak resident memory against the F32 size of the weights");
  cmd->add_option("--cache", args->cache, "bench eval --params: checkpoint cache (default: $QH_CACHE or .cache/qharness)");
  cmd->add_option("--tokenizer", args->tokenizer,
                  "bench tokenize: a checkpoint folder, tokenizer.json or tokenizer.model (default: the reference "
                  "tokenizers in tests/tokenizer/data)");
  cmd->add_option("--text", args->text,
                  "bench tokenize: the text to encode (default: tests/tokenizer/data/tinystories_head.txt)");
  cmd->callback([args, exit_code] {
    run_bench(*args);
    *exit_code = kExitOk;
  });
}

}  // namespace qh::cli
