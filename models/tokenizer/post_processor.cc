#include "models/tokenizer/post_processor.h"

#include "models/tokenizer/component_json.h"

namespace qh::tok {
namespace {

using json_util::brief;
using nlohmann::json;

class Fixed final : public PostProcessor {
 public:
  Fixed(std::vector<int32_t> before, std::vector<int32_t> after) : before_(std::move(before)), after_(std::move(after)) {}
  void wrap(std::vector<int32_t>& before, std::vector<int32_t>& after) const override {
    before.insert(before.end(), before_.begin(), before_.end());
    after.insert(after.begin(), after_.begin(), after_.end());
  }

 private:
  std::vector<int32_t> before_, after_;
};

class Sequence final : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void wrap(std::vector<int32_t>& before, std::vector<int32_t>& after) const override {
    // Each processor wraps the result of the previous one.
    for (const auto& p : parts_) {
      std::vector<int32_t> b, a;
      p->wrap(b, a);
      before.insert(before.begin(), b.begin(), b.end());
      after.insert(after.end(), a.begin(), a.end());
    }
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

// Roberta / Bert: "sep" and "cls" as [token, id].
int32_t token_id_pair(const Fields& f, const std::string& key) {
  if (!f.has(key)) f.fail(key, "missing (expected [token, id])");
  const json& v = f.obj.at(key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer() || v[1].get<int64_t>() < 0 ||
      v[1].get<int64_t>() > INT32_MAX)
    f.fail(key, "expected [token, id], got " + brief(v));
  return static_cast<int32_t>(v[1].get<int64_t>());
}

std::unique_ptr<PostProcessor> parse_template(const Fields& f) {
  f.only_keys({"type", "single", "pair", "special_tokens"});
  if (!f.has("single") || !f.obj.at("single").is_array()) f.fail("single", "expected an array (the template)");
  const json& specials = f.has("special_tokens") ? f.obj.at("special_tokens") : json::object();
  if (!specials.is_object()) f.fail("special_tokens", "expected an object");
  std::vector<int32_t> before, after;
  bool seen_a = false;
  const json& single = f.obj.at("single");
  for (size_t i = 0; i < single.size(); ++i) {
    const std::string where = "single[" + std::to_string(i) + "]";
    const json& piece = single[i];
    if (piece.is_object() && piece.size() == 1 && piece.contains("Sequence")) {
      const json& s = piece.at("Sequence");
      if (!s.is_object() || !s.contains("id") || s.at("id") != "A")
        f.fail(where, "a single-sequence template can only hold sequence A, got " + brief(piece));
      if (seen_a) f.fail(where, "sequence A appears twice");
      seen_a = true;
    } else if (piece.is_object() && piece.size() == 1 && piece.contains("SpecialToken")) {
      const json& s = piece.at("SpecialToken");
      if (!s.is_object() || !s.contains("id") || !s.at("id").is_string())
        f.fail(where, "expected {\"SpecialToken\": {\"id\": NAME, ...}}, got " + brief(piece));
      const std::string name = s.at("id").get<std::string>();
      if (!specials.contains(name))
        f.fail(where, "special token '" + name + "' is not defined in special_tokens");
      const json& def = specials.at(name);
      if (!def.is_object() || !def.contains("ids") || !def.at("ids").is_array())
        f.fail("special_tokens." + name, "expected an object with an \"ids\" array");
      for (const json& id : def.at("ids")) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
          f.fail("special_tokens." + name + ".ids", "expected token ids, got " + brief(id));
        (seen_a ? after : before).push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    } else {
      f.fail(where, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, got " + brief(piece));
    }
  }
  if (!seen_a) f.fail("single", "the template has no sequence A");
  return std::make_unique<Fixed>(std::move(before), std::move(after));
}

}  // namespace

std::unique_ptr<PostProcessor> parse_post_processor(const nlohmann::json& j, const std::string& file,
                                                    const std::string& path) {
  const Fields f{j, file, path};
  const std::string type = component_type(f);
  if (type == "TemplateProcessing") return parse_template(f);
  if (type == "ByteLevel") {
    f.only_keys({"type", "add_prefix_space", "trim_offsets", "use_regex"});
    return std::make_unique<Fixed>(std::vector<int32_t>{}, std::vector<int32_t>{});
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    if (type == "RobertaProcessing") f.only_keys({"type", "sep", "cls", "trim_offsets", "add_prefix_space"});
    else f.only_keys({"type", "sep", "cls"});
    return std::make_unique<Fixed>(std::vector<int32_t>{token_id_pair(f, "cls")},
                                   std::vector<int32_t>{token_id_pair(f, "sep")});
  }
  if (type == "Sequence") {
    f.only_keys({"type", "processors"});
    if (!f.has("processors") || !j.at("processors").is_array()) f.fail("processors", "expected an array");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    const auto& arr = j.at("processors");
    for (size_t i = 0; i < arr.size(); ++i)
      parts.push_back(parse_post_processor(arr[i], file, f.field("processors") + "[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(parts));
  }
  refuse_type(f, "post-processor", type, "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence");
}

}  // namespace qh::tok
