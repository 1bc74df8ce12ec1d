#include "models/tokenizer/normalizer.h"

#include <vector>

#include "models/tokenizer/component_json.h"
#include "models/tokenizer/regex.h"
#include "models/tokenizer/unicode.h"
#include "models/tokenizer/utf8.h"

namespace qh::tok {
namespace {

class UnicodeForm final : public Normalizer {
 public:
  explicit UnicodeForm(NormalForm form) : form_(form) {}
  std::string apply(std::string text) const override { return normalize(text, form_); }

 private:
  NormalForm form_;
};

class Lowercase final : public Normalizer {
 public:
  std::string apply(std::string text) const override { return to_lower(text); }
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string apply(std::string text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t i = begin;
        if (!is_whitespace(next_code_point(text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t i = start;
        if (!is_whitespace(next_code_point(text, i))) break;
        end = start;
      }
    }
    return text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string apply(std::string text) const override { return text.empty() ? text : prefix_ + text; }

 private:
  std::string prefix_;
};

class Replace final : public Normalizer {
 public:
  Replace(const std::string& pattern, std::string content, const std::string& where)
      : regex_(pattern, where), content_(std::move(content)) {}
  std::string apply(std::string text) const override {
    std::string out;
    size_t last = 0;
    for (const auto& [b, e] : regex_.find_all(text)) {
      out.append(text, last, b - last);
      out += content_;
      last = e;
    }
    out.append(text, last, std::string::npos);
    return out;
  }

 private:
  Regex regex_;
  std::string content_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  std::string apply(std::string text) const override {
    for (const auto& p : parts_) text = p->apply(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& j, const std::string& file, const std::string& path) {
  const Fields f{j, file, path};
  const std::string type = component_type(f);
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    f.only_keys({"type"});
    const NormalForm form = type == "NFC" ? NormalForm::kNFC
                            : type == "NFD" ? NormalForm::kNFD
                            : type == "NFKC" ? NormalForm::kNFKC
                                             : NormalForm::kNFKD;
    return std::make_unique<UnicodeForm>(form);
  }
  if (type == "Lowercase") {
    f.only_keys({"type"});
    return std::make_unique<Lowercase>();
  }
  if (type == "Strip") {
    f.only_keys({"type", "strip_left", "strip_right"});
    return std::make_unique<Strip>(f.boolean("strip_left", true), f.boolean("strip_right", true));
  }
  if (type == "Prepend") {
    f.only_keys({"type", "prepend"});
    return std::make_unique<Prepend>(f.string("prepend"));
  }
  if (type == "Replace") {
    f.only_keys({"type", "pattern", "content"});
    return std::make_unique<Replace>(pattern_regex(f, "pattern"), f.string("content"), file + ": " + f.field("pattern"));
  }
  if (type == "Sequence") {
    f.only_keys({"type", "normalizers"});
    if (!f.has("normalizers") || !j.at("normalizers").is_array()) f.fail("normalizers", "expected an array");
    std::vector<std::unique_ptr<Normalizer>> parts;
    const auto& arr = j.at("normalizers");
    for (size_t i = 0; i < arr.size(); ++i)
      parts.push_back(parse_normalizer(arr[i], file, f.field("normalizers") + "[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(parts));
  }
  refuse_type(f, "normalizer", type, "NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace, Sequence");
}

}  // namespace qh::tok
