#include "src/suite/plan.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <numeric>
#include <queue>

#include "models/config.h"
#include "models/data/data_spec.h"
#include "models/train/zoo.h"
#include "reports/metric_info.h"
#include "src/eval/windows.h"
#include "src/core/error.h"

namespace qh::suite {

std::string Shard::to_string() const { return std::to_string(index + 1) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  auto bad = [&]() { return InputError("--shard '" + text + "': expected I/N with 1 <= I <= N (e.g. 2/4)"); };
  if (slash == std::string::npos) throw bad();
  int i = 0, n = 0;
  try {
    size_t used = 0;
    i = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw bad();
    n = std::stoi(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  if (n < 1 || i < 1 || i > n) throw bad();
  return Shard{i - 1, n};
}

std::vector<PlannedCase> plan_cases(const SuiteSpec& suite) {
  std::vector<PlannedCase> out;
  int group = 0;
  for (size_t m = 0; m < suite.models.size(); ++m) {
    for (size_t d = 0; d < suite.data.size(); ++d) {
      for (size_t k = 0; k < suite.methods.size(); ++k) {
        for (size_t s = 0; s < suite.schemes.size(); ++s, ++group) {
          for (const auto& p : suite.protections) {
            out.push_back(PlannedCase{static_cast<int>(m), static_cast<int>(d), static_cast<int>(s), p, group, 0,
                                      static_cast<int>(k)});
          }
        }
      }
    }
  }
  return out;
}

namespace {

// What a forward pass of a model costs per token: 2 x the matmul weights (q, k, v, o, the gate of gated
// attention, the MLP and the LM head) plus the attention scores and weighted values over `context` keys.
struct ModelShape {
  double matmul_weights = 0;
  double attention_width = 0;  // layers x heads x head_dim
  int context = 0;
};

ModelShape shape_of(const ArchSpec& a) {
  const double d = a.d_model, q = double(a.num_heads) * a.head_dim, kv = double(a.num_kv_heads) * a.head_dim;
  double per_layer = d * q + 2 * d * kv + q * d;
  if (a.attn.kind == AttnKind::kGated) per_layer += a.attn.gate == GateKind::kPerHead ? d * a.num_heads : d * q;
  per_layer += (is_glu(a.mlp) ? 3.0 : 2.0) * d * a.d_ff;
  ModelShape s;
  s.matmul_weights = a.num_layers * per_layer + d * a.vocab_size;
  s.attention_width = a.num_layers * q;
  s.context = a.context;
  return s;
}

std::string resolve_data_path(const SuiteSpec& suite, const std::string& p) {
  const std::filesystem::path path(p);
  if (path.is_absolute() || suite.path.empty()) return p;
  const auto beside = std::filesystem::path(suite.path).parent_path() / path;
  return std::filesystem::exists(beside) ? beside.string() : p;
}

// Tokens a data spec holds and its sequence length (0: one flat stream), from the spec and the file's size
// without reading the file: the plan must stay cheap for large data.
struct DataSize {
  double tokens = 0;
  int64_t seq_len = 0;
};

DataSize data_size(const SuiteSpec& suite, const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  if (kind == "bb") {
    const data::BBSpec bb = data::parse_bb_spec(spec);
    return {double(bb.seqs) * bb.config.seq_len, bb.config.seq_len};
  }
  if (reports::is_task_data(spec)) {  // about a token per byte of the file (contexts repeat per choice)
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(spec.substr(colon + 1), ec);
    if (ec) throw InputError("task file " + spec.substr(colon + 1) + ": cannot read its size: " + ec.message());
    return {double(bytes), 0};
  }
  if ((kind != "tokens" && kind != "text" && kind != "jsonl") || colon == std::string::npos) {
    throw InputError("data '" + spec + "': expected bb:..., tokens:PATH, text:PATH or jsonl:PATH");
  }
  std::vector<std::string> fields;
  for (size_t from = colon + 1;;) {
    const size_t comma = spec.find(',', from);
    fields.push_back(spec.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  const std::string file = resolve_data_path(suite, fields[0]);
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(file, ec);
  if (ec) throw InputError("data '" + spec + "': cannot read the size of " + file + ": " + ec.message());
  double width = kind == "tokens" ? 4 : 1;  // bytes per token; .npy and unknown: 4 (an estimate is enough)
  if (kind == "tokens" && std::filesystem::path(file).extension() == ".u16") width = 2;
  DataSize out;
  for (size_t i = 1; i < fields.size(); ++i) {
    if (fields[i] == "dtype=u16") width = 2;
    if (fields[i] == "dtype=u32") width = 4;
    if (fields[i].rfind("len=", 0) == 0) out.seq_len = std::max<int64_t>(0, std::atoll(fields[i].c_str() + 4));
  }
  out.tokens = double(bytes) / width;
  return out;
}

// A full-precision pass scores every token once and costs about as much as each quantized case (the int8
// kernels are faster, the quantizers of activations slower). The audit is one more fp pass with observers
// attached, held to at most 1.5x a plain pass (`qharness bench audit` measures that ratio).
constexpr double kAuditPasses = 1.5;

}  // namespace

std::vector<PairCost> estimate_costs(const SuiteSpec& suite) {
  std::vector<train::ZooEntry> zoo;
  for (const auto& m : suite.models) {
    if (!m.zoo.empty()) {
      zoo = train::load_zoo(suite.zoo);
      break;
    }
  }
  std::vector<ModelShape> shapes;
  for (const auto& m : suite.models) {
    if (!m.zoo.empty()) {
      const train::TrainRecipe& r = train::find_zoo_entry(zoo, m.zoo, suite.zoo).recipe;
      const int vocab = r.task == "text" ? 257 : r.bb_vocab + 1;
      shapes.push_back(shape_of(train::recipe_arch(r, vocab, vocab - 1)));
    } else {
      shapes.push_back(shape_of(read_config((std::filesystem::path(m.path) / "config.json").string())));
    }
  }
  std::vector<DataSize> sizes;
  for (const auto& d : suite.data) sizes.push_back(data_size(suite, d));

  const EvalSettings& e = suite.eval;
  const bool calibrates = std::any_of(suite.protections.begin(), suite.protections.end(),
                                      [](const std::string& p) { return p == "channels" || p == "both"; });
  std::vector<PairCost> out;
  for (const ModelShape& m : shapes) {
    for (const DataSize& d : sizes) {
      const double seqs = d.seq_len > 0 ? d.tokens / double(d.seq_len) : 1.0;
      double tokens = d.tokens;
      if (e.max_sequences > 0 && d.seq_len > 0 && seqs > double(e.max_sequences)) {
        tokens = double(e.max_sequences) * double(d.seq_len);
      }
      const int64_t natural = d.seq_len > 0 ? std::min<int64_t>(d.seq_len, m.context) : m.context;
      const double window = e.window > 0 ? double(e.window) : double(std::max<int64_t>(1, natural));
      const eval::Protocol protocol = eval::parse_protocol(e.protocol);
      const double stride = e.stride > 0 ? double(e.stride) : double(protocol.stride);
      if (stride > 0 && stride < window) tokens *= window / stride;  // overlapping windows
      const double per_token = 2.0 * m.matmul_weights + 2.0 * m.attention_width * window;
      PairCost c;
      c.fp_pass = per_token * tokens / 1e9;
      c.per_case = c.fp_pass;
      c.shared = c.fp_pass;
      if (suite.audit) c.shared += kAuditPasses * c.fp_pass;
      if (calibrates) c.shared += c.fp_pass * std::min(1.0, double(e.outliers.calib_sequences) / std::max(1.0, seqs));
      out.push_back(c);
    }
  }
  return out;
}

namespace {

// How many of the largest units each round of the plan tries to split.
constexpr int kSplitCandidates = 8;

// A piece of work given to one shard: (method, scheme) slots [first, last) of a (model, data) pair.
struct Unit {
  int pair = 0, first = 0, last = 0;
  int64_t cost = 0;  // in MFLOP, an integer so that ties are decided alike on every machine
};

int64_t unit_cost(const PairCost& c, int schemes, size_t protections) {
  const double gflop = c.shared + c.per_case * double(schemes) * double(protections);
  return std::max<int64_t>(1, static_cast<int64_t>(gflop * 1000.0 + 0.5));
}

// Longest processing time first: largest unit to the least loaded shard; ties by plan order and lowest shard.
std::vector<int> assign(const std::vector<Unit>& units, int count, std::vector<int64_t>* loads) {
  std::vector<size_t> order(units.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return units[a].cost > units[b].cost; });
  loads->assign(count, 0);
  // (load, shard) with the least load (then the lowest shard) on top.
  std::priority_queue<std::pair<int64_t, int>, std::vector<std::pair<int64_t, int>>, std::greater<>> least;
  for (int s = 0; s < count; ++s) least.push({0, s});
  std::vector<int> shard(units.size(), 0);
  for (size_t u : order) {
    const auto [load, s] = least.top();
    least.pop();
    shard[u] = s;
    (*loads)[size_t(s)] = load + units[u].cost;
    least.push({(*loads)[size_t(s)], s});
  }
  return shard;
}

int64_t makespan(const std::vector<Unit>& units, int count) {
  std::vector<int64_t> loads;
  assign(units, count, &loads);
  return *std::max_element(loads.begin(), loads.end());
}

// `units` with unit u replaced by k pieces of near-equal scheme counts, in plan order.
std::vector<Unit> split(const std::vector<Unit>& units, size_t u, int k, const std::vector<PairCost>& costs,
                        size_t protections) {
  std::vector<Unit> out(units.begin(), units.begin() + static_cast<std::ptrdiff_t>(u));
  const Unit& whole = units[u];
  const int n = whole.last - whole.first;
  for (int i = 0; i < k; ++i) {
    Unit piece{whole.pair, whole.first + i * n / k, whole.first + (i + 1) * n / k, 0};
    piece.cost = unit_cost(costs[size_t(piece.pair)], piece.last - piece.first, protections);
    out.push_back(piece);
  }
  out.insert(out.end(), units.begin() + static_cast<std::ptrdiff_t>(u) + 1, units.end());
  return out;
}

}  // namespace

int ShardPlan::audit_shard(int model, int data) const {
  for (const auto& c : cases) {
    if (c.model == model && c.data == data) return c.shard;
  }
  return 0;
}

ShardPlan plan_shards(const SuiteSpec& suite, int count) {
  QH_CHECK(count >= 1);
  ShardPlan plan;
  plan.count = count;
  plan.cases = plan_cases(suite);
  const std::vector<PairCost> costs = estimate_costs(suite);
  const size_t protections = suite.protections.size();
  // A unit's "schemes" are (method, scheme) slots, method-major: slot = method * schemes + scheme.
  const int scheme_count = static_cast<int>(suite.schemes.size());
  const int schemes = static_cast<int>(suite.schemes.size() * suite.methods.size());
  std::vector<Unit> units;
  for (size_t p = 0; p < costs.size(); ++p) {
    units.push_back({static_cast<int>(p), 0, schemes, unit_cost(costs[p], schemes, protections)});
  }
  // Split the largest pair that can be split while that shortens the longest shard; every piece pays the
  // pair's shared cost again, so a pair stays whole unless splitting it is cheaper in wall time.
  int64_t best = makespan(units, count);
  for (bool improved = true; improved;) {
    improved = false;
    std::vector<size_t> by_cost(units.size());
    std::iota(by_cost.begin(), by_cost.end(), 0);
    std::stable_sort(by_cost.begin(), by_cost.end(),
                     [&](size_t a, size_t b) { return units[a].cost > units[b].cost; });
    // Only the largest splittable units are tried: they decide the longest shard, and this bounds the work.
    int tried = 0;
    for (size_t u : by_cost) {
      const int n = units[u].last - units[u].first;
      if (n < 2) continue;
      if (++tried > kSplitCandidates) break;
      std::vector<Unit> chosen;
      int64_t chosen_span = best;
      for (int k = 2; k <= std::min(n, count); ++k) {
        std::vector<Unit> candidate = split(units, u, k, costs, protections);
        const int64_t span = makespan(candidate, count);
        if (span < chosen_span) {
          chosen_span = span;
          chosen = std::move(candidate);
        }
      }
      if (!chosen.empty()) {
        units = std::move(chosen);
        best = chosen_span;
        improved = true;
        break;
      }
    }
  }
  std::vector<int64_t> loads;
  const std::vector<int> unit_shard = assign(units, count, &loads);
  plan.cost.assign(count, 0.0);
  plan.pieces.assign(costs.size(), 0);
  for (size_t u = 0; u < units.size(); ++u) {
    plan.cost[size_t(unit_shard[u])] += double(units[u].cost) / 1000.0;
    ++plan.pieces[size_t(units[u].pair)];
  }
  const int data_count = static_cast<int>(suite.data.size());
  for (auto& c : plan.cases) {
    const int pair = c.model * data_count + c.data;
    const int slot = c.method * scheme_count + c.scheme;
    for (size_t u = 0; u < units.size(); ++u) {
      if (units[u].pair == pair && slot >= units[u].first && slot < units[u].last) c.shard = unit_shard[u];
    }
  }
  return plan;
}

std::vector<PlannedCase> shard_cases(const SuiteSpec& suite, const Shard& shard) {
  if (shard.all()) return plan_cases(suite);
  std::vector<PlannedCase> out;
  for (const auto& c : plan_shards(suite, shard.count).cases) {
    if (c.shard == shard.index) out.push_back(c);
  }
  return out;
}

std::string format_plan(const SuiteSpec& suite, const ShardPlan& plan) {
  const std::vector<PairCost> costs = estimate_costs(suite);
  std::string out = fmt::format("plan of suite '{}': {} cases in {} shard(s); cost in estimated GFLOP\n",
                                suite.name, plan.cases.size(), plan.count);
  out += fmt::format("{:>5}  {:>10}  {}\n", "shard", "GFLOP", "model | data | scheme: protections");
  const size_t protections = suite.protections.size();
  for (size_t i = 0; i < plan.cases.size(); i += protections) {
    const PlannedCase& c = plan.cases[i];
    const size_t pair = size_t(c.model) * suite.data.size() + size_t(c.data);
    std::string prots;
    for (size_t k = 0; k < protections; ++k) prots += (k ? "," : "") + plan.cases[i + k].protection;
    out += fmt::format("{:>5}  {:>10.4g}  {} | {} | {}: {}\n", Shard{c.shard, plan.count}.to_string(),
                       costs[pair].per_case * double(protections), suite.models[size_t(c.model)].name,
                       suite.data[size_t(c.data)], suite.schemes[size_t(c.scheme)].label, prots);
  }
  for (size_t p = 0; p < plan.pieces.size(); ++p) {
    const size_t m = p / suite.data.size(), d = p % suite.data.size();
    out += fmt::format("shared by {} | {}: {:.4g} GFLOP (fp pass{}), paid in {} shard(s)\n", suite.models[m].name,
                       suite.data[d], costs[p].shared, suite.audit ? " and audit" : "", plan.pieces[p]);
  }
  const double total = std::accumulate(plan.cost.begin(), plan.cost.end(), 0.0);
  for (int s = 0; s < plan.count; ++s) {
    out += fmt::format("shard {}: {:.4g} GFLOP ({:.0f}% of the total)\n", Shard{s, plan.count}.to_string(),
                       plan.cost[size_t(s)], total > 0 ? 100.0 * plan.cost[size_t(s)] / total : 0.0);
  }
  return out;
}

}  // namespace qh::suite
