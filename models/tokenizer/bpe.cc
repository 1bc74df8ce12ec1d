#include "models/tokenizer/bpe.h"

#include <cstdio>
#include <queue>

#include "models/tokenizer/utf8.h"
#include "src/core/error.h"

namespace qh::tok {
namespace {

using json_util::brief;
using nlohmann::json;

std::optional<std::string> optional_string(const json_util::Fields& f, const std::string& key) {
  if (!f.has(key)) return std::nullopt;
  return f.string(key);
}

}  // namespace

BpeModel::BpeModel(const json_util::Fields& f) : file_(f.file) {
  f.only_keys({"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
               "byte_fallback", "ignore_merges", "vocab", "merges"});
  if (f.has("dropout")) {
    const json& d = f.obj.at("dropout");
    if (!d.is_number() || d.get<double>() != 0.0)
      f.fail("dropout", "BPE dropout (random merges) is not supported for evaluation; got " + brief(d));
  }
  unk_token_ = optional_string(f, "unk_token");
  prefix_ = optional_string(f, "continuing_subword_prefix").value_or("");
  suffix_ = optional_string(f, "end_of_word_suffix").value_or("");
  fuse_unk_ = f.boolean("fuse_unk", false);
  byte_fallback_ = f.boolean("byte_fallback", false);
  ignore_merges_ = f.boolean("ignore_merges", false);

  if (!f.has("vocab") || !f.obj.at("vocab").is_object()) f.fail("vocab", "expected an object {token: id}");
  const json& vocab = f.obj.at("vocab");
  vocab_.reserve(vocab.size() * 2);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const json& id = it.value();
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      f.fail("vocab", "token " + brief(json(it.key())) + " has id " + brief(id) + " (expected an integer >= 0)");
    vocab_[it.key()] = static_cast<int32_t>(id.get<int64_t>());
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    const auto it = vocab_.find(name);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  if (unk_token_ && !vocab_.count(*unk_token_))
    f.fail("unk_token", "'" + *unk_token_ + "' is not in the vocabulary");

  if (!f.has("merges") || !f.obj.at("merges").is_array()) f.fail("merges", "expected an array");
  const json& merges = f.obj.at("merges");
  merges_.reserve(merges.size() * 2);
  for (size_t r = 0; r < merges.size(); ++r) {
    const json& m = merges[r];
    std::string a, b;
    const std::string where = "merges[" + std::to_string(r) + "]";
    if (m.is_string()) {  // "a b"
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        f.fail(where, "expected \"left right\" (two tokens separated by one space), got " + brief(m));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["a", "b"]
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      f.fail(where, "expected \"left right\" or [\"left\", \"right\"], got " + brief(m));
    }
    const auto ia = vocab_.find(a), ib = vocab_.find(b);
    if (ia == vocab_.end()) f.fail(where, "token " + brief(json(a)) + " is not in the vocabulary");
    if (ib == vocab_.end()) f.fail(where, "token " + brief(json(b)) + " is not in the vocabulary");
    if (b.compare(0, prefix_.size(), prefix_) != 0 && !prefix_.empty())
      f.fail(where, "token " + brief(json(b)) + " does not start with the continuing_subword_prefix");
    const std::string merged = a + b.substr(prefix_.size());
    const auto im = vocab_.find(merged);
    if (im == vocab_.end()) f.fail(where, "merged token " + brief(json(merged)) + " is not in the vocabulary");
    merges_[pair_key(ia->second, ib->second)] = Merge{static_cast<int32_t>(r), im->second};  // a repeat: the later rank
    if (first_invalid_utf8(merged)) continue;  // not text: never next to a cut (cuts need single-char tokens)
    size_t i = 0;
    char32_t prev = next_code_point(merged, i);
    while (i < merged.size()) {
      const char32_t c = next_code_point(merged, i);
      joined_pairs_.insert((uint64_t(prev) << 32) | c);
      prev = c;
    }
  }
  for (const auto& [token, id] : vocab_) {
    if (token.empty() || first_invalid_utf8(token)) continue;
    size_t i = 0;
    const char32_t c = next_code_point(token, i);
    if (i == token.size()) single_chars_.insert(c);
  }
}

std::optional<int32_t> BpeModel::lookup(std::string_view s) const {
  const auto it = vocab_.find(std::string(s));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const BpeModel::Merge* BpeModel::find_merge(int32_t a, int32_t b) const {
  const auto it = merges_.find(pair_key(a, b));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::merge_word(std::string_view w, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(w.size());
  const auto add = [&](int32_t id) {
    const int32_t n = static_cast<int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, true});
  };
  // A run of characters without a token, waiting to become one unk (the reference adds byte-fallback tokens
  // before a pending unk; kept as it does).
  int32_t pending_unk = -1;  // -1: none
  std::string s;
  for (size_t i = 0; i < w.size();) {
    const size_t begin = i;
    i += utf8_lead_length(static_cast<unsigned char>(w[i]));
    std::string_view ch = w.substr(begin, i - begin);
    std::optional<int32_t> id;
    if (prefix_.empty() && suffix_.empty()) {
      id = lookup(ch);
    } else {
      s.assign(begin > 0 ? prefix_ : "");
      s.append(ch);
      if (i >= w.size()) s += suffix_;
      id = lookup(s);
    }
    if (id) {
      if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      const std::string_view sym = prefix_.empty() && suffix_.empty() ? ch : std::string_view(s);
      bool all = true;
      for (unsigned char c : sym) all = all && byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : sym) add(byte_ids_[c]);
        continue;
      }
    }
    if (!unk_token_)
      throw InputError(file_ + ": model: the text has the character '" + std::string(ch) +
                       "', which has no token, and the model has neither byte_fallback nor an unk_token");
    const int32_t unk = vocab_.at(*unk_token_);
    if (pending_unk >= 0 && !fuse_unk_) add(pending_unk);
    pending_unk = unk;
  }
  if (pending_unk >= 0) add(pending_unk);

  struct Candidate {
    int32_t rank, pos, new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  for (size_t k = 0; k + 1 < symbols.size(); ++k)
    if (const Merge* m = find_merge(symbols[k].id, symbols[k + 1].id))
      queue.push({m->rank, static_cast<int32_t>(k), m->new_id});
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const Merge* m = find_merge(left.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;  // an outdated entry
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0)
      if (const Merge* p = find_merge(symbols[left.prev].id, left.id)) queue.push({p->rank, left.prev, p->new_id});
    if (left.next >= 0)
      if (const Merge* n = find_merge(left.id, symbols[left.next].id)) queue.push({n->rank, top.pos, n->new_id});
  }
  for (const Symbol& sym : symbols)
    if (sym.alive) out.push_back(sym.id);
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_)
    if (const auto id = lookup(word)) {
      out.push_back(*id);
      return;
    }
  if (word.size() <= kCacheMaxWordBytes || !prefix_.empty() || !suffix_.empty()) {
    tokenize_cached(word, out);
    return;
  }
  // Cut between two characters that are tokens by themselves (no unk run or byte fallback spans the cut) and
  // that no merged token holds side by side.
  size_t part = 0, i = 0;
  char32_t prev = next_code_point(word, i);
  bool prev_single = single_chars_.count(prev) > 0;
  while (i < word.size()) {
    const size_t at = i;
    const char32_t c = next_code_point(word, i);
    const bool single = single_chars_.count(c) > 0;
    if (prev_single && single && !joined_pairs_.count((uint64_t(prev) << 32) | c)) {
      tokenize_cached(word.substr(part, at - part), out);
      part = at;
    }
    prev = c;
    prev_single = single;
  }
  tokenize_cached(word.substr(part), out);
}

void BpeModel::tokenize_cached(std::string_view word, std::vector<int32_t>& out) const {
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + first, out.end()));
  }
}

}  // namespace qh::tok
