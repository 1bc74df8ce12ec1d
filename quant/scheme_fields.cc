// Schemes given field by field (a YAML mapping, or --scheme key=value,...) and their canonical field text.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "quant/scheme.h"
#include "quant/scheme_text.h"

namespace qh {
namespace {

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> kKeys = {
      "name",     "base",          "w_bits",        "w_granularity", "w_symmetric", "w_clip",
      "w_mse_grid", "w_mse_min_clip", "a_bits",      "a_granularity", "a_symmetric", "a_clip",
      "kv_bits",  "kv_granularity", "kv_symmetric", "p_bits",        "sites",       "lm_head",
      "embeddings"};
  return kKeys;
}

std::string field_error(const std::string& where, const std::string& key, const std::string& value,
                        const std::string& expected) {
  return where + ": field '" + key + "': expected " + expected + ", got '" + value + "'";
}

long parse_int(const std::string& where, const std::string& key, const std::string& value, const char* expected) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0) throw InputError(field_error(where, key, value, expected));
  return v;
}

int parse_bits(const std::string& where, const std::string& key, const std::string& value) {
  const char* expected = "0, 16 or 32 (off) or 2..8";
  const long v = parse_int(where, key, value, expected);
  if (v == 0 || v == 16 || v == 32) return 0;
  if (v < 2 || v > 8) throw InputError(field_error(where, key, value, expected));
  return static_cast<int>(v);
}

bool parse_bool(const std::string& where, const std::string& key, const std::string& value) {
  const std::string v = lower(value);
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  throw InputError(field_error(where, key, value, "true or false"));
}

float parse_ratio(const std::string& where, const std::string& key, const std::string& value, const char* expected) {
  char* end = nullptr;
  const float v = std::strtof(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v > 0.0f && v <= 1.0f)) {
    throw InputError(field_error(where, key, value, expected));
  }
  return v;
}

void parse_granularity(const std::string& where, const std::string& key, const std::string& value, QuantSpec* q) {
  const char* expected = "per_tensor, per_channel, per_token or group:G with G > 0";
  const std::string v = lower(value);
  q->group_size = 0;
  if (v == "per_tensor") {
    q->granularity = Granularity::kPerTensor;
  } else if (v == "per_channel") {
    q->granularity = Granularity::kPerChannel;
  } else if (v == "per_token") {
    q->granularity = Granularity::kPerToken;
  } else if (v.rfind("group:", 0) == 0) {
    const long g = parse_int(where, key, v.substr(6), expected);
    if (g <= 0 || g > (1 << 20)) throw InputError(field_error(where, key, value, expected));
    q->granularity = Granularity::kGroup;
    q->group_size = static_cast<int>(g);
  } else {
    throw InputError(field_error(where, key, value, expected) +
                     did_you_mean(v, {"per_tensor", "per_channel", "per_token", "group:128"}));
  }
}

void parse_clip(const std::string& where, const std::string& key, const std::string& value, QuantSpec* q) {
  if (lower(value) == "mse") {
    q->clip_mode = ClipMode::kMse;
    q->clip = 1.0f;
    return;
  }
  q->clip_mode = ClipMode::kFixed;
  q->clip = parse_ratio(where, key, value, "a clip ratio in (0, 1] or 'mse'");
}

void parse_sites(const std::string& where, const std::string& value, bool* sites) {
  const std::string v = lower(value);
  if (v == "all" || v == "none") {
    for (int i = 0; i < kNumSites; ++i) sites[i] = v == "all";
    return;
  }
  std::vector<std::string> names;
  for (int i = 0; i < kNumSites; ++i) names.push_back(to_string(static_cast<Site>(i)));
  for (int i = 0; i < kNumSites; ++i) sites[i] = false;
  std::string word;
  auto flush = [&]() {
    if (word.empty()) return;
    bool found = false;
    for (int i = 0; i < kNumSites; ++i) {
      if (word == names[i]) {
        sites[i] = true;
        found = true;
      }
    }
    if (!found) {
      throw InputError(field_error(where, "sites", value, "'all', 'none' or sites among q k v o gate up down") +
                       did_you_mean(word, names));
    }
    word.clear();
  };
  for (char c : v) {
    if (c == '+' || c == ',' || c == '|' || std::isspace(static_cast<unsigned char>(c))) {
      flush();
    } else {
      word += c;
    }
  }
  flush();
}

}  // namespace

Scheme scheme_from_fields(const std::map<std::string, std::string>& fields, const std::string& where) {
  for (const auto& [key, value] : fields) {
    bool known = false;
    for (const std::string& k : known_keys()) known = known || k == key;
    if (!known) {
      std::string list;
      for (const std::string& k : known_keys()) list += (list.empty() ? "" : ", ") + k;
      throw InputError(where + ": unknown field '" + key + "'" + did_you_mean(key, known_keys()) +
                       "; valid fields: " + list);
    }
  }
  Scheme s;
  if (auto it = fields.find("base"); it != fields.end()) {
    if (it->second.find('=') != std::string::npos) {
      throw InputError(field_error(where, "base", it->second, "a named scheme such as W4A4"));
    }
    try {
      s = parse_scheme(it->second);
    } catch (const InputError& e) {
      throw InputError(where + ": field 'base': " + e.what());
    }
  } else {
    s = parse_scheme("fp");
  }
  bool modified = false;
  for (const auto& [key, value] : fields) {
    if (key == "name" || key == "base") continue;
    modified = true;
    if (key == "w_bits") s.weights.bits = parse_bits(where, key, value);
    else if (key == "w_granularity") parse_granularity(where, key, value, &s.weights);
    else if (key == "w_symmetric") s.weights.symmetric = parse_bool(where, key, value);
    else if (key == "w_clip") parse_clip(where, key, value, &s.weights);
    else if (key == "w_mse_grid") s.weights.mse_grid = static_cast<int>(parse_int(where, key, value, "an integer 1..10000"));
    else if (key == "w_mse_min_clip") s.weights.mse_min_clip = parse_ratio(where, key, value, "a clip ratio in (0, 1]");
    else if (key == "a_bits") s.activations.bits = parse_bits(where, key, value);
    else if (key == "a_granularity") parse_granularity(where, key, value, &s.activations);
    else if (key == "a_symmetric") s.activations.symmetric = parse_bool(where, key, value);
    else if (key == "a_clip") parse_clip(where, key, value, &s.activations);
    else if (key == "kv_bits") s.kv.bits = parse_bits(where, key, value);
    else if (key == "kv_granularity") parse_granularity(where, key, value, &s.kv);
    else if (key == "kv_symmetric") s.kv.symmetric = parse_bool(where, key, value);
    else if (key == "p_bits") s.attn_probs.bits = parse_bits(where, key, value);
    else if (key == "sites") parse_sites(where, value, s.sites);
    else if (key == "lm_head") s.quantize_lm_head = parse_bool(where, key, value);
    else if (key == "embeddings") s.quantize_embeddings = parse_bool(where, key, value);
  }
  if (auto it = fields.find("name"); it != fields.end()) {
    if (it->second.empty() || it->second.find_first_of(",=") != std::string::npos) {
      throw InputError(field_error(where, "name", it->second, "a non-empty name without ',' or '='"));
    }
    s.name = it->second;
  } else if (modified) {
    s.name = "custom";
  }
  validate(s, where);
  return s;
}

std::string to_fields_string(const Scheme& s) {
  auto spec = [](const char* prefix, const QuantSpec& q, bool with_clip) {
    std::string p = prefix;
    std::string out = p + "_bits=" + std::to_string(q.bits) + "," + p + "_granularity=" + granularity_string(q) +
                      "," + p + "_symmetric=" + (q.symmetric ? "true" : "false");
    if (with_clip) {
      out += "," + p + "_clip=" + (q.clip_mode == ClipMode::kMse ? std::string("mse") : format_float(q.clip));
    }
    return out;
  };
  std::string out = "name=" + s.name + "," + spec("w", s.weights, true);
  if (s.weights.clip_mode == ClipMode::kMse) {
    out += ",w_mse_grid=" + std::to_string(s.weights.mse_grid) + ",w_mse_min_clip=" +
           format_float(s.weights.mse_min_clip);
  }
  out += "," + spec("a", s.activations, true) + "," + spec("kv", s.kv, false);
  out += ",p_bits=" + std::to_string(s.attn_probs.bits);
  std::string sites;
  for (int i = 0; i < kNumSites; ++i) {
    if (s.sites[i]) sites += (sites.empty() ? "" : "+") + std::string(to_string(static_cast<Site>(i)));
  }
  out += ",sites=" + (sites.empty() ? std::string("none") : sites);
  out += std::string(",lm_head=") + (s.quantize_lm_head ? "true" : "false");
  out += std::string(",embeddings=") + (s.quantize_embeddings ? "true" : "false");
  return out;
}

}  // namespace qh
