// Parsing and naming of post-training methods; see method.h.
#include "src/methods/method.h"

#include <cmath>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "src/core/error.h"

namespace qh::methods {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

double to_number(const std::string& v, const std::string& where) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x)) throw InputError(where + ": expected a number, got '" + v + "'");
  return x;
}

int64_t to_int(const std::string& v, const std::string& where) {
  const double x = to_number(v, where);
  if (x != std::floor(x) || x < 0 || x > 1e12) throw InputError(where + ": expected a whole number >= 0, got '" + v + "'");
  return static_cast<int64_t>(x);
}

bool to_bool(const std::string& v, const std::string& where) {
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  throw InputError(where + ": expected 0/1/true/false, got '" + v + "'");
}

std::string num(double v) { return fmt::format("{}", v); }

}  // namespace

std::string MethodSpec::name() const {
  std::vector<std::string> parts;
  if (smoothquant) parts.push_back("smoothquant:alpha=" + num(alpha));
  if (rotate != RotationKind::kNone)
    parts.push_back(std::string("rotate:kind=") + (rotate == RotationKind::kRandom ? "random" : "hadamard") +
                    ",seed=" + std::to_string(seed));
  if (gptq)
    parts.push_back("gptq:damp=" + num(damp) + ",act_order=" + (act_order ? "1" : "0") +
                    ",block=" + std::to_string(block) + ",group=" + std::to_string(group));
  if (parts.empty()) return "rtn";
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out += "+" + parts[i];
  return out;
}

std::string MethodSpec::label() const {
  const MethodSpec d;
  std::vector<std::string> parts;
  if (smoothquant) parts.push_back(alpha == d.alpha ? "smoothquant" : "smoothquant:alpha=" + num(alpha));
  if (rotate != RotationKind::kNone) {
    std::vector<std::string> kv;
    if (rotate == RotationKind::kRandom) kv.push_back("kind=random");
    if (seed != d.seed) kv.push_back("seed=" + std::to_string(seed));
    std::string s = "rotate";
    for (size_t i = 0; i < kv.size(); ++i) s += (i ? "," : ":") + kv[i];
    parts.push_back(s);
  }
  if (gptq) {
    std::vector<std::string> kv;
    if (damp != d.damp) kv.push_back("damp=" + num(damp));
    if (act_order) kv.push_back("act_order=1");
    if (block != d.block) kv.push_back("block=" + std::to_string(block));
    if (group != d.group) kv.push_back("group=" + std::to_string(group));
    std::string s = "gptq";
    for (size_t i = 0; i < kv.size(); ++i) s += (i ? "," : ":") + kv[i];
    parts.push_back(s);
  }
  if (parts.empty()) return "rtn";
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out += "+" + parts[i];
  return out;
}

MethodSpec parse_method(const std::string& text, const std::string& where) {
  MethodSpec m;
  if (text.empty()) throw InputError(where + ": empty method (expected rtn, smoothquant, rotate, gptq or rotate+gptq)");
  bool seen_rtn = false;
  for (const std::string& comp : split(text, '+')) {
    std::string name = comp, params;
    const size_t colon = comp.find(':');
    if (colon != std::string::npos) {
      name = comp.substr(0, colon);
      params = comp.substr(colon + 1);
    }
    if (name == "rotate=random") {  // shorthand for rotate:kind=random
      name = "rotate";
      params = params.empty() ? "kind=random" : "kind=random," + params;
    }
    const std::string at = where + " '" + text + "': " + name;
    std::map<std::string, std::string> kv;
    if (!params.empty())
      for (const std::string& p : split(params, ',')) {
        const size_t eq = p.find('=');
        if (eq == std::string::npos || eq == 0) throw InputError(at + ": expected key=value, got '" + p + "'");
        if (!kv.emplace(p.substr(0, eq), p.substr(eq + 1)).second)
          throw InputError(at + ": key '" + p.substr(0, eq) + "' given twice");
      }
    auto unknown = [&](const char* valid) {
      for (const auto& [k, v] : kv) throw InputError(at + ": unknown parameter '" + k + "' (valid: " + valid + ")");
    };
    if (name == "rtn") {
      unknown("none");
      seen_rtn = true;
    } else if (name == "smoothquant") {
      if (m.smoothquant) throw InputError(at + ": given twice");
      m.smoothquant = true;
      if (kv.count("alpha")) m.alpha = to_number(kv["alpha"], at + " alpha");
      kv.erase("alpha");
      unknown("alpha");
      if (m.alpha < 0 || m.alpha > 1) throw InputError(at + ": alpha must be in [0, 1]");
    } else if (name == "rotate") {
      if (m.rotate != RotationKind::kNone) throw InputError(at + ": given twice");
      m.rotate = RotationKind::kHadamard;
      if (kv.count("kind")) {
        if (kv["kind"] == "random") m.rotate = RotationKind::kRandom;
        else if (kv["kind"] != "hadamard") throw InputError(at + ": kind must be hadamard or random, got '" + kv["kind"] + "'");
      }
      if (kv.count("seed")) m.seed = static_cast<uint64_t>(to_int(kv["seed"], at + " seed"));
      kv.erase("kind");
      kv.erase("seed");
      unknown("kind, seed");
    } else if (name == "gptq") {
      if (m.gptq) throw InputError(at + ": given twice");
      m.gptq = true;
      if (kv.count("damp")) m.damp = to_number(kv["damp"], at + " damp");
      if (kv.count("act_order")) m.act_order = to_bool(kv["act_order"], at + " act_order");
      if (kv.count("block")) m.block = to_int(kv["block"], at + " block");
      if (kv.count("group")) m.group = to_int(kv["group"], at + " group");
      for (const char* k : {"damp", "act_order", "block", "group"}) kv.erase(k);
      unknown("damp, act_order, block, group");
      if (m.damp <= 0 || m.damp > 1) throw InputError(at + ": damp must be in (0, 1]");
      if (m.block < 1) throw InputError(at + ": block must be at least 1");
    } else {
      throw InputError(at + ": unknown method (expected rtn, smoothquant, rotate, gptq, or a '+' combination "
                            "such as rotate+gptq)");
    }
  }
  if (seen_rtn && !m.is_rtn()) throw InputError(where + " '" + text + "': rtn combines with nothing");
  if (m.smoothquant && m.rotate != RotationKind::kNone)
    throw InputError(where + " '" + text + "': smoothquant+rotate is not a method here (the rotation already "
                     "spreads the outlier channels that smoothing would move into the weights)");
  return m;
}

bool operator==(const MethodSpec& a, const MethodSpec& b) { return a.name() == b.name(); }

}  // namespace qh::methods
