// qharness tokenize PATH --text FILE [--out IDS.u32] [--special]
// qharness tokenize PATH --decode IDS [--out TEXT] [--skip-special]
// PATH is a checkpoint folder (its tokenizer.json, else tokenizer.model), a tokenizer.json or a
// tokenizer.model. Encoding writes little-endian uint32 ids (the `tokens:` data format) or, without --out,
// prints them; decoding reads a .u32 / .u16 / .npy id file and writes the text.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "models/data/data_spec.h"
#include "models/data/token_file.h"
#include "models/tokenizer/load.h"
#include "src/core/atomic_file.h"
#include "src/core/error.h"
#include "src/cli/command.h"

namespace qh::cli {
namespace {

struct TokenizeArgs {
  std::string path;
  std::string text;
  std::string decode;
  std::string out;
  bool special = false;
  bool skip_special = false;
  bool quiet = false;
};

void run_tokenize(const TokenizeArgs& a) {
  if (a.text.empty() == a.decode.empty()) throw InputError("tokenize: give exactly one of --text FILE or --decode IDS");
  if (!a.decode.empty() && a.special) throw InputError("tokenize: --special belongs to encoding (--text)");
  if (!a.text.empty() && a.skip_special) throw InputError("tokenize: --skip-special belongs to decoding (--decode)");
  const auto tok = tok::load_tokenizer(a.path);
  if (!a.text.empty()) {
    const std::vector<uint8_t> bytes = data::read_bytes(a.text);
    std::vector<int32_t> ids;
    try {
      ids = tok->encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), a.special);
    } catch (const InputError& e) {
      throw InputError(a.text + ": " + e.what());
    }
    if (a.out.empty()) {
      std::string line;
      for (size_t i = 0; i < ids.size(); ++i) line += fmt::format("{}{}", i ? " " : "", ids[i]);
      std::printf("%s\n", line.c_str());
    } else {
      std::string raw(ids.size() * 4, '\0');
      for (size_t i = 0; i < ids.size(); ++i)
        for (int k = 0; k < 4; ++k) raw[4 * i + k] = static_cast<char>((static_cast<uint32_t>(ids[i]) >> (8 * k)) & 0xFF);
      write_file_atomic(a.out, raw);
    }
    if (!a.quiet)
      std::fprintf(stderr, "%zu bytes -> %zu tokens%s (%s)%s\n", bytes.size(), ids.size(),
                   a.special ? " with special tokens" : "", tok->describe().c_str(),
                   a.out.empty() ? "" : fmt::format(", written to {}", a.out).c_str());
    return;
  }
  int64_t row_len = 0;
  const std::vector<int64_t> raw = data::read_token_file(a.decode, "", &row_len);
  std::vector<int32_t> ids;
  ids.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] < 0 || raw[i] >= tok->vocab_size())
      throw InputError(fmt::format("{}: id {} at position {} is outside the tokenizer's vocabulary of {}", a.decode,
                                   raw[i], i, tok->vocab_size()));
    ids.push_back(static_cast<int32_t>(raw[i]));
  }
  std::string text;
  try {
    text = tok->decode(ids, a.skip_special);
  } catch (const InputError& e) {
    throw InputError(a.decode + ": " + e.what());
  }
  if (a.out.empty()) std::fwrite(text.data(), 1, text.size(), stdout);
  else write_file_atomic(a.out, text);
  if (!a.quiet)
    std::fprintf(stderr, "%zu tokens -> %zu bytes (%s)\n", ids.size(), text.size(), tok->describe().c_str());
}

}  // namespace

void add_tokenize(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Text -> token ids (or ids -> text with --decode) with a model's own tokenizer: a checkpoint "
                  "folder (tokenizer.json, else tokenizer.model), a tokenizer.json or a tokenizer.model");
  cmd->add_option("PATH", args->path, "checkpoint folder, tokenizer.json or tokenizer.model")->required();
  cmd->add_option("--text", args->text, "UTF-8 text file to encode");
  cmd->add_option("--decode", args->decode, "id file to decode (.u32, .u16 or .npy)");
  cmd->add_option("--out", args->out,
                  "output file: little-endian uint32 ids when encoding, text when decoding (default: stdout)");
  cmd->add_flag("--special", args->special,
                "add the tokenizer's own special tokens (BOS/EOS template), as add_special_tokens=True does");
  cmd->add_flag("--skip-special", args->skip_special, "leave special tokens out of the decoded text");
  cmd->add_flag("--quiet", args->quiet, "no summary line on stderr");
  cmd->callback([args, exit_code] {
    run_tokenize(*args);
    *exit_code = kExitOk;
  });
}

}  // namespace qh::cli
