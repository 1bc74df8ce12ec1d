#include "src/bench/bench_tokenize.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <fstream>
#include <sstream>

#include "models/tokenizer/load.h"
#include "src/core/error.h"

namespace qh::bench {
namespace {

const char* const kDataDir = "tests/tokenizer/data";

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("bench tokenize: cannot read the text file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double seconds_of(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<BenchRow> bench_tokenize(const BenchOptions& options, const TokenizeBenchInput& input) {
  std::vector<std::string> tokenizers;
  if (!input.tokenizer.empty()) {
    tokenizers.push_back(input.tokenizer);
  } else {
    for (const char* t : {"gpt2/tokenizer.json", "mistral/tokenizer.json", "mistral_spm/tokenizer.model",
                          "gpt_neox_20b/tokenizer.json"})
      tokenizers.push_back(std::string(kDataDir) + "/" + t);
  }
  const std::string text_path = input.text.empty() ? std::string(kDataDir) + "/tinystories_head.txt" : input.text;
  for (const std::string& p : tokenizers) {
    if (exists(p) && exists(text_path)) continue;
    if (!input.required) {
      std::fprintf(stderr, "bench tokenize: skipped (no %s here; run from the source tree or give --tokenizer and "
                           "--text)\n", exists(p) ? text_path.c_str() : p.c_str());
      return {};
    }
    throw InputError("bench tokenize: '" + (exists(p) ? text_path : p) +
                     "' not found (run from the source tree, or give --tokenizer PATH and --text FILE)");
  }
  const std::string text = read_text(text_path);
  std::vector<BenchRow> rows;
  for (const std::string& path : tokenizers) {
    size_t tokens = 0;
    // Cold: a fresh tokenizer per measurement (loading not timed), one pass over the text.
    double cold = 1e300;
    for (int rep = 0; rep < std::max(1, options.min_repeats); ++rep) {
      const auto tok = tok::load_tokenizer(path);
      cold = std::min(cold, seconds_of([&] { tokens = tok->encode(text, false).size(); }));
    }
    const auto tok = tok::load_tokenizer(path);
    const double warm = best_seconds([&] { tokens = tok->encode(text, false).size(); }, options);
    for (const auto& [cache, seconds] : {std::pair<const char*, double>{"cold", cold}, {"warm", warm}}) {
      BenchRow r;
      r.kernel = "tokenize";
      r.threads = 1;
      r.metric = "tokens_per_s";
      r.value = static_cast<double>(tokens) / seconds;
      r.info["tokenizer"] = path + " (" + tok->describe().substr(0, tok->describe().find(' ')) + ")";
      r.info["text"] = fmt::format("{} ({} bytes, {} tokens)", text_path, text.size(), tokens);
      r.info["cache"] = cache;
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

}  // namespace qh::bench
