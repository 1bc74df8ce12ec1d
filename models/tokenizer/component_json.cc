#include "models/tokenizer/component_json.h"

#include "models/tokenizer/regex.h"
#include "models/tokenizer/utf8.h"
#include "src/core/error.h"

namespace qh::tok {

using nlohmann::json;

std::string component_type(const Fields& f) {
  if (!f.obj.is_object()) throw InputError(f.file + ": " + f.path + ": expected an object, got " + json_util::brief(f.obj));
  return f.string("type");
}

void refuse_type(const Fields& f, const std::string& kind, const std::string& type, const std::string& supported) {
  f.fail("type", kind + " '" + type + "' is not supported (supported: " + supported + ")");
}

std::string pattern_regex(const Fields& f, const std::string& key) {
  const Fields p = f.object(key);
  p.only_keys({"String", "Regex"});
  if (p.has("String")) return regex_escape(p.string("String"));
  if (p.has("Regex")) return p.string("Regex");
  f.fail(key, "expected {\"String\": ...} or {\"Regex\": ...}");
}

char32_t single_char(const Fields& f, const std::string& key, const std::string& dflt) {
  const std::string s = f.string(key, dflt);
  if (s.empty() || first_invalid_utf8(s) || utf8_lead_length(static_cast<unsigned char>(s[0])) != s.size())
    f.fail(key, "expected a single character, got " + json_util::brief(f.obj.contains(key) ? f.obj.at(key) : json(s)));
  size_t i = 0;
  return next_code_point(s, i);
}

size_t count_field(const Fields& f, const std::string& key, size_t dflt) {
  if (!f.has(key)) return dflt;
  const json& v = f.obj.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    f.fail(key, "expected a non-negative integer, got " + json_util::brief(v));
  return v.get<size_t>();
}

}  // namespace qh::tok
