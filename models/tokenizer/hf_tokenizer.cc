#include "models/tokenizer/hf_tokenizer.h"

#include <algorithm>

#include "models/json_util.h"
#include "models/tokenizer/bpe.h"
#include "models/tokenizer/decoder.h"
#include "models/tokenizer/normalizer.h"
#include "models/tokenizer/post_processor.h"
#include "models/tokenizer/pre_tokenizer.h"
#include "src/core/sha256.h"
#include "models/tokenizer/unigram.h"
#include "models/tokenizer/utf8.h"
#include "src/core/error.h"

namespace qh::tok {

using json_util::brief;
using json_util::Fields;
using nlohmann::json;

namespace {

json parse_json(const std::string& content, const std::string& file) {
  try {
    return json::parse(content);
  } catch (const json::parse_error& e) {
    throw InputError(file + ": not valid JSON (byte " + std::to_string(e.byte) + "): " + e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for any type
    throw InputError(file + ": not usable JSON: " + e.what());
  }
}

AddedToken parse_added_token(const Fields& f) {
  f.only_keys({"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
  AddedToken t;
  const int id = f.int_value("id");
  if (id < 0) f.fail("id", "expected an id >= 0, got " + std::to_string(id));
  t.id = id;
  t.content = f.string("content");
  if (t.content.empty()) f.fail("content", "an added token cannot be empty");
  t.special = f.boolean("special", false);
  t.single_word = f.boolean("single_word", false);
  t.lstrip = f.boolean("lstrip", false);
  t.rstrip = f.boolean("rstrip", false);
  t.normalized = f.boolean("normalized", !t.special);
  return t;
}

// Ids index a table: an id far beyond the number of tokens is a broken file, not a reason to allocate
// gigabytes.
void check_dense(const Fields& f, const std::string& key, int64_t max_id, size_t tokens) {
  if (max_id >= static_cast<int64_t>(2 * tokens + 1024))
    f.fail(key, "id " + std::to_string(max_id) + " is far beyond the " + std::to_string(tokens) +
                    " tokens (ids must be numbered from 0 without large gaps)");
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

HfTokenizer::~HfTokenizer() = default;

HfTokenizer::HfTokenizer(const std::string& content, const std::string& file, const std::optional<std::string>& config,
                         const std::string& config_file) {
  const json root = parse_json(content, file);
  if (!root.is_object()) throw InputError(file + ": expected a JSON object at the top level");
  const Fields top{root, file, ""};
  top.only_keys({"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor",
                 "decoder", "model"});
  // Truncation and padding change the ids of a text; evaluation windows are the harness's business.
  if (top.has("truncation")) top.fail("truncation", "truncation is not supported (expected null)");
  if (top.has("padding")) top.fail("padding", "padding is not supported (expected null)");

  if (top.has("normalizer")) normalizer_ = parse_normalizer(root.at("normalizer"), file, "normalizer");
  if (top.has("pre_tokenizer")) pre_tokenizer_ = parse_pre_tokenizer(root.at("pre_tokenizer"), file, "pre_tokenizer");
  if (top.has("post_processor"))
    post_processor_ = parse_post_processor(root.at("post_processor"), file, "post_processor");
  if (top.has("decoder")) decoder_ = parse_decoder(root.at("decoder"), file, "decoder");

  const Fields model = top.object("model");
  std::string type;
  if (model.has("type")) type = model.string("type");
  else if (model.has("merges")) type = "BPE";  // files written before the model carried its type
  else if (model.has("vocab") && root.at("model").at("vocab").is_array()) type = "Unigram";
  std::string kind;
  if (type == "BPE") {
    bpe_ = std::make_unique<BpeModel>(model);
    kind = "hf-bpe";
    int64_t max_id = -1;
    for (const auto& entry : bpe_->vocab()) max_id = std::max<int64_t>(max_id, entry.second);
    check_dense(model, "vocab", max_id, bpe_->vocab().size());
    id_to_token_.resize(static_cast<size_t>(max_id + 1));
    known_.resize(id_to_token_.size());
    for (const auto& [token, id] : bpe_->vocab()) {
      id_to_token_[id] = token;
      known_[id] = true;
    }
  } else if (type == "Unigram") {
    unigram_ = std::make_unique<UnigramModel>(model);
    kind = "hf-unigram";
    id_to_token_ = unigram_->pieces();
    known_.assign(id_to_token_.size(), true);
  } else {
    model.fail("type", "model '" + (type.empty() ? std::string("(none)") : type) +
                           "' is not supported (supported: BPE, Unigram)");
  }

  if (top.has("added_tokens")) {
    const json& arr = root.at("added_tokens");
    if (!arr.is_array()) top.fail("added_tokens", "expected an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      const std::string path = "added_tokens[" + std::to_string(i) + "]";
      if (!arr[i].is_object()) top.fail(path, "expected an object, got " + brief(arr[i]));
      AddedToken t = parse_added_token(Fields{arr[i], file, path});
      check_dense(Fields{arr[i], file, path}, "id", t.id, known_.size() + arr.size());
      const size_t id = static_cast<size_t>(t.id);
      if (id < known_.size() && known_[id] && id_to_token_[id] != t.content)
        Fields{arr[i], file, path}.fail("id", "id " + std::to_string(id) + " is already the token " +
                                                  brief(json(id_to_token_[id])) + " of the model");
      if (id >= id_to_token_.size()) id_to_token_.resize(id + 1), known_.resize(id + 1);
      id_to_token_[id] = t.content;
      known_[id] = true;
      added_.push_back(std::move(t));
    }
  }
  special_.assign(id_to_token_.size(), false);
  for (const AddedToken& t : added_)
    if (t.special) special_[t.id] = true;

  // The two matchers: normalized=false tokens as written, normalized=true ones as the normalizer writes them.
  std::vector<std::string> raw_patterns, norm_patterns;
  std::vector<const AddedToken*> raw_tokens, norm_tokens;
  for (const AddedToken& t : added_) {
    if (t.normalized) {
      norm_patterns.push_back(normalizer_ ? normalizer_->apply(t.content) : t.content);
      norm_tokens.push_back(&t);
    } else {
      raw_patterns.push_back(t.content);
      raw_tokens.push_back(&t);
    }
  }
  raw_matcher_ = std::make_unique<TokenMatcher>(raw_patterns, raw_tokens);
  normalized_matcher_ = std::make_unique<TokenMatcher>(norm_patterns, norm_tokens);

  if (post_processor_) {  // the ids it adds must be tokens of this tokenizer
    std::vector<int32_t> before, after;
    post_processor_->wrap(before, after);
    before.insert(before.end(), after.begin(), after.end());
    for (int32_t id : before)
      if (!id_to_token(id))
        top.fail("post_processor", "adds id " + std::to_string(id) + ", which is not a token of this tokenizer");
  }
  find_document_markers(config, config_file);
  describe_ = kind + " " + base_name(file) + " sha256:" + sha256_hex(content) + " vocab=" + std::to_string(vocab_size());
}

std::optional<std::string> HfTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= known_.size() || !known_[id]) return std::nullopt;
  return id_to_token_[id];
}

std::optional<int32_t> HfTokenizer::token_to_id(const std::string& token) const {
  for (const AddedToken& t : added_)
    if (t.content == token) return t.id;
  if (bpe_) {
    const auto it = bpe_->vocab().find(token);
    if (it != bpe_->vocab().end()) return it->second;
  }
  if (unigram_) {
    const auto& p = unigram_->pieces();
    const auto it = std::find(p.begin(), p.end(), token);
    if (it != p.end()) return static_cast<int32_t>(it - p.begin());
  }
  return std::nullopt;
}

// BOS / EOS, in order of authority: tokenizer_config.json's bos_token / eos_token; the special tokens the
// post-processor puts before / after the text; for EOS, a special added token with one of the usual
// end-of-text names.
void HfTokenizer::find_document_markers(const std::optional<std::string>& config, const std::string& config_file) {
  if (config) {
    const json c = parse_json(*config, config_file);
    const auto marker = [&](const char* key) -> std::optional<int32_t> {
      if (!c.is_object() || !c.contains(key) || c.at(key).is_null()) return std::nullopt;
      const json& v = c.at(key);
      std::string name;
      if (v.is_string()) name = v.get<std::string>();
      else if (v.is_object() && v.contains("content") && v.at("content").is_string()) name = v.at("content").get<std::string>();
      else throw InputError(config_file + ": " + key + ": expected a token string or {\"content\": ...}, got " + brief(v));
      const auto id = token_to_id(name);
      if (!id) throw InputError(config_file + ": " + key + ": '" + name + "' is not a token of the tokenizer");
      return id;
    };
    bos_ = marker("bos_token");
    eos_ = marker("eos_token");
  }
  if (post_processor_) {
    std::vector<int32_t> before, after;
    post_processor_->wrap(before, after);
    if (!bos_ && before.size() == 1) bos_ = before[0];
    if (!eos_ && after.size() == 1) eos_ = after[0];
  }
  if (!eos_) {
    for (const char* name : {"</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>"})
      for (const AddedToken& t : added_)
        if (!eos_ && t.special && t.content == name) eos_ = t.id;
  }
}

void HfTokenizer::encode_plain(std::string_view text, bool at_origin, std::vector<int32_t>& ids) const {
  std::string normalized = normalizer_ ? normalizer_->apply(std::string(text)) : std::string(text);
  std::vector<Piece> words;
  for (const Match& m : normalized_matcher_->split(normalized)) {
    if (m.id >= 0) {
      ids.push_back(m.id);
      continue;
    }
    words.clear();
    words.push_back({normalized.substr(m.begin, m.end - m.begin), at_origin && m.begin == 0});
    if (pre_tokenizer_) pre_tokenizer_->apply(words);
    for (const Piece& w : words) {
      if (bpe_) bpe_->tokenize(w.text, ids);
      else unigram_->tokenize(w.text, ids);
    }
  }
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool add_special) const {
  if (const auto bad = first_invalid_utf8(text))
    throw InputError("text is not valid UTF-8 (byte offset " + std::to_string(*bad) + ")");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const Match& m : raw_matcher_->split(text)) {
    if (m.id >= 0) ids.push_back(m.id);
    else encode_plain(text.substr(m.begin, m.end - m.begin), m.begin == 0, ids);
  }
  if (add_special && post_processor_) {
    std::vector<int32_t> before, after;
    post_processor_->wrap(before, after);
    ids.insert(ids.begin(), before.begin(), before.end());
    ids.insert(ids.end(), after.begin(), after.end());
  }
  return ids;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || static_cast<size_t>(id) >= known_.size() || !known_[id])
      throw InputError("decode: id " + std::to_string(id) + " at position " + std::to_string(i) +
                       " is not in the tokenizer's vocabulary (" + std::to_string(vocab_size()) + " ids)");
    if (skip_special && special_[id]) continue;
    tokens.push_back(id_to_token_[id]);
  }
  std::string out;
  if (decoder_) {
    for (const std::string& t : decoder_->decode_chain(std::move(tokens))) out += t;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
  }
  return out;
}

}  // namespace qh::tok
