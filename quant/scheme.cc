// The registry of named schemes and their suffixes (ARCHITECTURE.md 1.5), validation, and the one-line descriptions
// used by tables and reports. Field-by-field schemes are parsed in scheme_fields.cc.
#include "quant/scheme.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "quant/scheme_text.h"

namespace qh {
namespace {

struct BaseScheme {
  const char* name;
  int w_bits;
  int a_bits;
};
// W16 / A16 mean "kept in full precision".
constexpr BaseScheme kBases[] = {
    {"W8A8", 8, 8}, {"W4A4", 4, 4}, {"W4A8", 4, 8}, {"W4A16", 4, 0}, {"W8A16", 8, 0},
    {"FP32", 0, 0}, {"FP16", 0, 0}, {"fp", 0, 0},
};
constexpr const char* kSuffixes[] = {"-static", "-asym", "-kv4", "-kv8", "-g<N> (e.g. -g128)", "-mse"};

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

Scheme base_scheme(const BaseScheme& b) {
  Scheme s;
  s.name = b.name;
  s.weights.bits = b.w_bits;
  s.weights.granularity = Granularity::kPerChannel;
  s.activations.bits = b.a_bits;
  s.activations.granularity = Granularity::kPerToken;
  s.kv.granularity = Granularity::kPerToken;
  s.attn_probs.granularity = Granularity::kPerToken;
  s.attn_probs.symmetric = false;  // probabilities are >= 0: the sign bit would be wasted
  return s;
}

// Parses "128" of "-g128"; throws with the whole name in the message.
int parse_group_suffix(const std::string& digits, const std::string& text) {
  if (digits.empty() || digits.size() > 6 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) {
    throw InputError("scheme '" + text + "': suffix '-g" + digits +
                     "' must be -g followed by a positive group size, e.g. -g128");
  }
  const int g = std::stoi(digits);
  if (g <= 0) throw InputError("scheme '" + text + "': group size in '-g" + digits + "' must be > 0");
  return g;
}

Scheme parse_named(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dash = text.find('-', start);
    parts.push_back(text.substr(start, dash == std::string::npos ? std::string::npos : dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  const std::string base = lower(parts[0]);
  const BaseScheme* found = nullptr;
  for (const BaseScheme& b : kBases) {
    if (lower(b.name) == base) found = &b;
  }
  if (!found) {
    std::vector<std::string> names;
    for (const BaseScheme& b : kBases) names.push_back(b.name);
    throw InputError("unknown scheme '" + text + "'" + did_you_mean(parts[0], names) +
                     "; valid names: " + join(names, ", ") + ", each with optional suffixes " +
                     join(std::vector<std::string>(std::begin(kSuffixes), std::end(kSuffixes)), " "));
  }
  Scheme s = base_scheme(*found);
  const bool fp = found->w_bits == 0 && found->a_bits == 0;
  int group = 0, kv_bits = 0;
  bool is_static = false, asym = false, mse = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string suffix = lower(parts[i]);
    auto once = [&](bool& flag) {
      if (flag) throw InputError("scheme '" + text + "': suffix '-" + parts[i] + "' given twice");
      flag = true;
    };
    bool seen_group = group > 0, seen_kv = kv_bits > 0;
    if (suffix == "static") {
      once(is_static);
    } else if (suffix == "asym") {
      once(asym);
    } else if (suffix == "mse") {
      once(mse);
    } else if (suffix == "kv4" || suffix == "kv8") {
      once(seen_kv);
      kv_bits = suffix == "kv4" ? 4 : 8;
    } else if (suffix.size() >= 2 && suffix[0] == 'g' && std::isdigit(static_cast<unsigned char>(suffix[1]))) {
      once(seen_group);
      group = parse_group_suffix(suffix.substr(1), text);
    } else {
      const std::vector<std::string> known = {"static", "asym", "kv4", "kv8", "g128", "mse"};
      throw InputError("scheme '" + text + "': unknown suffix '-" + parts[i] + "'" +
                       did_you_mean(suffix, known) + "; valid suffixes: " +
                       join(std::vector<std::string>(std::begin(kSuffixes), std::end(kSuffixes)), " "));
    }
  }
  if (fp && (group || mse || is_static || asym)) {
    throw InputError("scheme '" + text + "': " + found->name +
                     " quantizes nothing, so only -kv4 / -kv8 may follow it");
  }
  if (!s.weights.enabled() && (group || mse)) {
    throw InputError("scheme '" + text + "': -g<N> and -mse apply to weights, which this scheme keeps in full precision");
  }
  if (!s.activations.enabled() && (is_static || asym)) {
    throw InputError("scheme '" + text +
                     "': -static and -asym apply to activations, which this scheme keeps in full precision (A16)");
  }
  std::string name = found->name;
  if (group) {
    s.weights.granularity = Granularity::kGroup;
    s.weights.group_size = group;
    name += "-g" + std::to_string(group);
  }
  if (mse) {
    s.weights.clip_mode = ClipMode::kMse;
    name += "-mse";
  }
  if (is_static) {
    s.activations.granularity = Granularity::kPerTensor;
    name += "-static";
  }
  if (asym) {
    s.activations.symmetric = false;
    name += "-asym";
  }
  if (kv_bits) {
    s.kv.bits = kv_bits;
    name += "-kv" + std::to_string(kv_bits);
  }
  s.name = name;
  return s;
}

void validate_spec(const QuantSpec& q, const char* what, bool is_weight, const std::string& where) {
  if (!q.enabled()) return;
  const std::string at = where + ": " + what;
  if (q.bits < 2 || q.bits > 8) {
    throw InputError(at + " bits " + std::to_string(q.bits) + " out of range: expected 0 (off) or 2..8");
  }
  if (q.granularity == Granularity::kGroup && q.group_size <= 0) {
    throw InputError(at + " granularity group:" + std::to_string(q.group_size) +
                     ": the group size must be a positive integer (e.g. group:128)");
  }
  if (q.granularity != Granularity::kGroup && q.group_size != 0) {
    throw InputError(at + " has group size " + std::to_string(q.group_size) + " but granularity " +
                     to_string(q.granularity));
  }
  if (is_weight && q.granularity == Granularity::kPerToken) {
    throw InputError(at + " granularity per_token: weights are per_tensor, per_channel or group:G");
  }
  if (!is_weight && q.granularity == Granularity::kPerChannel) {
    throw InputError(at + " granularity per_channel: activations are per_tensor, per_token or group:G "
                          "(a per-input-channel activation scale cannot be folded out of an integer GEMM)");
  }
  if (!(q.clip > 0.0f && q.clip <= 1.0f)) {
    throw InputError(at + " clip " + std::to_string(q.clip) + " out of range: expected a ratio in (0, 1]");
  }
  if (q.clip_mode == ClipMode::kMse) {
    if (!is_weight) throw InputError(at + " clip mse: the MSE clip search applies to weights only");
    if (q.mse_grid < 1 || q.mse_grid > 10000) {
      throw InputError(at + " mse grid " + std::to_string(q.mse_grid) + " out of range: expected 1..10000");
    }
    if (!(q.mse_min_clip > 0.0f && q.mse_min_clip <= 1.0f)) {
      throw InputError(at + " mse min clip " + std::to_string(q.mse_min_clip) + " out of range: expected (0, 1]");
    }
  }
}

}  // namespace

const char* to_string(Site s) {
  static const char* const kNames[kNumSites] = {"q", "k", "v", "o", "gate", "up", "down"};
  const int i = static_cast<int>(s);
  QH_CHECK(i >= 0 && i < kNumSites);
  return kNames[i];
}

std::string to_string(Granularity g) {
  switch (g) {
    case Granularity::kPerTensor: return "per_tensor";
    case Granularity::kPerChannel: return "per_channel";
    case Granularity::kPerToken: return "per_token";
    case Granularity::kGroup: return "group";
  }
  QH_CHECK(false);
  return "";
}

std::string granularity_string(const QuantSpec& q) {
  if (q.granularity == Granularity::kGroup) return "group:" + std::to_string(q.group_size);
  return to_string(q.granularity);
}

Scheme parse_scheme(const std::string& text) {
  if (text.find('=') != std::string::npos) return scheme_from_fields(split_fields(text, "scheme '" + text + "'"),
                                                                     "scheme '" + text + "'");
  if (text.empty()) throw InputError("scheme: empty name; valid names: " + join(named_schemes(), ", "));
  Scheme s = parse_named(text);
  validate(s, "scheme '" + text + "'");
  return s;
}

void validate(const Scheme& s, const std::string& where) {
  validate_spec(s.weights, "weights", true, where);
  validate_spec(s.activations, "activations", false, where);
  validate_spec(s.kv, "kv", false, where);
  validate_spec(s.attn_probs, "attention probabilities", false, where);
  if (s.name.empty()) throw InputError(where + ": empty scheme name");
}

const std::vector<std::string>& named_schemes() {
  static const std::vector<std::string> kNames = {
      "fp",          "W8A8",      "W4A4",      "W4A8",          "W4A16",         "W8A16",
      "W8A8-static", "W8A8-asym", "W4A4-asym", "W8A8-kv8",      "W4A4-kv4",      "W4A8-kv4",
      "W4A16-g128",  "W4A4-mse",  "W4A4-g128", "W4A16-g128-mse", "W4A4-mse-kv4",
  };
  return kNames;
}

std::string describe(const Scheme& s) {
  auto spec = [](const QuantSpec& q) -> std::string {
    if (!q.enabled()) return "fp";
    std::string out = "int" + std::to_string(q.bits) + " " + granularity_string(q) + (q.symmetric ? " sym" : " asym");
    if (q.clip_mode == ClipMode::kMse) {
      out += " clip mse";
    } else if (q.clip != 1.0f) {
      out += " clip " + format_float(q.clip);
    }
    return out;
  };
  std::string out = s.name + ": weights " + spec(s.weights) + ", activations " + spec(s.activations) + ", kv " +
                    spec(s.kv);
  if (s.attn_probs.enabled()) out += ", attention probs " + spec(s.attn_probs);
  std::vector<std::string> off;
  for (int i = 0; i < kNumSites; ++i) {
    if (!s.sites[i]) off.push_back(to_string(static_cast<Site>(i)));
  }
  if (!off.empty()) out += ", fp sites " + join(off, "+");
  if (s.quantize_lm_head) out += ", lm_head quantized";
  if (s.quantize_embeddings) out += ", embeddings quantized";
  return out;
}

bool operator==(const QuantSpec& a, const QuantSpec& b) {
  if (a.bits != b.bits) return false;
  if (a.bits == 0) return true;  // every "off" spec is the same quantization
  return a.granularity == b.granularity && a.group_size == b.group_size && a.symmetric == b.symmetric &&
         a.clip_mode == b.clip_mode && (a.clip_mode == ClipMode::kMse || a.clip == b.clip) &&
         (a.clip_mode == ClipMode::kFixed || (a.mse_grid == b.mse_grid && a.mse_min_clip == b.mse_min_clip));
}

bool same_quantization(const Scheme& a, const Scheme& b) {
  return a.weights == b.weights && a.activations == b.activations && a.kv == b.kv && a.attn_probs == b.attn_probs &&
         std::equal(std::begin(a.sites), std::end(a.sites), std::begin(b.sites)) &&
         a.quantize_lm_head == b.quantize_lm_head && a.quantize_embeddings == b.quantize_embeddings;
}

bool operator==(const Scheme& a, const Scheme& b) { return a.name == b.name && same_quantization(a, b); }

}  // namespace qh
