#include "models/data/data_spec.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/data/text_data.h"
#include "models/data/token_file.h"
#include "src/core/error.h"
#include "src/core/limits.h"

namespace qh::data {
namespace {

struct ParsedSpec {
  std::string kind;  // "bb" | "tokens" | "text" | "jsonl"
  std::string path;  // tokens / text
  std::map<std::string, std::string> keys;
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "kind:first,key=value,..." where first is a path for tokens/text (a path may not contain ',').
ParsedSpec split_spec(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos)
    throw InputError(fmt::format("data spec '{}': expected 'bb:key=value,...', 'tokens:PATH[,len=N]', "
                                 "'text:PATH[,len=N]' or 'jsonl:PATH[,field=text][,len=N]'",
                                 spec));
  ParsedSpec p;
  p.kind = trim(spec.substr(0, colon));
  if (p.kind != "bb" && p.kind != "tokens" && p.kind != "text" && p.kind != "jsonl")
    throw InputError(fmt::format("data spec '{}': unknown kind '{}' (expected bb, tokens, text or jsonl)", spec, p.kind));
  std::vector<std::string> parts;
  std::string rest = spec.substr(colon + 1);
  size_t start = 0;
  for (;;) {
    const size_t comma = rest.find(',', start);
    parts.push_back(trim(rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  size_t first_key = 0;
  if (p.kind != "bb") {
    p.path = parts[0];
    if (p.path.empty()) throw InputError(fmt::format("data spec '{}': missing the file path after '{}:'", spec, p.kind));
    first_key = 1;
  }
  for (size_t i = first_key; i < parts.size(); ++i) {
    if (parts[i].empty()) {
      if (p.kind == "bb" && parts.size() == 1) break;  // "bb:" alone: all defaults
      throw InputError(fmt::format("data spec '{}': empty item (stray comma?)", spec));
    }
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(fmt::format("data spec '{}': '{}' is not key=value", spec, parts[i]));
    const std::string key = trim(parts[i].substr(0, eq));
    if (p.keys.count(key)) throw InputError(fmt::format("data spec '{}': key '{}' given twice", spec, key));
    p.keys[key] = trim(parts[i].substr(eq + 1));
  }
  return p;
}

int64_t parse_int(const std::string& spec, const std::string& key, const std::string& value, int64_t lo,
                  int64_t hi) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    throw InputError(fmt::format("data spec '{}': {}='{}' (expected an integer in [{}, {}])", spec, key, value, lo, hi));
  return v;
}

uint64_t parse_u64(const std::string& spec, const std::string& key, const std::string& value) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || value[0] == '-' || *end != '\0' || errno != 0)
    throw InputError(fmt::format("data spec '{}': {}='{}' (expected a non-negative integer)", spec, key, value));
  return v;
}

double parse_double(const std::string& spec, const std::string& key, const std::string& value) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno != 0 || !(v > 0.0) || v > 1e6)
    throw InputError(fmt::format("data spec '{}': {}='{}' (expected a positive number)", spec, key, value));
  return v;
}

void reject_unknown(const std::string& spec, const ParsedSpec& p, std::initializer_list<const char*> allowed) {
  for (const auto& kv : p.keys) {
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok |= kv.first == a;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!ok)
      throw InputError(fmt::format("data spec '{}': unknown key '{}' for {} data (known: {})", spec, kv.first,
                                   p.kind, list));
  }
}

BBSpec bb_from(const std::string& spec, const ParsedSpec& p) {
  reject_unknown(spec, p, {"seed", "seqs", "len", "k", "vocab", "table_seed", "alpha", "text"});
  BBSpec s;
  for (const auto& [key, value] : p.keys) {
    if (key == "seed") s.seed = parse_u64(spec, key, value);
    else if (key == "seqs") s.seqs = static_cast<int>(parse_int(spec, key, value, 1, 10000000));
    else if (key == "len") s.config.seq_len = static_cast<int>(parse_int(spec, key, value, 2, 1 << 24));
    else if (key == "k") s.config.k_triggers = static_cast<int>(parse_int(spec, key, value, 0, 65534));
    else if (key == "vocab") s.config.base_vocab = static_cast<int>(parse_int(spec, key, value, 2, 65535));
    else if (key == "table_seed") s.config.table_seed = parse_u64(spec, key, value);
    else if (key == "alpha") s.config.alpha = parse_double(spec, key, value);
    else if (key == "text") {
      if (value.empty()) throw InputError(fmt::format("data spec '{}': text= needs a file path", spec));
      s.config.text_path = value;
    }
  }
  return s;
}

// The keys of a tokens: / text: spec.
struct FileSpec {
  int64_t len = 0;    // 0: one flat stream
  std::string dtype;  // tokens: "", "u16" or "u32"
};

FileSpec file_spec_from(const std::string& spec, const ParsedSpec& p) {
  reject_unknown(spec, p, p.kind == "tokens" ? std::initializer_list<const char*>{"len", "dtype"}
                          : p.kind == "text" ? std::initializer_list<const char*>{"len", "tokenizer"}
                                             : std::initializer_list<const char*>{"len", "tokenizer", "field"});
  FileSpec f;
  f.len = p.keys.count("len") ? parse_int(spec, "len", p.keys.at("len"), 2, int64_t(1) << 40) : 0;
  if (p.kind == "tokens") {
    f.dtype = p.keys.count("dtype") ? p.keys.at("dtype") : "";
    if (!f.dtype.empty() && f.dtype != "u16" && f.dtype != "u32")
      throw InputError(fmt::format("data spec '{}': dtype='{}' (expected u16 or u32)", spec, f.dtype));
  }
  return f;
}

// A bb: spec's size, checked before anything is generated: seqs x len ids (plus the BOS of each sequence).
void check_bb_size(const std::string& spec, const BBSpec& s) {
  const int64_t tokens = static_cast<int64_t>(s.seqs) * (s.config.seq_len + 1);
  if (tokens > kMaxDataTokens)
    throw InputError(fmt::format("data spec '{}': seqs={} x len={} is {} ids, more than the {} one data set may "
                                 "hold (about {} GiB); use fewer sequences",
                                 spec, s.seqs, s.config.seq_len, tokens, kMaxDataTokens,
                                 tokens * 4 / (int64_t{1} << 30)));
}

// Splits a flat id stream into sequences of len ids (len 0: one sequence); a final piece shorter than 2
// ids cannot be scored and is dropped.
std::vector<std::vector<int32_t>> split(const std::vector<int64_t>& ids, int64_t len) {
  std::vector<std::vector<int32_t>> out;
  if (len <= 0) len = static_cast<int64_t>(ids.size());
  for (size_t start = 0; start < ids.size(); start += static_cast<size_t>(len)) {
    const size_t end = std::min(ids.size(), start + static_cast<size_t>(len));
    if (end - start < 2) break;
    out.emplace_back(ids.begin() + start, ids.begin() + end);
  }
  return out;
}

// text: / jsonl: (see data_spec.h for the rules).
void load_text(const std::string& spec, const ParsedSpec& p, int64_t len, int64_t model_vocab,
               const TextSource& source, Dataset& d) {
  const std::string field = p.keys.count("field") ? p.keys.at("field") : "text";
  if (field.empty()) throw InputError(fmt::format("data spec '{}': field= needs a JSON field name", spec));
  const std::string tokenizer_path = p.keys.count("tokenizer") ? p.keys.at("tokenizer") : "";
  if (p.keys.count("tokenizer") && tokenizer_path.empty())
    throw InputError(fmt::format("data spec '{}': tokenizer= needs a path", spec));
  const auto tokenizer = text_tokenizer(tokenizer_path, source.tokenizer, source.checkpoint_dir);
  // Checked before any text is read or encoded.
  if (!tokenizer && model_vocab > 0 && model_vocab != 257)
    throw InputError(fmt::format("data spec '{}': the model's vocabulary has {} ids, so its text needs its own "
                                 "tokenizer, and the checkpoint folder has no tokenizer.json or tokenizer.model "
                                 "(add one, give tokenizer=PATH, or use tokens:FILE with pre-tokenized ids); "
                                 "bytes as ids are only for the byte-level vocabulary of 257",
                                 spec, model_vocab));
  if (tokenizer && model_vocab > 0 && tokenizer->vocab_size() > model_vocab)
    throw InputError(fmt::format("data spec '{}': the tokenizer ({}) has {} ids but the model's vocabulary has "
                                 "only {}: they do not belong together",
                                 spec, tokenizer->describe(), tokenizer->vocab_size(), model_vocab));
  const std::vector<std::string> docs = read_documents(p.kind, p.path, field);
  d.documents = static_cast<int64_t>(docs.size());
  if (tokenizer) {
    d.sequences = split(join_documents(*tokenizer, docs, p.path), len);
    d.tokenizer = tokenizer->describe();
    d.vocab_size = tokenizer->vocab_size();
    d.bos = tok::leading_bos(*tokenizer).value_or(-1);
    return;
  }
  // Byte-level: each sequence is BOS + len-1 bytes so that len is the sequence length the model sees.
  for (const std::string& doc : docs) {
    const int64_t chunk = len > 0 ? len - 1 : static_cast<int64_t>(doc.size());
    for (size_t start = 0; start < doc.size(); start += static_cast<size_t>(chunk)) {
      const size_t end = std::min(doc.size(), start + static_cast<size_t>(chunk));
      std::vector<int32_t> seq{tok::ByteTokenizer::kBos};
      for (size_t i = start; i < end; ++i) seq.push_back(static_cast<unsigned char>(doc[i]));
      d.sequences.push_back(std::move(seq));
    }
  }
  d.tokenizer = "bytes";
  d.vocab_size = 257;
  d.bos = tok::ByteTokenizer::kBos;
}

}  // namespace

void bound_sequences(Dataset* d, int64_t max_sequences, int64_t flat_length) {
  if (max_sequences <= 0) return;
  if (d->flat && flat_length > 0 && !d->sequences.empty()) {
    const int64_t keep = std::max<int64_t>(2, flat_length) * max_sequences;
    auto& stream = d->sequences.front();
    if (static_cast<int64_t>(stream.size()) > keep) stream.resize(static_cast<size_t>(keep));
  }
  if (static_cast<int64_t>(d->sequences.size()) > max_sequences) d->sequences.resize(static_cast<size_t>(max_sequences));
}

BBSpec parse_bb_spec(const std::string& spec) {
  const std::string full = spec.rfind("bb:", 0) == 0 ? spec : "bb:" + spec;
  const ParsedSpec p = split_spec(full);
  return bb_from(full, p);
}

void validate_data_spec(const std::string& spec) {
  const ParsedSpec p = split_spec(spec);
  if (p.kind == "bb") {
    const BBSpec s = bb_from(spec, p);
    check_bb_size(spec, s);
    if (!s.config.text_path.empty()) data_file_size(s.config.text_path, kMaxDataTokens, "bb: the text= file");
    return;
  }
  const FileSpec f = file_spec_from(spec, p);
  if (p.kind == "tokens") {
    data_file_size(p.path, token_file_max_bytes(p.path, f.dtype), "a token file");
    return;
  }
  data_file_size(p.path, kMaxDataTokens, "a " + p.kind + " file");
  if (p.keys.count("tokenizer") && !p.keys.at("tokenizer").empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(p.keys.at("tokenizer"), ec))
      throw InputError(fmt::format("data spec '{}': no such tokenizer '{}'", spec, p.keys.at("tokenizer")));
  }
}

std::string resolve_spec_paths(const std::string& spec, const std::string& base_dir) {
  const ParsedSpec p = split_spec(spec);
  auto resolve = [&](const std::string& path) {
    if (path.empty() || base_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
    return (std::filesystem::path(base_dir) / path).lexically_normal().string();
  };
  std::string out = p.kind + ":";
  bool first = true;
  if (p.kind != "bb") {
    out += resolve(p.path);
    first = false;
  }
  for (const auto& [key, value] : p.keys) {
    const bool is_path = (p.kind == "bb" && key == "text") || (p.kind != "bb" && key == "tokenizer");
    out += (first ? "" : ",") + key + "=" + (is_path ? resolve(value) : value);
    first = false;
  }
  return out;
}

std::vector<std::string> data_spec_files(const std::string& spec) {
  const ParsedSpec p = split_spec(spec);
  if (p.kind != "bb") {
    std::vector<std::string> files{p.path};
    if (p.keys.count("tokenizer") && !p.keys.at("tokenizer").empty()) {
      // A tokenizer given as a folder is known by the tokenizer files it holds (what text_tokenizer reads).
      const std::string t = p.keys.at("tokenizer");
      std::error_code ec;
      if (std::filesystem::is_directory(t, ec)) {
        for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json"})
          if (std::filesystem::exists(t + "/" + name, ec)) files.push_back(t + "/" + name);
      } else {
        files.push_back(t);
      }
    }
    return files;
  }
  const BBSpec s = bb_from(spec, p);
  if (s.config.text_path.empty()) return {};
  return {s.config.text_path};
}

std::string format_bb_spec(const BBSpec& s) {
  std::string out = fmt::format("bb:seed={},seqs={},len={},k={},vocab={},table_seed={},alpha={}", s.seed, s.seqs,
                                s.config.seq_len, s.config.k_triggers, s.config.base_vocab, s.config.table_seed,
                                s.config.alpha);
  if (!s.config.text_path.empty()) out += ",text=" + s.config.text_path;
  return out;
}

std::string default_eval_spec(const std::string& recipe_json) {
  const nlohmann::json r = nlohmann::json::parse(recipe_json, nullptr, /*allow_exceptions=*/false);
  if (!r.is_object() || !r.contains("data") || !r["data"].is_string()) return "";
  const std::string spec = r["data"].get<std::string>();
  if (spec.rfind("text:", 0) == 0) return spec;  // a text recipe records its corpus: the model is scored on it
  if (spec.rfind("bb:", 0) != 0) return "";
  BBSpec s = parse_bb_spec(spec);
  s.seed += 1000003;  // a seed the trainer did not draw its training batches from
  return format_bb_spec(s);
}

Dataset load_data(const std::string& spec, int64_t model_vocab, const TextSource& source) {
  validate_data_spec(spec);  // the spec's own problems (a missing file, a directory, a size) before anything else
  const ParsedSpec p = split_spec(spec);
  Dataset d;
  d.spec = spec;
  std::vector<int64_t> ids;
  int64_t row_len = 0;
  if (p.kind == "bb") {
    const BBSpec s = bb_from(spec, p);
    check_bb_size(spec, s);
    auto task = std::make_shared<const BBTask>(s.config);
    d.tokenizer = "bb";
    d.sequences = task->sample(s.seqs, s.seed);
    d.vocab_size = task->vocab_size();
    d.bb = std::move(task);
  } else {
    const FileSpec f = file_spec_from(spec, p);
    const int64_t len = f.len;
    if (p.kind == "tokens") {
      const std::string& dtype = f.dtype;
      ids = read_token_file(p.path, dtype, &row_len);
      d.tokenizer = "ids";
      int64_t max_id = -1;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] > INT32_MAX)
          throw InputError(fmt::format("token file '{}': id {} at position {} is not a valid token id", p.path,
                                       ids[i], i));
        if (model_vocab > 0 && ids[i] >= model_vocab)
          throw InputError(fmt::format("token file '{}': token id {} at position {} is outside the model's "
                                       "vocabulary of {}",
                                       p.path, ids[i], i, model_vocab));
        max_id = std::max(max_id, ids[i]);
      }
      d.vocab_size = max_id + 1;
      if (row_len > 0 && len == 0) {  // 2-D .npy: one sequence per row
        d.sequences = split(ids, row_len);
        if (row_len < 2) throw InputError(fmt::format("token file '{}': rows of {} ids are too short (need >= 2)", p.path, row_len));
      } else {
        d.sequences = split(ids, len);
      }
    } else {
      load_text(spec, p, len, model_vocab, source, d);
    }
  }
  if (d.sequences.empty())
    throw InputError(fmt::format("data spec '{}': no sequence of at least 2 tokens", spec));
  d.flat = p.kind != "bb" && !p.keys.count("len") && row_len == 0 && d.sequences.size() == 1;
  if (model_vocab > 0) {
    for (size_t s = 0; s < d.sequences.size(); ++s)
      for (size_t t = 0; t < d.sequences[s].size(); ++t)
        if (d.sequences[s][t] >= model_vocab)
          throw InputError(fmt::format("data spec '{}': token id {} at sequence {} position {} is outside the "
                                       "model's vocabulary of {}",
                                       spec, d.sequences[s][t], s, t, model_vocab));
  }
  return d;
}

}  // namespace qh::data
