#include "models/tokenizer/decoder.h"

#include "models/tokenizer/byte_level.h"
#include "models/tokenizer/component_json.h"
#include "models/tokenizer/regex.h"
#include "models/tokenizer/utf8.h"

namespace qh::tok {
namespace {

const char* const kReplacementChar = "\xEF\xBF\xBD";

class ByteLevel final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      // A token whose characters are all in the alphabet becomes its bytes; any other token stays as it is.
      std::string mapped;
      bool all = true;
      for (size_t i = 0; i < t.size() && all;) {
        const int b = byte_of_alphabet_char(next_code_point(t, i));
        if (b < 0) all = false;
        else mapped.push_back(static_cast<char>(b));
      }
      bytes += all ? mapped : t;
    }
    return {utf8_lossy(bytes)};
  }
};

class Metaspace final : public Decoder {
 public:
  Metaspace(char32_t replacement, bool strip_first) : replacement_(replacement), strip_first_(strip_first) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      std::string out;
      const std::string& t = tokens[k];
      for (size_t i = 0; i < t.size();) {
        const size_t begin = i;
        const char32_t c = next_code_point(t, i);
        if (c != replacement_) out.append(t, begin, i - begin);
        else if (!(k == 0 && strip_first_)) out.push_back(' ');
      }
      tokens[k] = std::move(out);
    }
    return tokens;
  }

 private:
  char32_t replacement_;
  bool strip_first_;
};

class ByteFallback final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string run;  // bytes of consecutive <0xNN> tokens
    const auto flush = [&] {
      if (run.empty()) return;
      if (!first_invalid_utf8(run)) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < run.size(); ++i) out.emplace_back(kReplacementChar);
      }
      run.clear();
    };
    for (std::string& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') byte = parse_hex(t[3], t[4]);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int parse_hex(char a, char b) { return hex(a) < 0 || hex(b) < 0 ? -1 : hex(a) * 16 + hex(b); }
};

class Fuse final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    return {all};
  }
};

class Strip final : public Decoder {
 public:
  Strip(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      std::vector<size_t> starts;  // byte offset of each character
      for (size_t i = 0; i < t.size();) {
        starts.push_back(i);
        i += utf8_lead_length(static_cast<unsigned char>(t[i]));
      }
      const auto char_at = [&](size_t k) {
        size_t i = starts[k];
        return next_code_point(t, i);
      };
      size_t cut_start = 0, cut_stop = starts.size();
      for (size_t k = 0; k < start_ && k < starts.size() && char_at(k) == content_; ++k) cut_start = k + 1;
      for (size_t k = 0; k < stop_ && k < starts.size(); ++k) {
        const size_t index = starts.size() - 1 - k;
        if (index < cut_start || char_at(index) != content_) break;
        cut_stop = index;
      }
      const size_t b = cut_start < starts.size() ? starts[cut_start] : t.size();
      const size_t e = cut_stop < starts.size() ? starts[cut_stop] : t.size();
      t = e > b ? t.substr(b, e - b) : std::string();
    }
    return tokens;
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class Replace final : public Decoder {
 public:
  Replace(const std::string& pattern, std::string content, const std::string& where)
      : regex_(pattern, where), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      std::string out;
      size_t last = 0;
      for (const auto& [b, e] : regex_.find_all(t)) {
        out.append(t, last, b - last);
        out += content_;
        last = e;
      }
      out.append(t, last, std::string::npos);
      t = std::move(out);
    }
    return tokens;
  }

 private:
  Regex regex_;
  std::string content_;
};

class Sequence final : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& p : parts_) tokens = p->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> parse_decoder(const nlohmann::json& j, const std::string& file, const std::string& path) {
  const Fields f{j, file, path};
  const std::string type = component_type(f);
  if (type == "ByteLevel") {
    f.only_keys({"type", "add_prefix_space", "trim_offsets", "use_regex"});
    return std::make_unique<ByteLevel>();
  }
  if (type == "Metaspace") {
    f.only_keys({"type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"});
    bool strip_first = true;
    if (f.has("prepend_scheme")) {
      const std::string s = f.string("prepend_scheme");
      if (s != "always" && s != "first" && s != "never")
        f.fail("prepend_scheme", "expected always, first or never, got '" + s + "'");
      strip_first = s != "never";
    } else if (f.has("add_prefix_space")) {
      strip_first = f.boolean("add_prefix_space");
    }
    return std::make_unique<Metaspace>(single_char(f, "replacement", "\xE2\x96\x81"), strip_first);
  }
  if (type == "ByteFallback") {
    f.only_keys({"type"});
    return std::make_unique<ByteFallback>();
  }
  if (type == "Fuse") {
    f.only_keys({"type"});
    return std::make_unique<Fuse>();
  }
  if (type == "Strip") {
    f.only_keys({"type", "content", "start", "stop"});
    return std::make_unique<Strip>(single_char(f, "content", " "), count_field(f, "start", 0), count_field(f, "stop", 0));
  }
  if (type == "Replace") {
    f.only_keys({"type", "pattern", "content"});
    return std::make_unique<Replace>(pattern_regex(f, "pattern"), f.string("content"), file + ": " + f.field("pattern"));
  }
  if (type == "Sequence") {
    f.only_keys({"type", "decoders"});
    if (!f.has("decoders") || !j.at("decoders").is_array()) f.fail("decoders", "expected an array");
    std::vector<std::unique_ptr<Decoder>> parts;
    const auto& arr = j.at("decoders");
    for (size_t i = 0; i < arr.size(); ++i)
      parts.push_back(parse_decoder(arr[i], file, f.field("decoders") + "[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(parts));
  }
  refuse_type(f, "decoder", type, "ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence");
}

}  // namespace qh::tok
