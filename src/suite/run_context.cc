#include "src/suite/run_context.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "models/config.h"
#include "models/data/data_spec.h"
#include "reports/metric_info.h"
#include "src/core/atomic_file.h"
#include "src/core/content_hash.h"
#include "src/core/error.h"

namespace qh::suite {

namespace {

// The evaluation settings as they enter every cache key. tau_c is printed at the float precision the suite
// reads it with, which keeps the keys of earlier runs valid.
std::string eval_settings_text(const EvalSettings& e) {
  const engine::OutlierSettings& o = e.outliers;
  std::string text = fmt::format("window={},stride={},max_sequences={},calib={},tau_t={},top_k={},tau_c={}", e.window,
                                 e.stride, e.max_sequences, o.calib_sequences, o.tau_tokens, o.top_k_channels,
                                 static_cast<float>(o.tau_channels));
  if (e.protocol != "windows") text += ",protocol=" + e.protocol;  // keeps the keys of earlier runs valid
  return text;
}

// The reports and the case cache go to out_dir: a directory that cannot be written is bad input, found before
// any training or evaluation rather than after.
void check_output_dir(const std::string& out_dir) {
  const std::string probe = out_dir + "/.cache/.writable." + std::to_string(::getpid());
  try {
    make_dirs(out_dir + "/.cache");
    write_file_atomic(probe, "");
  } catch (const InputError& e) {
    throw InputError("--out " + out_dir + ": the output directory is not writable: " + e.what());
  }
  std::error_code ec;
  std::filesystem::remove(probe, ec);
}

}  // namespace

std::string method_calibration_spec(const SuiteSpec& suite, const std::string& data) {
  if (!suite.method_calibration.data.empty()) return suite.method_calibration.data;
  if (data.rfind("bb:", 0) == 0 || data == "bb") {
    data::BBSpec bb = data::parse_bb_spec(data);
    bb.seed += 2000003;
    return data::format_bb_spec(bb);
  }
  throw InputError("data " + data + ": the suite's methods need method_calibration.data");
}

RunContext::RunContext(const SuiteSpec& s, const RunOptions& o)
    : suite(s), options(o), planned(shard_cases(s, o.shard)), cache(o.out_dir + "/.cache") {
  check_output_dir(o.out_dir);
  zoo_options_.cache_dir = o.zoo_cache_dir;
  zoo_options_.jobs = o.jobs;
  zoo_options_.quiet = o.quiet;
  if (o.worker) worker_plan_ = plan_shards(s, o.shard.count);
  const bool need_zoo = std::any_of(s.models.begin(), s.models.end(), [](const ModelRef& m) { return !m.zoo.empty(); });
  if (need_zoo) zoo_ = train::load_zoo(s.zoo);
  slots.resize(s.models.size());
  for (size_t i = 0; i < s.models.size(); ++i) {
    ModelSlot& slot = slots[i];
    slot.ref = &s.models[i];
    // A problem with a model is reported at the suite line that names it.
    try {
      if (!slot.ref->zoo.empty()) {
        slot.zoo = &train::find_zoo_entry(zoo_, slot.ref->zoo, s.zoo);
        slot.checkpoint = train::zoo_checkpoint_dir(*slot.zoo, zoo_options_);
        slot.arch = train::recipe_arch(slot.zoo->recipe, 257, 256);  // the shape; the vocabulary is the task's
      } else {
        slot.checkpoint = slot.ref->path;
        std::error_code ec;
        if (!std::filesystem::is_directory(slot.checkpoint, ec))
          throw InputError("checkpoint '" + slot.checkpoint + "' is not a directory");
        slot.arch = read_config(slot.checkpoint + "/config.json");
      }
    } catch (const InputError& e) {
      throw InputError(slot.ref->where + ": model '" + slot.ref->name + "': " + e.what());
    }
  }
  check_shapes();
  refresh_identities();
  // The data files' content, hashed once per run (a token file changed in place recomputes its cases).
  for (size_t d = 0; d < s.data.size(); ++d) data_ids_.push_back(data_identity(s.data_spec(d)));
  settings_ = eval_settings_text(s.eval);
}

// What would otherwise fail only after training and evaluation: a window longer than a model's context, a
// group size that does not divide a quantized width.
void RunContext::check_shapes() const {
  for (const ModelSlot& slot : slots) {
    const ArchSpec& a = slot.arch;
    if (suite.eval.window > a.context) {
      throw InputError(fmt::format("{}: eval.window: {} is longer than the context of model '{}' ({} tokens)",
                                   suite.eval.window_where.empty() ? suite.path : suite.eval.window_where,
                                   suite.eval.window, slot.ref->name, a.context));
    }
    const int64_t widths[] = {a.d_model, int64_t{a.num_heads} * a.head_dim, a.d_ff};
    for (const SchemeRef& sc : suite.schemes) {
      const std::pair<const char*, const QuantSpec*> specs[] = {{"weight", &sc.scheme.weights},
                                                                 {"activation", &sc.scheme.activations}};
      for (const auto& [what, q] : specs) {
        if (!q->enabled() || q->granularity != Granularity::kGroup) continue;
        for (int64_t k : widths) {
          if (q->group_size > 0 && k % q->group_size == 0) continue;
          throw InputError(fmt::format("{}: scheme '{}': {} group size {} does not divide the input width {} of "
                                       "model '{}' (d_model {}, heads x head_dim {}, d_ff {})",
                                       sc.where, sc.label, what, q->group_size, k, slot.ref->name, widths[0],
                                       widths[1], widths[2]));
        }
      }
      const QuantSpec& kv = sc.scheme.kv;
      if (kv.enabled() && kv.granularity == Granularity::kGroup && (kv.group_size <= 0 || a.head_dim % kv.group_size))
        throw InputError(fmt::format("{}: scheme '{}': kv group size {} does not divide head_dim {} of model '{}'",
                                     sc.where, sc.label, kv.group_size, a.head_dim, slot.ref->name));
    }
  }
}

// A checkpoint is known by the content of its files, so a zoo model retrained into the same folder or a
// checkpoint overwritten in place is evaluated again. A zoo model not trained yet has no identity: none of
// its cases can be cached.
void RunContext::refresh_identities() {
  for (ModelSlot& slot : slots) {
    slot.identity.clear();
    if (slot.zoo && !train::zoo_checkpoint_complete(slot.checkpoint)) continue;
    slot.identity = checkpoint_identity(slot.checkpoint);
  }
}

bool RunContext::owns_audit(int model, int data) const {
  return !options.worker || worker_plan_.audit_shard(model, data) == options.shard.index;
}

bool RunContext::wants_audit(int data) const { return suite.audit && !reports::is_task_data(suite.data[data]); }

std::string RunContext::case_key(const PlannedCase& p) const {
  if (slots[p.model].identity.empty()) return "";
  // rtn keeps the key it had before methods existed; a method adds its full parameters and the identity
  // (spec and file contents) of its calibration data.
  const methods::MethodSpec& m = suite.methods[p.method].method;
  std::string method;
  if (!m.is_rtn()) {
    method = "\nmethod " + m.name();
    if (m.needs_calibration())
      method += "\ncalibration " + data_identity(method_calibration_spec(suite, suite.data_spec(p.data))) + " x" +
                std::to_string(suite.method_calibration.sequences);
  }
  return text_hash(harness_identity() + "\n" + slots[p.model].identity + "\n" + data_ids_[p.data] + "\n" +
                     to_fields_string(suite.schemes[p.scheme].scheme) + "\n" + p.protection + "\n" + settings_ +
                     method);
}

std::string RunContext::audit_key(int model, int data) const {
  if (slots[model].identity.empty()) return "";
  return text_hash(harness_identity() + "\n" + slots[model].identity + "\n" + data_ids_[data] + "\naudit\n" +
                     settings_);
}

std::optional<reports::CaseResult> RunContext::load_case(size_t i) const {
  const std::string key = case_key(planned[i]);
  return key.empty() ? std::nullopt : cache.load(key);
}

std::optional<AuditRecord> RunContext::load_audit(int model, int data) const {
  const std::string key = audit_key(model, data);
  return key.empty() ? std::nullopt : cache.load_audit(key);
}

void RunContext::ensure_models() {
  std::vector<train::ZooEntry> to_train;
  auto want = [&](int model) {
    const train::ZooEntry* e = slots[model].zoo;
    if (!e || !slots[model].identity.empty()) return;  // not a zoo model, or trained already
    for (const auto& t : to_train)
      if (t.name == e->name) return;
    to_train.push_back(*e);
  };
  for (size_t i = 0; i < planned.size(); ++i) {
    const PlannedCase& p = planned[i];
    if (!load_case(i)) want(p.model);  // load, not exists: a damaged entry is recomputed
    if (wants_audit(p.data) && owns_audit(p.model, p.data) && !load_audit(p.model, p.data)) want(p.model);
  }
  if (to_train.empty()) return;
  if (!options.quiet) std::fprintf(stderr, "run: preparing %zu zoo model(s)\n", to_train.size());
  train::ensure_zoo_models(to_train, zoo_options_);
  refresh_identities();
}

std::vector<EvalGroup> RunContext::groups_to_evaluate() const {
  std::vector<EvalGroup> groups;
  for (size_t m = 0; m < suite.models.size(); ++m) {
    for (size_t d = 0; d < suite.data.size(); ++d) {
      EvalGroup g;
      g.model = static_cast<int>(m);
      g.data = static_cast<int>(d);
      bool planned_here = false;
      for (size_t i = 0; i < planned.size(); ++i) {
        if (planned[i].model != g.model || planned[i].data != g.data) continue;
        planned_here = true;
        if (!load_case(i)) g.cases.push_back(i);
      }
      g.audit = planned_here && wants_audit(g.data) && owns_audit(g.model, g.data) && !load_audit(g.model, g.data);
      if (!g.cases.empty() || g.audit) groups.push_back(std::move(g));
    }
  }
  return groups;
}

}  // namespace qh::suite
