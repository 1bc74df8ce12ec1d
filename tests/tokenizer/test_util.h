// Helpers of the tokenizer tests: small tokenizer.json files written inline, and InputError expectations.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/tokenizer/hf_tokenizer.h"
#include "src/core/error.h"

namespace qh::tok::test {

// A tokenizer.json built from `j` (kept in memory; "test.json" names it in messages).
inline std::unique_ptr<HfTokenizer> hf(const nlohmann::json& j) {
  return std::make_unique<HfTokenizer>(j.dump(), "test.json", std::nullopt, "");
}

// A BPE tokenizer.json with the given model fields and, optionally, other top-level parts.
inline nlohmann::json bpe_json(nlohmann::json vocab, nlohmann::json merges, nlohmann::json extra_model = nlohmann::json::object()) {
  nlohmann::json model = {{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(merges)}};
  for (auto it = extra_model.begin(); it != extra_model.end(); ++it) model[it.key()] = it.value();
  return {{"version", "1.0"}, {"model", model}};
}

// Expects an InputError whose message contains every fragment.
template <typename F>
void expect_input_error(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "no InputError; expected one mentioning '" << *fragments.begin() << "'";
  } catch (const InputError& e) {
    for (const char* frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
  }
}

inline std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "qh_tok_" + name + "." + std::to_string(::getpid());
  std::system(("rm -rf '" + d + "' && mkdir -p '" + d + "'").c_str());
  return d;
}

inline void write(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

}  // namespace qh::tok::test
