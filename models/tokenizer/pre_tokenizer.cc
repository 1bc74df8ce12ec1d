#include "models/tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "models/tokenizer/byte_level.h"
#include "models/tokenizer/component_json.h"
#include "models/tokenizer/regex.h"
#include "models/tokenizer/unicode.h"
#include "models/tokenizer/utf8.h"

namespace qh::tok {
namespace {

// The GPT-2 split pattern that Hugging Face's ByteLevel pre-tokenizer uses when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Hugging Face's Whitespace pre-tokenizer keeps the runs of /\w+|[^\w\s]+/; \w spelled out with the classes
// of the reference's regex engine (letters, marks, numbers, connector punctuation).
constexpr const char* kWhitespacePattern = R"([\p{L}\p{M}\p{N}\p{Pc}]+|[^\p{L}\p{M}\p{N}\p{Pc}\s]+)";

// Segments covering `text` from regex matches (invert flips which segments count as delimiters).
std::vector<Segment> regex_segments(const Regex& re, const std::string& text, bool invert) {
  std::vector<Segment> out;
  size_t prev = 0;
  for (const auto& [b, e] : re.find_all(text)) {
    if (b > prev) out.push_back({prev, b, invert});
    out.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < text.size()) out.push_back({prev, text.size(), invert});
  return out;
}

// Segments from a character predicate: every matching character is its own delimiter.
std::vector<Segment> char_segments(const std::string& text, const std::function<bool(char32_t)>& pred) {
  std::vector<Segment> out;
  size_t run = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    if (pred(next_code_point(text, i))) {
      if (run < start) out.push_back({run, start, false});
      out.push_back({start, i, true});
      run = i;
    }
  }
  if (run < text.size()) out.push_back({run, text.size(), false});
  return out;
}

void split_pieces(std::vector<Piece>& pieces, SplitBehavior behavior,
                  const std::function<std::vector<Segment>(const std::string&)>& segments) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) {
    for (const auto& [b, e] : apply_split_behavior(segments(p.text), behavior))
      out.push_back({p.text.substr(b, e - b), p.at_origin && b == 0});
  }
  pieces = std::move(out);
}

SplitBehavior parse_behavior(const Fields& f, const std::string& key, std::optional<std::string> dflt) {
  const std::string b = f.string(key, dflt);
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  f.fail(key, "unknown split behavior '" + b + "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext "
              "or Contiguous)");
}

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space), regex_(use_regex ? std::make_unique<Regex>(kGpt2Pattern, where) : nullptr) {}
  void apply(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_)
      for (Piece& p : pieces)
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, " ");
    if (regex_)
      split_pieces(pieces, SplitBehavior::kIsolated,
                   [&](const std::string& t) { return regex_segments(*regex_, t, false); });
    for (Piece& p : pieces) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      append_byte_level(mapped, p.text);
      p.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Split final : public PreTokenizer {
 public:
  Split(const std::string& pattern, const std::string& where, SplitBehavior behavior, bool invert)
      : regex_(pattern, where), behavior_(behavior), invert_(invert) {}
  void apply(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, behavior_, [&](const std::string& t) { return regex_segments(regex_, t, invert_); });
  }

 private:
  Regex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {
    append_utf8(rep_, replacement);
  }
  void apply(std::vector<Piece>& pieces) const override {
    for (Piece& p : pieces) {
      std::string out;
      out.reserve(p.text.size() + 8);
      for (char c : p.text) {
        if (c == ' ') out += rep_;
        else out.push_back(c);
      }
      const bool starts = out.compare(0, rep_.size(), rep_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_origin)))
        out.insert(0, rep_);
      p.text = std::move(out);
    }
    if (split_)
      split_pieces(pieces, SplitBehavior::kMergedWithNext, [&](const std::string& t) {
        return char_segments(t, [&](char32_t c) { return c == replacement_; });
      });
  }

 private:
  char32_t replacement_;
  std::string rep_;
  PrependScheme scheme_;
  bool split_;
};

class CharSplit final : public PreTokenizer {
 public:
  CharSplit(std::function<bool(char32_t)> pred, SplitBehavior behavior) : pred_(std::move(pred)), behavior_(behavior) {}
  void apply(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, behavior_, [&](const std::string& t) { return char_segments(t, pred_); });
  }

 private:
  std::function<bool(char32_t)> pred_;
  SplitBehavior behavior_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void apply(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->apply(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

std::vector<std::pair<size_t, size_t>> apply_split_behavior(const std::vector<Segment>& segments,
                                                            SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Segment& s : segments)
        if (!s.is_match) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kIsolated:
      for (const Segment& s : segments) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !out.empty()) out.back().second = s.end;
        else out.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (size_t k = segments.size(); k-- > 0;) {
        const Segment& s = segments[k];
        if (s.is_match && !previous_match && !out.empty()) out.back().first = s.begin;
        else out.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.is_match == previous_match && !out.empty()) out.back().second = s.end;
        else out.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      break;
    }
  }
  std::vector<std::pair<size_t, size_t>> kept;
  kept.reserve(out.size());
  for (const auto& r : out)
    if (r.second > r.first) kept.push_back(r);
  return kept;
}

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const nlohmann::json& j, const std::string& file,
                                                  const std::string& path) {
  const Fields f{j, file, path};
  const std::string type = component_type(f);
  const std::string where = file + ": " + path;
  if (type == "ByteLevel") {
    f.only_keys({"type", "add_prefix_space", "trim_offsets", "use_regex"});
    f.boolean("trim_offsets", true);  // offsets only: no effect on ids
    return std::make_unique<ByteLevel>(f.boolean("add_prefix_space", true), f.boolean("use_regex", true), where);
  }
  if (type == "Split") {
    f.only_keys({"type", "pattern", "behavior", "invert"});
    return std::make_unique<Split>(pattern_regex(f, "pattern"), file + ": " + f.field("pattern"),
                                   parse_behavior(f, "behavior", std::nullopt), f.boolean("invert", false));
  }
  if (type == "Metaspace") {
    f.only_keys({"type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"});
    PrependScheme scheme = PrependScheme::kAlways;
    if (f.has("prepend_scheme")) {
      const std::string s = f.string("prepend_scheme");
      if (s == "always") scheme = PrependScheme::kAlways;
      else if (s == "first") scheme = PrependScheme::kFirst;
      else if (s == "never") scheme = PrependScheme::kNever;
      else f.fail("prepend_scheme", "expected always, first or never, got '" + s + "'");
    } else if (f.has("add_prefix_space")) {  // the older spelling
      scheme = f.boolean("add_prefix_space") ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    return std::make_unique<Metaspace>(single_char(f, "replacement", "\xE2\x96\x81"), scheme, f.boolean("split", true));
  }
  if (type == "Digits") {
    f.only_keys({"type", "individual_digits"});
    return std::make_unique<CharSplit>(is_numeric, f.boolean("individual_digits", false) ? SplitBehavior::kIsolated
                                                                                        : SplitBehavior::kContiguous);
  }
  if (type == "Punctuation") {
    f.only_keys({"type", "behavior"});
    return std::make_unique<CharSplit>(is_punctuation, parse_behavior(f, "behavior", "Isolated"));
  }
  if (type == "Whitespace") {
    f.only_keys({"type"});
    return std::make_unique<Split>(kWhitespacePattern, where, SplitBehavior::kRemoved, /*invert=*/true);
  }
  if (type == "WhitespaceSplit") {
    f.only_keys({"type"});
    return std::make_unique<CharSplit>(is_whitespace, SplitBehavior::kRemoved);
  }
  if (type == "Sequence") {
    f.only_keys({"type", "pretokenizers"});
    if (!f.has("pretokenizers") || !j.at("pretokenizers").is_array()) f.fail("pretokenizers", "expected an array");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    const auto& arr = j.at("pretokenizers");
    for (size_t i = 0; i < arr.size(); ++i)
      parts.push_back(parse_pre_tokenizer(arr[i], file, f.field("pretokenizers") + "[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(parts));
  }
  refuse_type(f, "pre-tokenizer", type,
              "ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, Sequence");
}

}  // namespace qh::tok
