// Quantization schemes (ARCHITECTURE.md 1.5): what W8A8, W4A4, ... mean, field by field. One registry of named schemes
// drives the CLI, the suites, the tests and the reports.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace qh {

enum class Granularity {
  kPerTensor,   // one scale for the whole tensor (activations: static, calibrated)
  kPerChannel,  // weights: one scale per output row
  kPerToken,    // activations: one scale per row (token), computed on the fly
  kGroup,       // one scale per group of group_size consecutive values along K (the input dimension)
};
enum class ClipMode { kFixed, kMse };

// How one kind of tensor is quantized. bits == 0 means "kept in full precision".
struct QuantSpec {
  int bits = 0;                         // 0 (off) or 2..8
  Granularity granularity = Granularity::kPerToken;
  int group_size = 0;                   // kGroup only, > 0
  bool symmetric = true;                // symmetric: q in [-2^(b-1), 2^(b-1)-1]; else q in [0, 2^b-1] with zero point
  ClipMode clip_mode = ClipMode::kFixed;
  float clip = 1.0f;                    // kFixed: scale = clip * absmax / qmax; in (0, 1]
  int mse_grid = 100;                   // kMse: candidates clip = 1 - i / mse_grid ...
  float mse_min_clip = 0.8f;            // ... down to mse_min_clip (QuaRot's weight clip search)
  bool enabled() const { return bits > 0; }
};

// The linear sites of a block that a scheme may quantize (inputs and weights of each).
enum class Site { kQ = 0, kK, kV, kO, kGate, kUp, kDown };
inline constexpr int kNumSites = 7;
const char* to_string(Site s);  // "q" "k" "v" "o" "gate" "up" "down"

struct Scheme {
  std::string name;        // canonical name ("W4A4", "W8A8-static", or "custom" for field-by-field schemes)
  QuantSpec weights;       // default: per_channel symmetric
  QuantSpec activations;   // default: per_token symmetric (dynamic)
  QuantSpec kv;            // K/V cache quantization (per token per head, or group); bits 0 = off
  QuantSpec attn_probs;    // attention probabilities; bits 0 = off
  bool sites[kNumSites] = {true, true, true, true, true, true, true};
  bool quantize_lm_head = false;     // lm_head and embeddings stay in full precision unless asked
  bool quantize_embeddings = false;
  bool is_fp() const { return !weights.enabled() && !activations.enabled() && !kv.enabled() && !attn_probs.enabled(); }
};

// Parses a named scheme with optional suffixes: "W8A8", "W4A4", "W4A8", "W4A16", "W8A16", "FP32" (also "FP16"
// and "fp": no quantization), and any of "-static" (per-tensor calibrated activations), "-asym" (asymmetric
// activations), "-kv4" / "-kv8", "-g128" (group size for weights), "-mse" (MSE clip search for weights).
// Case-insensitive; the canonical name puts the suffixes in the order g, mse, static, asym, kv
// ("w4a4-KV4-g128" -> "W4A4-g128-kv4"). A text containing '=' is read field by field
// ("base=W4A4,a_bits=8,sites=q+k+v", see scheme_from_fields).
// Throws InputError naming the offending part, with a did-you-mean and the valid names.
Scheme parse_scheme(const std::string& text);

// A scheme given field by field (from a YAML mapping or --scheme key=value,...). Keys: name, base (a named
// scheme to start from), w_bits, w_granularity, w_symmetric, w_clip, a_bits, a_granularity, a_symmetric,
// a_clip, kv_bits, kv_granularity, p_bits, sites, lm_head, embeddings (also kv_symmetric, w_mse_grid, w_mse_min_clip).
// Bits: 0, 16 or 32 mean "off", else 2..8. Granularity: per_tensor | per_channel | per_token | group:G.
// Clip: a number in (0, 1], or "mse" (weights only). Sites: "all", "none" or names joined by '+' / ','
// / '|' / ' ' ("q+k+v"). Booleans: true/false/yes/no/1/0. `where` prefixes every error message
// (e.g. "suite.yaml:12:5: scheme"). Throws InputError on nonsense (3-bit asymmetric group:0 ...).
Scheme scheme_from_fields(const std::map<std::string, std::string>& fields, const std::string& where);

// Validates the combination; throws InputError with `where` as prefix.
void validate(const Scheme& s, const std::string& where);

// The canonical names the registry knows (for --help, did-you-mean and reports).
const std::vector<std::string>& named_schemes();

// One line for tables: "W4A4: weights int4 per_channel sym, activations int4 per_token sym, kv fp".
std::string describe(const Scheme& s);
std::string to_string(Granularity g);  // "per_tensor" | "per_channel" | "per_token" | "group"
std::string granularity_string(const QuantSpec& q);  // as to_string(Granularity) but "group:128" for groups

// Every field of the scheme as "key=value" joined by ',' in a fixed order (the keys of scheme_from_fields,
// sites joined by '+'): stable across runs, used for cache keys and result files; parses back with
// parse_scheme() to an equal scheme (name included).
std::string to_fields_string(const Scheme& s);

bool operator==(const QuantSpec& a, const QuantSpec& b);
inline bool operator!=(const QuantSpec& a, const QuantSpec& b) { return !(a == b); }
// Same quantization (every field except the name).
bool same_quantization(const Scheme& a, const Scheme& b);
// Same quantization and the same name.
bool operator==(const Scheme& a, const Scheme& b);
inline bool operator!=(const Scheme& a, const Scheme& b) { return !(a == b); }

}  // namespace qh
