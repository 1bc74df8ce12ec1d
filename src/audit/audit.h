// The per-layer outlier audit (ARCHITECTURE.md 1.1, 1.2, 1.6, 1.7; issue "audit"): statistics of one full-precision pass
// per layer / head / site, and under each scheme: per-site SQNR, per-head attention KL and sink_mass drift, the
// 2x2 protection attribution, per-layer and per-site sensitivity. Results are plain structs that the suites
// and reports put into their files; to_json() uses the ARCHITECTURE.md 2.7 names.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/data/data_spec.h"
#include "models/model.h"
#include "quant/scheme.h"
#include "src/audit/attribution.h"
#include "src/engine/engine.h"
#include "src/engine/memory_estimate.h"
#include "src/eval/metrics.h"

namespace qh::audit {

struct AuditOptions {
  int64_t window = 0;              // 0: min(model context, longest sequence); windows do not overlap
  int64_t max_sequences = 0;       // 0: all
  double dormant_threshold = 0.89; // a query is dormant when >= this much attention goes to key 0
  // The dormant profile's split of the queries (query_split.h): token ids of class 1 (any data), else BB
  // trigger vs non-trigger, else window positions 1..early_positions vs the rest.
  std::vector<int32_t> query_class;
  int64_t early_positions = 16;
  // Outlier channels the audit lists (sites and weights): chan_max >= report_tau_channels x median chan_max.
  // A report rule only; the channels protection C keeps follow outliers.top_k_channels / tau_channels.
  double report_tau_channels = 20.0;
  double tau_persistence = 5.0;    // persistence: |x[i][c]| >= tau_persistence x median_j |x[i][j]|
  engine::OutlierSettings outliers;  // sink tokens, protected channels, calibration data (shared with eval)
  int64_t attention_rows = 64;     // fp attention rows kept per head and window for the attention KL
  bool attribution = true;         // the 2x2 protection design per scheme
  bool layer_sensitivity = true;   // quantize one layer at a time (linear sites of that layer only)
  bool site_sensitivity = true;    // quantize one site kind at a time
  std::function<void(int64_t done, int64_t total)> progress;  // after each window
};

struct MassiveEntry {
  int64_t sequence = 0, position = 0, channel = 0;
  float value = 0;
  double ratio = 0;  // |value| / median |x| of that window's residual
};

struct LayerStats {  // the residual stream after block `layer` (-1: embeddings)
  int layer = 0;
  double residual_peak = 0;     // mean over windows of ||h_0|| / median_{i>=1} ||h_i||
  double sink_norm = 0;         // mean over windows of ||h_0||
  double median_norm = 0;       // mean over windows of median_{i>=1} ||h_i||
  double kurtosis = 0;          // mean over tokens
  double max_abs = 0;
  std::vector<MassiveEntry> massive;  // top-3 |x| over all windows
};

inline constexpr float kGateClosed = 0.05f;

struct HeadStats {
  int layer = 0, head = 0;
  double sink_mass = 0;          // mean over queries i >= 1 (all windows) of A[i][0]
  int64_t sink_key = 0;          // key with the largest mean attention (window positions)
  double sink_key_mass = 0;      // its mean attention
  double dormant_frac = 0;       // share of queries i >= 1 with A[i][0] >= threshold
  double dormant_frac_domain[2] = {0, 0};  // by query domain (AuditResult::dormant_labels; BB: non-trigger, trigger)
  int64_t domain_queries[2] = {0, 0};
  double value_drain = 0;        // mean over windows
  double virtual_sink_mass = -1; // sink variant: mean mass on the learnable sink; -1 otherwise
  // Gated variant: mean of the gate sigmoid(x W_g) over tokens and the head's gate channels, and the share of
  // gate values below kGateClosed (an almost closed gate: the head's output is suppressed); -1 otherwise.
  double gate_mean = -1, gate_closed_frac = -1;
};

struct SiteStats {  // the input of one linear site kind of one layer (q stands for q/k/v, up for gate/up)
  int layer = 0;
  Site site = Site::kQ;
  double kurtosis = 0, max_abs = 0;
  std::vector<int> outlier_channels;     // report_tau_channels rule, by descending chan_max
  std::vector<float> outlier_chan_max;   // their chan_max
  std::vector<double> outlier_persistence;
  std::vector<int> top_channels;         // what protection C keeps (AuditOptions::outliers' rule), ascending
  double chan_max_median = 0;
};

struct WeightStats {  // one weight matrix [out, in]
  int layer = 0;
  Site site = Site::kQ;
  double max_abs = 0;
  double kurtosis = 0;                   // qh::weight_kurtosis (models/weight_stats.h), as `inspect` reports it
  double max_to_median = 0;              // max |w| / median |w|
  std::vector<int> outlier_in_channels;  // input columns with max |w| >= report_tau_channels x median column max
};

struct SchemeAudit {
  std::string scheme;  // canonical name
  eval::EvalMetrics metrics;  // no protection
  std::vector<std::array<double, kNumSites>> site_sqnr_db;  // [layer][site], +inf when not quantized
  std::array<double, kNumSites> site_sqnr_total{};          // over all layers
  std::vector<std::vector<double>> attn_kl;          // [layer][head] mean KL(fp row || quant row) of the kept rows
  std::vector<std::vector<double>> sink_mass_quant;  // [layer][head]; drift = this - fp sink_mass
  // Attribution (empty labels when not run): D(S) for S in {none, tokens, channels, both}.
  bool has_attribution = false;
  std::array<eval::EvalMetrics, 4> protected_metrics;  // none, tokens, channels, both
  Shapley kld, delta_ppl, excess_risk;                  // excess_risk only on BB data
  // Sensitivity: degradation when only that layer / site kind is quantized.
  std::vector<double> layer_kld, layer_delta_ppl;       // [layer]; empty when not run
  std::array<double, kNumSites> site_kld{}, site_delta_ppl{};
  bool has_site_sensitivity = false;
};

// What the audit's big buffers held when it finished, read from the buffers themselves: the bytes the engines
// derived from the weights (Engine::weight_bytes_held), the statistics (the observers, the fp attention rows,
// the calibration, the per-token values of every case's accumulator) and the logits (fp, BB oracle, one
// quantized buffer per thread running cases). The memory estimate is tested against it.
struct AuditHeld {
  uint64_t engine_weights = 0, statistics = 0, logits = 0;
};

struct AuditResult {
  std::string data_spec;
  std::string architecture, attention, norm, mlp, positions;
  int num_layers = 0, num_heads = 0, d_model = 0;
  int64_t windows = 0, tokens = 0, window = 0;
  eval::EvalMetrics fp;  // fp-only metrics (ppl_fp, BB risks of the fp model)
  std::vector<LayerStats> layers;   // embeddings (-1) then 0..L-1
  std::vector<HeadStats> heads;     // layer-major
  std::vector<SiteStats> sites;
  std::vector<WeightStats> weights;
  std::vector<SchemeAudit> schemes;
  // The split of the dormant profile: "bb_trigger" | "token_class" | "position", and the names of domain 0 / 1.
  std::string dormant_split = "position";
  std::array<std::string, 2> dormant_labels = {"late_positions", "early_positions"};
  AuditOptions options;
  // Wall time of the observed fp pass (statistics, attention rows, sink tokens) and of the whole audit. The
  // overhead against a plain fp pass is measured by `qharness bench audit`: the audit runs no extra pass.
  double stats_seconds = 0, total_seconds = 0;
  AuditHeld held;  // not written to audit.json: it describes this process, not the model
  nlohmann::json to_json() const;
};

// The sizes of an audit that depend on its data: the window (AuditOptions::window, else the model's context
// or the longest sequence, whichever is shorter), the tokens every case scores (each position but the last of
// each audited sequence) and whether the data is BB (an oracle distribution per position).
struct AuditExtent {
  int64_t window = 1;
  int64_t scored_tokens = 0;
  bool bb = false;
};
AuditExtent audit_extent(const ArchSpec& spec, const data::Dataset& data, const AuditOptions& options);

// What run_audit will hold at once, from config.json alone (ARCHITECTURE.md 2.4): the f32 model; the engines it
// builds (the fp engine and, per scheme, the scheme, its three protections, one engine per layer and one per
// site kind for the sensitivities) with what each derives from the weights; the forward scratch and logits of
// as many forwards as run at once (a window's cases spread over `threads`, <= 0: OpenMP's count), the fp
// logits and the BB oracle; and the statistics: per head the per-key sums and the kept fp attention rows, the
// value-drain factors, per tracked site the channel maxima and persistence counts, the calibration, and the
// per-token values of every case's accumulator.
engine::MemoryEstimate estimate_audit_memory(const ArchSpec& spec, const std::vector<Scheme>& schemes,
                                             const AuditOptions& options, const AuditExtent& extent,
                                             int threads = 0);

// Runs the audit. Throws InputError on bad input (empty data, ids outside the vocabulary, window too long).
AuditResult run_audit(const qh::Model& model, const data::Dataset& data, const std::vector<Scheme>& schemes,
                      const AuditOptions& options);

// Weight statistics of every linear of the model (no data needed).
std::vector<WeightStats> weight_stats(const qh::Model& model, double report_tau_channels);

}  // namespace qh::audit
