#include "src/suite/evaluate_group.h"

#include <fmt/format.h>

#include "models/checkpoint.h"
#include "models/data/data_spec.h"
#include "models/train/zoo.h"
#include "reports/metric_info.h"
#include "src/audit/audit.h"
#include "src/core/error.h"
#include "src/core/memory.h"
#include "src/engine/memory_estimate.h"
#include "src/eval/evaluator.h"
#include "src/suite/convert.h"
#include "src/tasks/checkpoint_tokenizer.h"
#include "src/tasks/layouts.h"
#include "src/tasks/task_eval.h"

namespace qh::suite {

namespace {

// The report case of planned case i, with everything but what the evaluation measures.
reports::CaseResult case_header(const RunContext& ctx, size_t i) {
  const PlannedCase& p = ctx.planned[i];
  reports::CaseResult c;
  c.model = ctx.slots[p.model].ref->name;
  c.data = ctx.suite.data[p.data];
  c.scheme = ctx.suite.schemes[p.scheme].label;
  c.protection = p.protection;
  c.method = ctx.suite.methods[p.method].label;
  c.checkpoint = ctx.slots[p.model].checkpoint;
  return c;
}

std::vector<eval::EvalCase> eval_cases(const RunContext& ctx, const EvalGroup& g) {
  std::vector<eval::EvalCase> cases;
  for (size_t i : g.cases) {
    const PlannedCase& p = ctx.planned[i];
    eval::EvalCase c;
    c.label = ctx.suite.schemes[p.scheme].label + "+" + p.protection;
    c.scheme = ctx.suite.schemes[p.scheme].scheme;
    c.protection = engine::parse_protection(p.protection);
    c.method = ctx.suite.methods[p.method].method;
    cases.push_back(c);
  }
  return cases;
}

void evaluate_task_group(const RunContext& ctx, const EvalGroup& g, const Model& model,
                         const std::vector<eval::EvalCase>& cases, const GroupProgress& progress,
                         const std::string& note) {
  const std::string& data = ctx.suite.data[g.data];
  for (const eval::EvalCase& c : cases)
    if (!c.method.is_rtn())
      throw InputError("method " + c.method.label() + " on task data " + data +
                       ": the task scorer does not apply post-training methods (list methods only with "
                       "perplexity data)");
  const std::string path = data.substr(std::string(reports::kTaskDataPrefix).size());
  const std::vector<tasks::Task> task{tasks::read_task_file(path)};
  const std::string& checkpoint = ctx.slots[g.model].checkpoint;
  const auto tokenizer = tasks::checkpoint_tokenizer(checkpoint, model);
  tasks::TaskOptions to;
  to.outliers = ctx.suite.eval.outliers;
  to.progress = [&](int64_t k, int64_t total) { progress(0, fmt::format("{} item {}/{}", note, k, total)); };
  const tasks::TasksReport rep = tasks::evaluate_tasks(model, *tokenizer, task, cases, to);
  QH_CHECK(rep.tasks.size() == 1 && rep.tasks[0].cases.size() == g.cases.size());
  for (size_t k = 0; k < g.cases.size(); ++k) {
    reports::CaseResult c = case_header(ctx, g.cases[k]);
    c.tokenizer = rep.tokenizer;
    c.protocol = "task " + rep.tasks[0].layout;
    c.metrics = metrics_from_task(rep.tasks[0].cases[k]);
    c.seconds = rep.tasks[0].cases[k].seconds + rep.fp_seconds / static_cast<double>(g.cases.size());
    c.engine_impl = rep.f32_impl;
    ctx.cache.store(ctx.case_key(ctx.planned[g.cases[k]]), c);
  }
}

// The suite's audit: the fp statistics only, at the suite's window and sequence bound.
audit::AuditOptions audit_options(const SuiteSpec& suite) {
  audit::AuditOptions ao;
  ao.window = suite.eval.window;
  ao.max_sequences = suite.eval.max_sequences;
  ao.outliers = suite.eval.outliers;
  ao.attribution = ao.layer_sensitivity = ao.site_sensitivity = false;  // the suite attributes from its cases
  return ao;
}

// The audit holds its own statistics beside the model (per-head sums, kept rows, per-token accumulators), which
// the evaluator's estimate does not count: checked as `qharness audit` checks it, before the group's fp check,
// audit or evaluation runs. Like the evaluator's check: against --max-memory, else the available memory less
// the model already loaded.
void check_audit_fits(const RunContext& ctx, const EvalGroup& g, const Model& model, const data::Dataset& data) {
  const SuiteSpec& suite = ctx.suite;
  const audit::AuditOptions ao = audit_options(suite);
  const audit::AuditExtent extent = audit::audit_extent(model.spec, data, ao);
  const engine::MemoryEstimate need = audit::estimate_audit_memory(model.spec, {}, ao, extent);
  const std::string what = "audit of model '" + ctx.slots[g.model].ref->name + "' on " + suite.data[g.data];
  const char* const hint =
      "set audit: false, a shorter eval.window or a smaller eval.max_sequences, or set --max-memory";
  if (ctx.options.max_memory)
    engine::check_memory_fits(need, extent.window, {ctx.options.max_memory, "--max-memory"}, what, 0, hint);
  else
    engine::check_memory_fits(need, extent.window, available_memory(), what, need.one_model, hint);
}

void audit_group(const RunContext& ctx, const EvalGroup& g, const Model& model, const data::Dataset& data) {
  const SuiteSpec& suite = ctx.suite;
  const audit::AuditResult ar = audit::run_audit(model, data, {}, audit_options(suite));
  require_finite_fp(ar.fp.nll_fp, ctx.slots[g.model].ref->name, suite.data[g.data]);
  ctx.cache.store_audit(ctx.audit_key(g.model, g.data),
                        {ctx.slots[g.model].ref->name, suite.data[g.data], audit_summary(ar)});
}

void evaluate_perplexity_group(const RunContext& ctx, const EvalGroup& g, const Model& model,
                               const data::Dataset& data, const std::vector<eval::EvalCase>& cases,
                               const GroupProgress& progress, const std::string& note) {
  const SuiteSpec& suite = ctx.suite;
  eval::EvalOptions eo;
  data::Dataset method_data;
  bool need_method_data = false;
  for (const eval::EvalCase& c : cases) need_method_data |= c.method.needs_calibration();
  if (need_method_data) {
    method_data = data::load_data(method_calibration_spec(suite, suite.data[g.data]), model.spec.vocab_size);
    eo.method_data = &method_data;
    eo.method_sequences = suite.method_calibration.sequences;
    eo.method_cache_dir = train::resolve_cache_dir(ctx.zoo_options()) + "/methods";
  }
  eo.window = suite.eval.window;
  eo.stride = suite.eval.stride;
  eo.protocol = eval::parse_protocol(suite.eval.protocol);
  eo.bos = data.bos;
  eo.outliers = suite.eval.outliers;
  eo.max_sequences = suite.eval.max_sequences;
  eo.max_memory = ctx.options.max_memory;
  eo.progress = [&](int64_t w, int64_t total) { progress(0, fmt::format("{} window {}/{}", note, w, total)); };
  const eval::EvalReport rep = eval::evaluate_report(model, data, cases, eo);
  QH_CHECK(rep.cases.size() == g.cases.size());
  const std::string& name = ctx.slots[g.model].ref->name;
  if (!rep.cases.empty()) require_finite_fp(rep.cases[0].metrics.nll_fp, name, suite.data[g.data]);
  for (size_t k = 0; k < g.cases.size(); ++k) {
    const eval::CaseResult& er = rep.cases[k];
    reports::CaseResult c = case_header(ctx, g.cases[k]);
    c.tokenizer = data.tokenizer;
    c.protocol = fmt::format("{} W={}", rep.protocol, rep.window);
    c.method_seconds = er.method_seconds;
    c.metrics = metrics_from_eval(er);
    c.site_sqnr_db = site_sqnr_from_eval(er);
    c.seconds = er.seconds + rep.fp_seconds / static_cast<double>(g.cases.size());
    c.engine_impl = er.int8_impl.empty() ? rep.f32_impl : er.int8_impl;
    ctx.cache.store(ctx.case_key(ctx.planned[g.cases[k]]), c);
  }
}

}  // namespace

void evaluate_group(const RunContext& ctx, const EvalGroup& g, const GroupProgress& progress) {
  const SuiteSpec& suite = ctx.suite;
  const ModelSlot& slot = ctx.slots[g.model];
  const std::string note = slot.ref->name + " " + suite.data[g.data];
  const Model model = load_checkpoint(slot.checkpoint);
  const std::vector<eval::EvalCase> cases = eval_cases(ctx, g);
  if (reports::is_task_data(suite.data[g.data])) {
    evaluate_task_group(ctx, g, model, cases, progress, note);
  } else {
    data::Dataset data = data::load_data(suite.data_spec(g.data), model.spec.vocab_size, {slot.checkpoint, nullptr});
    data::bound_sequences(&data, suite.eval.max_sequences,
                          suite.eval.window > 0 ? suite.eval.window : model.spec.context);
    if (g.audit) check_audit_fits(ctx, g, model, data);
    check_fp_is_finite(model, data, suite.eval.window, slot.ref->name);
    if (g.audit) {
      progress(0, "audit " + note);
      audit_group(ctx, g, model, data);
    }
    if (!cases.empty()) evaluate_perplexity_group(ctx, g, model, data, cases, progress, note);
  }
  progress(static_cast<int64_t>(g.cases.size()), note);
}

}  // namespace qh::suite
