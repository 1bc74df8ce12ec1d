// The evaluator (ARCHITECTURE.md 2.1): runs a model over a dataset in windows of its context, computes the full-precision
// pass once per window and shares it with every case (scheme + protection), and streams the scored rows into
// one qh::eval::MetricsAccumulator per case.
//
// Windows: a sequence longer than the window is cut into windows by the perplexity protocol (windows.h:
// non-overlapping, Hugging Face's strided, llama.cpp's half); positions restart at 0 in each window. Row t of a
// window predicts token t+1 of the sequence. Position classes: kFirst for sequence position 0, kSink for sink
// tokens (EvalOptions::outliers.tau_tokens, in the fp pass), kRest otherwise.
// Calibration (static activation scales, outlier channels) uses the first window of each of the first
// outliers.calib_sequences sequences (engine::calibrate).
// A case's post-training method (src/methods) is applied once per method to a copy of the model, from its own
// calibration data (EvalOptions::method_data, never the evaluated sequences); the fp reference stays the
// original model's.
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
#include "src/engine/engine.h"
#include "src/engine/memory_estimate.h"
#include "src/eval/metrics.h"
#include "src/eval/windows.h"
#include "src/methods/method.h"

namespace qh::eval {

struct EvalCase {
  std::string label;  // shown in tables; default "<scheme>" or "<scheme>+<protection>", then " [<method>]"
  Scheme scheme;
  engine::Protection protection;  // which parts stay in fp; its thresholds are EvalOptions::outliers
  methods::MethodSpec method;  // post-training method (src/methods); default rtn
};

struct EvalOptions {
  int64_t window = 0;          // 0: min(model context, longest sequence)
  int64_t stride = 0;          // > 0: shorthand for the protocol strided:stride
  Protocol protocol;           // how windows are cut and scored (windows.h)
  int32_t bos = -1;            // the tokenizer's BOS (>= 0), put first in every window by the half protocol
  engine::OutlierSettings outliers;  // sink tokens, protected channels, calibration data
  int64_t max_sequences = 0;   // 0: all
  bool force_fake_quant = false;
  // Calibration data of the post-training methods (smoothquant, gptq), kept apart from the evaluated data:
  // the first method_sequences sequences, each cut to the window. Required when a case's method needs it.
  const data::Dataset* method_data = nullptr;
  int method_sequences = 32;
  // Where the methods' calibration statistics are cached (src/methods/cache.h); empty: no cache.
  std::string method_cache_dir;
  std::function<void(int64_t done, int64_t total)> progress;  // called after each window
  // Bytes the evaluation may use in all (0: what the machine has available besides the loaded model); the
  // estimate of src/engine/memory_estimate.h is checked against it before any engine is built.
  uint64_t max_memory = 0;
};

struct CaseResult {
  std::string label;
  std::string scheme;        // canonical scheme name
  std::string scheme_desc;   // describe(scheme)
  std::string protection;    // "none" | "tokens" | "channels" | "both"
  std::string method;        // short method label ("rtn", "rotate+gptq", "smoothquant:alpha=0.8")
  std::string method_desc;   // canonical method with every parameter (MethodSpec::name())
  std::vector<std::string> method_notes;  // what the method left out on this model, and why
  double method_seconds = 0;  // one-time cost: transforms, calibration passes, Hessians, GPTQ of this scheme
  EvalMetrics metrics;
  std::array<double, kNumSites> site_sqnr_db{};  // activation SQNR per site over all layers (inf: unquantized)
  double sqnr_db = 0;        // over all sites
  std::array<std::string, kNumSites> site_path{};  // "fp" | "integer" | "fake"
  std::string int8_impl;     // oneDNN implementation of the integer matmuls ("" when none ran)
  double seconds = 0;        // forward time of this case, summed over windows (over threads when window-parallel)
  nlohmann::json to_json() const;
};

struct EvalReport {
  std::vector<CaseResult> cases;
  int64_t windows = 0, scored_tokens = 0;
  int64_t window = 0, stride = 0;
  std::string protocol;  // Protocol::name() of the protocol used
  double fp_seconds = 0;
  std::string f32_impl;
};

// Memory of evaluating `cases` on a model of `spec` at `window` tokens: the fp engine plus one engine per case
// alive at once, one f32 model plus one per post-training method that transforms the weights, the forward scratch
// once per forward running at once (`forwards`: the window-parallel threads, else 1).
engine::MemoryEstimate estimate_eval_memory(const ArchSpec& spec, const std::vector<EvalCase>& cases, int64_t window,
                                            int forwards = 1);

// Throws InputError on bad input (window > context, empty dataset, ids outside the vocabulary).
EvalReport evaluate_report(const qh::Model& model, const data::Dataset& data, const std::vector<EvalCase>& cases,
                           const EvalOptions& options);
// The contract form: just the case results.
std::vector<CaseResult> evaluate(const qh::Model& model, const data::Dataset& data,
                                 const std::vector<EvalCase>& cases, const EvalOptions& options);

}  // namespace qh::eval
