// `qharness bench tokenize [--tokenizer PATH] [--text FILE]`: tokens/s of encode() on one core. Without
// --tokenizer it runs the tokenizers the tests check against their references (tests/tokenizer/data: GPT-2,
// Mistral tokenizer.json and tokenizer.model, GPT-NeoX-20B; run from the source tree); without --text, on the
// TinyStories file there. Two rows per tokenizer: "cold" (a freshly loaded tokenizer: every word goes through
// the BPE merges once, as in a single pass over new text) and "warm" (the word cache already filled).
#pragma once

#include <string>
#include <vector>

#include "src/bench/bench.h"

namespace qh::bench {

struct TokenizeBenchInput {
  std::string tokenizer;  // "" -> the reference tokenizers of tests/tokenizer/data
  std::string text;       // "" -> tests/tokenizer/data/tinystories_head.txt
  bool required = true;   // false (bench all): without the default files, no rows instead of an error
};

std::vector<BenchRow> bench_tokenize(const BenchOptions& options, const TokenizeBenchInput& input);

}  // namespace qh::bench
