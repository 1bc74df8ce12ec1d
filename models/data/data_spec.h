// Data specs (ARCHITECTURE.md 2.2): one string names where evaluation / training sequences come from.
//   bb:seed=7,seqs=64,len=256,k=3,vocab=64,table_seed=0,alpha=0.5[,text=PATH]   the BB generator
//   tokens:PATH[,len=N][,dtype=u16|u32]   raw little-endian u16 / u32 ids (by extension .u16 / .u32 or dtype=),
//                                         or a .npy array (<u2, <u4, <i4, <i8; 1-D or 2-D)
//   text:PATH[,len=N]                     bytes as ids 0..255, BOS = 256 prepended to each sequence (vocab 257)
// `len=N` splits a flat stream into sequences of N ids (the last, shorter piece is kept when it has >= 2 ids);
// a 2-D .npy gives one sequence per row. Every problem is a qh::InputError naming the spec, key or file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/data/bb.h"

namespace qh::data {

struct Dataset {
  std::string spec;       // the spec it was loaded from
  std::string tokenizer;  // "bb" | "bytes" | "ids"
  std::vector<std::vector<int32_t>> sequences;
  std::shared_ptr<const BBTask> bb;  // non-null for BB data (oracle, triggers)
  int64_t vocab_size = 0;            // ids are < vocab_size (BB: base + 1; bytes: 257; ids: max id + 1)
  int64_t num_tokens() const {
    int64_t n = 0;
    for (const auto& s : sequences) n += static_cast<int64_t>(s.size());
    return n;
  }
};

// Parses and loads a spec. model_vocab > 0: any id >= model_vocab is an InputError naming the sequence,
// position and id. model_vocab <= 0 skips that check.
Dataset load_data(const std::string& spec, int64_t model_vocab);

// The parsed `bb:` spec as a BBConfig plus sampling parameters (for the trainer, which samples fresh batches).
struct BBSpec {
  BBConfig config;
  uint64_t seed = 7;
  int seqs = 64;
};
BBSpec parse_bb_spec(const std::string& spec);  // spec with or without the "bb:" prefix
std::string format_bb_spec(const BBSpec& s);    // canonical "bb:seed=..,seqs=..,len=..,k=..,vocab=..,..."

// The evaluation data for a checkpoint whose training recipe names its task (recipe JSON of ArchSpec): for
// BB, the recipe's `data` spec with a different sampling seed (fresh sequences from the same table; the seed is
// the training seed + 1000003). Returns "" when the recipe names no BB data (then --data is required).
std::string default_eval_spec(const std::string& recipe_json);

// Reads raw ids from a token file (.u16 / .u32 / .npy or explicit dtype "u16" | "u32" | ""), as a flat stream
// (2-D .npy: rows concatenated, row_len set to the row length; otherwise row_len = 0).
std::vector<int64_t> read_token_file(const std::string& path, const std::string& dtype, int64_t* row_len);

}  // namespace qh::data
