// Data specs (ARCHITECTURE.md 2.2): one string names where evaluation / training sequences come from.
//   bb:seed=7,seqs=64,len=256,k=3,vocab=64,table_seed=0,alpha=0.5[,text=PATH]   the BB generator
//   tokens:PATH[,len=N][,dtype=u16|u32]   raw little-endian u16 / u32 ids (by extension .u16 / .u32 or dtype=),
//                                         or a .npy array (<u2, <u4, <i4, <i8; 1-D or 2-D)
//   text:PATH[,len=N][,tokenizer=T]       a UTF-8 text file, one document, tokenized with the model's tokenizer
//   jsonl:PATH[,field=text][,len=N][,tokenizer=T]   one JSON object per line, the document in `field`
// Text and JSONL are tokenized with, in order: tokenizer=T (a checkpoint folder, tokenizer.json or
// tokenizer.model), the tokenizer the caller passes, the checkpoint folder's tokenizer.json / tokenizer.model.
// Without any, only a model with the zoo's byte-level vocabulary (257 ids) reads text, as bytes 0..255 with
// BOS = 256 prepended to each sequence (each document on its own); any other vocabulary is an error, never
// silently bytes. With a tokenizer, documents are joined as encode(doc, add_special=true) (the tokenizer's
// BOS / template) with its EOS between documents, and the stream is split into sequences of len ids. A
// tokenizer with more ids than the model's vocabulary is an error before anything is encoded.
// `len=N` splits a flat stream into sequences of N ids (the last, shorter piece is kept when it has >= 2 ids);
// a 2-D .npy gives one sequence per row. Every problem is a qh::InputError naming the spec, key or file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/data/bb.h"
#include "models/tokenizer/tokenizer.h"

namespace qh::data {

struct Dataset {
  std::string spec;       // the spec it was loaded from
  std::string tokenizer;  // "bb" | "bytes" | "ids" | the tokenizer's describe() (kind, file, sha256, vocab)
  int64_t documents = 0;  // text / jsonl: documents read
  int32_t bos = -1;       // text / jsonl: the BOS each document starts with (tok::leading_bos), else -1
  std::vector<std::vector<int32_t>> sequences;
  std::shared_ptr<const BBTask> bb;  // non-null for BB data (oracle, triggers)
  int64_t vocab_size = 0;            // ids are < vocab_size (BB: base + 1; bytes: 257; ids: max id + 1)
  bool flat = false;                 // one stream (a tokens: / text: file without len=), scored window by window
  int64_t num_tokens() const {
    int64_t n = 0;
    for (const auto& s : sequences) n += static_cast<int64_t>(s.size());
    return n;
  }
};

// Where text / jsonl data find their tokenizer when the spec names none.
struct TextSource {
  std::string checkpoint_dir;                       // its tokenizer.json / tokenizer.model, if it has one
  std::shared_ptr<const tok::Tokenizer> tokenizer;  // takes precedence over checkpoint_dir
};

// Parses and loads a spec. model_vocab > 0: any id >= model_vocab is an InputError naming the sequence,
// position and id. model_vocab <= 0 skips that check (and lets text without a tokenizer be bytes).
Dataset load_data(const std::string& spec, int64_t model_vocab, const TextSource& source = {});

// Checks a spec without loading it: its syntax and keys, the size a bb: spec would generate, and that the files
// it names exist, are regular files and are within the size limit (src/core/limits.h). Throws InputError.
void validate_data_spec(const std::string& spec);

// The spec with its relative file paths (the tokens: / text: / jsonl: path and tokenizer=, bb text=) made
// relative to base_dir instead of the working directory (suites resolve against their own folder). Throws
// InputError on a malformed spec.
std::string resolve_spec_paths(const std::string& spec, const std::string& base_dir);

// The files a spec reads (the tokens: / text: / jsonl: path, the tokenizer= file or the tokenizer files of its
// folder, a bb: spec's text=), for cache keys that follow their content.
// Throws InputError on a malformed spec.
std::vector<std::string> data_spec_files(const std::string& spec);

// --sequences N / --max-seqs N (0: all): keeps the first N sequences; a flat stream, which is one sequence, is
// cut to its first N x flat_length ids (N windows' worth), so the bound holds for every kind of data.
void bound_sequences(Dataset* d, int64_t max_sequences, int64_t flat_length);

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
// the training seed + 1000003); for text, the recipe's corpus spec (text:PATH,len=N). Returns "" when the recipe
// names neither (then --data is required).
std::string default_eval_spec(const std::string& recipe_json);

// Reads raw ids from a token file (.u16 / .u32 / .npy or explicit dtype "u16" | "u32" | ""), as a flat stream
// (2-D .npy: rows concatenated, row_len set to the row length; otherwise row_len = 0).
std::vector<int64_t> read_token_file(const std::string& path, const std::string& dtype, int64_t* row_len);

}  // namespace qh::data
