#include "src/suite/runner.h"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <hwy/highway.h>
#include <algorithm>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>

#include "models/checkpoint.h"
#include "models/config.h"
#include "models/data/data_spec.h"
#include "models/train/zoo.h"
#include "src/core/atomic_file.h"
#include "src/core/error.h"
#include "src/core/limits.h"
#include "src/audit/audit.h"
#include "src/core/version.h"
#include "src/eval/evaluator.h"
#include "src/suite/case_cache.h"
#include "src/suite/convert.h"
#include "src/suite/verdicts.h"
#include "src/tasks/checkpoint_tokenizer.h"
#include "src/tasks/layouts.h"
#include "src/tasks/task_eval.h"
#include "reports/metric_info.h"

namespace qh::suite {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string eval_settings_text(const EvalSettings& e) {
  std::string text = fmt::format("window={},stride={},max_sequences={},calib={},tau_t={},top_k={},tau_c={}", e.window,
                                 e.stride, e.max_sequences, e.calib_sequences, e.tau_tokens, e.top_k_channels,
                                 e.tau_channels);
  if (e.protocol != "windows") text += ",protocol=" + e.protocol;  // keeps the keys of earlier runs valid
  return text;
}

// The suite's outlier rules, the same for its evaluations, its audits and its protections.
engine::OutlierSettings outlier_settings(const EvalSettings& e) {
  engine::OutlierSettings o;
  o.tau_tokens = e.tau_tokens;
  o.top_k_channels = e.top_k_channels;
  o.tau_channels = e.tau_channels;
  o.calib_sequences = e.calib_sequences;
  return o;
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

// The methods' calibration data for evaluated data `data`: the suite's method_calibration.data, or for BB data
// the same task with another sampling seed (+2000003; the zoo trains and evaluates on other seeds).
std::string method_calibration_spec(const SuiteSpec& suite, const std::string& data) {
  if (!suite.method_calibration.data.empty()) return suite.method_calibration.data;
  if (data.rfind("bb:", 0) == 0 || data == "bb") {
    data::BBSpec bb = data::parse_bb_spec(data);
    bb.seed += 2000003;
    return data::format_bb_spec(bb);
  }
  throw InputError("data " + data + ": the suite's methods need method_calibration.data");
}

// Everything one model needs: its label, where its checkpoint is (or will be), and its cache identity.
struct ModelSlot {
  const ModelRef* ref = nullptr;
  const train::ZooEntry* zoo = nullptr;
  std::string checkpoint;
  std::string identity;  // checkpoint_identity, or "" while a zoo model is not trained
  ArchSpec arch;         // its shape (from config.json, or the zoo recipe before training)
};

}  // namespace

reports::Environment current_environment(int threads) {
  reports::Environment env;
  env.git_revision = git_revision();
  env.cpu = cpu_model();
  env.threads = threads > 0 ? threads : omp_get_max_threads();
  const dnnl_version_t* v = dnnl_version();
  env.versions["onednn"] = fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
  env.versions["highway"] = fmt::format("{}.{}", HWY_MAJOR, HWY_MINOR);
  env.versions["fmt"] = fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  env.versions["nlohmann_json"] = fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                              NLOHMANN_JSON_VERSION_PATCH);
  env.versions["openmp"] = std::to_string(_OPENMP);  // the spec date, e.g. 201511 for OpenMP 4.5
  env.versions["compiler"] = __VERSION__;
  return env;
}

void sort_cases_by_plan(const SuiteSpec& suite, reports::Results* results) {
  std::map<std::string, size_t> order;
  size_t i = 0;
  for (const auto& p : plan_cases(suite)) {
    reports::CaseResult c;
    c.model = suite.models[p.model].name;
    c.data = suite.data[p.data];
    c.scheme = suite.schemes[p.scheme].label;
    c.protection = p.protection;
    c.method = suite.methods[p.method].label;
    order.emplace(c.key(), i++);
  }
  std::stable_sort(results->cases.begin(), results->cases.end(),
                   [&](const reports::CaseResult& a, const reports::CaseResult& b) {
                     const auto ia = order.find(a.key()), ib = order.find(b.key());
                     const size_t ka = ia == order.end() ? order.size() : ia->second;
                     const size_t kb = ib == order.end() ? order.size() : ib->second;
                     return ka < kb;
                   });
}

std::optional<reports::Results> finalize_results(const SuiteSpec& suite, const std::string& baseline_file,
                                                 reports::Results* results) {
  if (suite.attribution) attach_attribution(results, suite.attribution_metrics);
  std::optional<reports::Results> baseline;
  reports::BaselineOptions options = suite.baseline ? suite.baseline->options : reports::BaselineOptions{};
  const std::string file = !baseline_file.empty() ? baseline_file : (suite.baseline ? suite.baseline->file : "");
  if (!file.empty()) baseline = reports::read_results(file);
  results->verdicts = all_verdicts(suite, *results, baseline ? &*baseline : nullptr, options);
  return baseline;
}

namespace {

// What run_suite and the parallel parent share: the planned cases of the shard, where each model's checkpoint
// is, and the cache keys.
struct RunContext {
  RunContext(const SuiteSpec& s, const RunOptions& o)
      : suite(s), options(o), planned(shard_cases(s, o.shard)), cache(o.out_dir + "/.cache") {
    check_output_dir(o.out_dir);
    zoo_options.cache_dir = o.zoo_cache_dir;
    zoo_options.jobs = o.jobs;
    zoo_options.quiet = o.quiet;
    bool need_zoo = false;
    for (const auto& m : s.models) need_zoo = need_zoo || !m.zoo.empty();
    if (need_zoo) zoo = train::load_zoo(s.zoo);
    slots.resize(s.models.size());
    for (size_t i = 0; i < s.models.size(); ++i) {
      ModelSlot& slot = slots[i];
      slot.ref = &s.models[i];
      // A problem with a model is reported at the suite line that names it.
      try {
        if (!slot.ref->zoo.empty()) {
          slot.zoo = &train::find_zoo_entry(zoo, slot.ref->zoo, s.zoo);
          slot.checkpoint = train::zoo_checkpoint_dir(*slot.zoo, zoo_options);
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
    for (size_t d = 0; d < s.data.size(); ++d) data_ids.push_back(data_identity(s.data_spec(d)));
    settings = eval_settings_text(s.eval);
  }

  // What would otherwise fail only after training and evaluation: a window longer than a model's context, a
  // group size that does not divide a quantized width.
  void check_shapes() const {
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
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  // A checkpoint is known by the content of its files, so a zoo model retrained into the same folder or a
  // checkpoint overwritten in place is evaluated again. A zoo model not trained yet has no identity: none of
  // its cases can be cached.
  void refresh_identities() {
    for (ModelSlot& slot : slots) {
      slot.identity.clear();
      if (slot.zoo && !train::zoo_checkpoint_complete(slot.checkpoint)) continue;
      slot.identity = checkpoint_identity(slot.checkpoint);
    }
  }

  std::string case_key(const PlannedCase& p) const {
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
    return stable_hash(harness_identity() + "\n" + slots[p.model].identity + "\n" + data_ids[p.data] + "\n" +
                       to_fields_string(suite.schemes[p.scheme].scheme) + "\n" + p.protection + "\n" + settings +
                       method);
  }
  std::string audit_key(int model, int data) const {
    if (slots[model].identity.empty()) return "";
    return stable_hash(harness_identity() + "\n" + slots[model].identity + "\n" + data_ids[data] + "\naudit\n" +
                       settings);
  }
  std::optional<reports::CaseResult> load(const std::string& key) const {
    return key.empty() ? std::nullopt : cache.load(key);
  }

  // Trains the zoo models of uncached cases and of missing audits that `owns_audit(model, data)` accepts, then
  // takes the identities of the trained checkpoints.
  template <typename OwnsAudit>
  void train_missing(OwnsAudit owns_audit) {
    std::vector<const train::ZooEntry*> to_train;
    auto want = [&](int model) {
      const train::ZooEntry* e = slots[model].zoo;
      if (e && std::find(to_train.begin(), to_train.end(), e) == to_train.end()) to_train.push_back(e);
    };
    for (const auto& p : planned) {
      if (!load(case_key(p))) want(p.model);  // load, not exists: a damaged entry is recomputed
      if (suite.audit && !reports::is_task_data(suite.data[p.data]) && owns_audit(p.model, p.data) &&
          !load(audit_key(p.model, p.data))) {
        want(p.model);
      }
    }
    if (to_train.empty()) return;
    std::vector<train::ZooEntry> entries;
    for (const auto* e : to_train) entries.push_back(*e);
    if (!options.quiet) std::fprintf(stderr, "run: preparing %zu zoo model(s)\n", entries.size());
    train::ensure_zoo_models(entries, zoo_options);
    refresh_identities();
  }

  const SuiteSpec& suite;
  const RunOptions& options;
  const std::vector<PlannedCase> planned;
  const CaseCache cache;
  train::ZooOptions zoo_options;
  std::vector<train::ZooEntry> zoo;
  std::vector<ModelSlot> slots;
  std::vector<std::string> data_ids;  // data_identity of each suite.data entry (spec and file contents)
  std::string settings;
};

}  // namespace

void train_missing_models(const SuiteSpec& suite, const RunOptions& options) {
  RunContext ctx(suite, options);
  ctx.train_missing([](int, int) { return true; });
}

std::vector<std::string> planned_case_keys(const SuiteSpec& suite, const RunOptions& options) {
  const RunContext ctx(suite, options);
  std::vector<std::string> keys;
  for (const auto& p : ctx.planned) keys.push_back(ctx.case_key(p));  // "" for a zoo model not trained yet
  return keys;
}

int64_t count_cached(const std::vector<std::string>& keys, const std::string& out_dir) {
  const CaseCache cache(out_dir + "/.cache");
  int64_t n = 0;
  for (const auto& k : keys) n += !k.empty() && std::filesystem::exists(cache.path_of(k)) ? 1 : 0;
  return n;
}

RunOutcome run_suite(const SuiteSpec& suite, const RunOptions& options) {
  checked_threads(options.threads, "--threads");
  if (options.jobs < 0) throw InputError("--jobs must be >= 0");
  if (options.threads > 0) omp_set_num_threads(options.threads);
  // Fail on a missing baseline before hours of work, not after.
  const std::string baseline_file =
      !options.baseline_file.empty() ? options.baseline_file : (suite.baseline ? suite.baseline->file : "");
  if (!baseline_file.empty() && options.shard.all()) (void)reports::read_results(baseline_file);

  const auto started = std::chrono::steady_clock::now();
  RunContext ctx(suite, options);
  const std::vector<PlannedCase>& planned = ctx.planned;
  const CaseCache& cache = ctx.cache;
  const std::vector<ModelSlot>& slots = ctx.slots;
  auto case_key = [&](const PlannedCase& p) { return ctx.case_key(p); };
  auto audit_key = [&](int model, int data) { return ctx.audit_key(model, data); };
  // A worker audits the pairs whose first case the plan gives it (plan.h), so that no audit is computed twice.
  const ShardPlan worker_plan = options.worker ? plan_shards(suite, options.shard.count) : ShardPlan{};
  auto owns_audit = [&](int model, int data) {
    return !options.worker || worker_plan.audit_shard(model, data) == options.shard.index;
  };

  // What is already done; which zoo models must exist for the rest.
  std::map<size_t, reports::CaseResult> done;  // index in `planned`
  for (size_t i = 0; i < planned.size(); ++i) {
    if (auto c = ctx.load(case_key(planned[i]))) done.emplace(i, *c);
  }
  ctx.train_missing(owns_audit);  // after it every model has its identity and every key is known

  const size_t from_cache = done.size();
  auto progress = [&](size_t n, const std::string& note) {
    if (options.progress) options.progress(static_cast<int64_t>(n), static_cast<int64_t>(planned.size()), note);
  };
  progress(done.size(), "cached");
  // One group per (model, data): one fp pass for all its uncached schemes and protections.
  for (size_t m = 0; m < suite.models.size(); ++m) {
    for (size_t d = 0; d < suite.data.size(); ++d) {
      std::vector<size_t> todo;
      bool any_here = false;
      for (size_t i = 0; i < planned.size(); ++i) {
        if (planned[i].model != static_cast<int>(m) || planned[i].data != static_cast<int>(d)) continue;
        any_here = true;
        if (!done.count(i)) todo.push_back(i);
      }
      const bool is_task = reports::is_task_data(suite.data[d]);  // tasks have no fp audit
      const std::string akey = audit_key(static_cast<int>(m), static_cast<int>(d));
      std::optional<reports::CaseResult> audit_entry =
          suite.audit && any_here && !is_task ? ctx.load(akey) : std::nullopt;
      const bool need_audit =
          suite.audit && any_here && !is_task && !audit_entry && owns_audit(static_cast<int>(m), static_cast<int>(d));
      const std::string note = slots[m].ref->name + " " + suite.data[d];
      if (!todo.empty() || need_audit) {  // else everything is cached: only the audit is attached below
        const ModelSlot& slot = slots[m];
        const Model model = load_checkpoint(slot.checkpoint);
        std::vector<eval::EvalCase> cases;
        for (size_t i : todo) {
          const PlannedCase& p = planned[i];
          cases.push_back({suite.schemes[p.scheme].label + "+" + p.protection, suite.schemes[p.scheme].scheme,
                           engine::parse_protection(p.protection)});
        }
        // The report case of planned case i, with everything but the metrics.
        auto case_of = [&](size_t i) {
          const PlannedCase& p = planned[i];
          reports::CaseResult c;
          c.model = slot.ref->name;
          c.data = suite.data[p.data];
          c.scheme = suite.schemes[p.scheme].label;
          c.protection = p.protection;
          c.method = suite.methods[p.method].label;
          c.checkpoint = slot.checkpoint;
          return c;
        };
        if (is_task) {
          for (const eval::EvalCase& c : cases)
            if (!c.method.is_rtn())
              throw InputError("method " + c.method.label() + " on task data " + suite.data[d] +
                               ": the task scorer does not apply post-training methods (list methods only with "
                               "perplexity data)");
          const std::string path = suite.data[d].substr(std::string(reports::kTaskDataPrefix).size());
          const std::vector<tasks::Task> task{tasks::read_task_file(path)};
          const auto tokenizer = tasks::checkpoint_tokenizer(slot.checkpoint, model);
          tasks::TaskOptions to;
          to.outliers = outlier_settings(suite.eval);
          const size_t before = done.size();
          to.progress = [&](int64_t k, int64_t total) {
            progress(before, fmt::format("{} item {}/{}", note, k, total));
          };
          const tasks::TasksReport rep = tasks::evaluate_tasks(model, *tokenizer, task, cases, to);
          QH_CHECK(rep.tasks.size() == 1 && rep.tasks[0].cases.size() == todo.size());
          for (size_t k = 0; k < todo.size(); ++k) {
            reports::CaseResult c = case_of(todo[k]);
            c.tokenizer = rep.tokenizer;
            c.protocol = "task " + rep.tasks[0].layout;
            c.metrics = metrics_from_task(rep.tasks[0].cases[k]);
            c.seconds = rep.tasks[0].cases[k].seconds + rep.fp_seconds / static_cast<double>(todo.size());
            c.engine_impl = rep.f32_impl;
            cache.store(case_key(planned[todo[k]]), c);
            done.emplace(todo[k], c);
          }
          progress(done.size(), note);
          continue;
        }
        data::Dataset data = data::load_data(suite.data_spec(d), model.spec.vocab_size, {slot.checkpoint, nullptr});
        data::bound_sequences(&data, suite.eval.max_sequences,
                              suite.eval.window > 0 ? suite.eval.window : model.spec.context);
        check_fp_is_finite(model, data, suite.eval.window, slot.ref->name);
        if (need_audit) {
          progress(done.size(), "audit " + note);
          audit::AuditOptions ao;
          ao.window = suite.eval.window;
          ao.max_sequences = suite.eval.max_sequences;
          ao.outliers = outlier_settings(suite.eval);
          ao.attribution = ao.layer_sensitivity = ao.site_sensitivity = false;
          const audit::AuditResult ar = audit::run_audit(model, data, {}, ao);
          require_finite_fp(ar.fp.nll_fp, slot.ref->name, suite.data[d]);
          reports::CaseResult holder;
          holder.model = slot.ref->name;
          holder.data = suite.data[d];
          holder.scheme = "fp";
          holder.protection = "audit";
          holder.audit = audit_summary(ar);
          cache.store(akey, holder);
          audit_entry = holder;
        }
        if (!todo.empty()) {
          eval::EvalOptions eo;
          data::Dataset method_data;
          bool need_method_data = false;
          for (const eval::EvalCase& c : cases) need_method_data |= c.method.needs_calibration();
          if (need_method_data) {
            method_data = data::load_data(method_calibration_spec(suite, suite.data[d]), model.spec.vocab_size);
            eo.method_data = &method_data;
            eo.method_sequences = suite.method_calibration.sequences;
            eo.method_cache_dir = train::resolve_cache_dir(ctx.zoo_options) + "/methods";
          }
          eo.window = suite.eval.window;
          eo.stride = suite.eval.stride;
          eo.protocol = eval::parse_protocol(suite.eval.protocol);
          eo.bos = data.bos;
          eo.outliers = outlier_settings(suite.eval);
          eo.max_sequences = suite.eval.max_sequences;
          const size_t before = done.size();
          eo.progress = [&](int64_t w, int64_t total) {
            progress(before, fmt::format("{} window {}/{}", note, w, total));
          };
          const eval::EvalReport rep = eval::evaluate_report(model, data, cases, eo);
          QH_CHECK(rep.cases.size() == todo.size());
          if (!rep.cases.empty()) require_finite_fp(rep.cases[0].metrics.nll_fp, slot.ref->name, suite.data[d]);
          for (size_t k = 0; k < todo.size(); ++k) {
            const PlannedCase& p = planned[todo[k]];
            const eval::CaseResult& er = rep.cases[k];
            reports::CaseResult c = case_of(todo[k]);
            c.tokenizer = data.tokenizer;
            c.protocol = fmt::format("{} W={}", rep.protocol, rep.window);
            c.method_seconds = er.method_seconds;
            c.metrics = metrics_from_eval(er);
            c.site_sqnr_db = site_sqnr_from_eval(er);
            c.seconds = er.seconds + rep.fp_seconds / static_cast<double>(todo.size());
            c.engine_impl = er.int8_impl.empty() ? rep.f32_impl : er.int8_impl;
            cache.store(case_key(p), c);
            done.emplace(todo[k], c);
          }
        }
      }
      // The audit summary belongs to every case of this model and data.
      if (audit_entry) {
        for (auto& [i, c] : done) {
          if (planned[i].model == static_cast<int>(m) && planned[i].data == static_cast<int>(d)) {
            c.audit = audit_entry->audit;
          }
        }
      }
      progress(done.size(), note);
    }
  }

  RunOutcome out;
  reports::Results& r = out.results;
  r.suite = suite.name;
  r.suite_file = suite.path;
  r.suite_hash = suite.content_hash;
  r.created_utc = utc_now();
  r.environment = current_environment(options.threads);
  if (!options.shard.all()) r.shard = options.shard.to_string();
  for (auto& [i, c] : done) r.cases.push_back(c);  // map order == plan order
  for (const auto& c : r.cases) {
    if (!c.engine_impl.empty() && r.environment.onednn_isa.empty()) r.environment.onednn_isa = c.engine_impl;
  }
  if (options.shard.all()) {
    out.baseline = finalize_results(suite, options.baseline_file, &r);
  } else if (suite.attribution) {
    attach_attribution(&r, suite.attribution_metrics);  // whole groups live in one shard
  }
  if (!options.quiet) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "run: %zu cases (%zu from the cache) in %.1f s\n", r.cases.size(), from_cache, secs);
  }
  return out;
}

}  // namespace qh::suite
