// The metric table (reports/metric_info.h) is the one list of metrics: a suite may name any of its rows, so the
// evaluator must produce every one of them. These tests run the evaluator and the task scorer's JSON writer and
// require each row's field path to be there (a metric "known" but never produced, as nll once was, fails here),
// and check the conversion by hand on a crafted case.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "models/data/data_spec.h"
#include "reports/json_path.h"
#include "reports/metric_info.h"
#include "src/eval/evaluator.h"
#include "src/suite/convert.h"
#include "src/tasks/task_eval.h"
#include "tests/engine/tiny_models.h"

namespace qh::suite {
namespace {

using reports::MetricSource;

TEST(MetricTable, RowsAreWellFormed) {
  std::set<std::string> names;
  std::set<int> headlines;
  for (const reports::MetricInfo& m : reports::metric_table()) {
    EXPECT_TRUE(names.insert(m.name).second) << "metric listed twice: " << m.name;
    EXPECT_NE(std::string(m.path), "") << m.name;
    EXPECT_NE(std::string(m.label), "") << m.name;
    if (m.headline > 0) {
      EXPECT_TRUE(headlines.insert(m.headline).second) << "headline position twice: " << m.name;
    }
  }
  EXPECT_EQ(reports::known_metrics().size(), reports::metric_table().size());
  EXPECT_EQ(reports::headline_metrics().size(), headlines.size());
  EXPECT_EQ(reports::headline_metrics().front(), "ppl_fp");
  EXPECT_EQ(reports::metric_label("delta_ppl"), "Δppl");
  EXPECT_EQ(reports::metric_label("sink_mass_max"), "sink_mass_max");  // not a case metric: its name
  EXPECT_EQ(reports::metric_direction("sqnr_db"), reports::Direction::kHigherIsBetter);
  EXPECT_EQ(reports::metric_direction("kld_p99"), reports::Direction::kLowerIsBetter);
  EXPECT_TRUE(reports::needs_oracle("bigram_risk_fp"));
  EXPECT_FALSE(reports::needs_oracle("kld_mean"));
  EXPECT_TRUE(reports::is_task_metric("acc_norm_drop_p"));
  EXPECT_FALSE(reports::is_task_metric("ppl"));
}

// A real evaluation on BB data (so the oracle's metrics exist) produces every perplexity row.
TEST(MetricTable, EvaluatorProducesEveryPerplexityMetric) {
  ArchSpec spec = enginetest::tiny_spec();
  spec.vocab_size = 17;
  spec.bos_token_id = 16;
  const Model model = enginetest::random_model(spec, 11);
  const data::Dataset data = data::load_data("bb:seed=3,seqs=4,len=24,k=3,vocab=16", spec.vocab_size);
  ASSERT_NE(data.bb, nullptr);
  eval::EvalCase c;
  c.scheme = parse_scheme("W4A4");
  c.protection = engine::parse_protection("tokens");
  const eval::EvalReport rep = eval::evaluate_report(model, data, {c}, {});
  ASSERT_EQ(rep.cases.size(), 1u);
  const nlohmann::json j = rep.cases[0].to_json();
  const reports::MetricMap converted = metrics_from_eval(rep.cases[0]);
  for (const reports::MetricInfo& m : reports::metric_table()) {
    if (m.source == MetricSource::kTask) continue;
    const nlohmann::json* v = reports::find_path(j, m.path);
    ASSERT_NE(v, nullptr) << m.name << ": the evaluator writes no field " << m.path;
    EXPECT_TRUE(v->is_number()) << m.name << " at " << m.path;
    if (*m.defined_if) {
      EXPECT_NE(reports::find_path(j, m.defined_if), nullptr) << m.name << ": " << m.defined_if;
    }
    EXPECT_TRUE(converted.has(m.name)) << m.name;
  }
  EXPECT_EQ(converted.items().size(), reports::metric_table().size() - reports::task_metrics().size());
  EXPECT_EQ(*converted.get("kld_mean"), rep.cases[0].metrics.kld_mean);
  EXPECT_EQ(*converted.get("nll"), rep.cases[0].metrics.nll);
}

TEST(MetricTable, TaskScorerProducesEveryTaskMetric) {
  tasks::TaskCaseResult c;
  c.metrics.n_items = 3;
  c.metrics.acc.mean = 2.0 / 3.0;
  const nlohmann::json j = c.to_json();
  for (const reports::MetricInfo& m : reports::metric_table()) {
    if (m.source != MetricSource::kTask) continue;
    EXPECT_NE(reports::find_path(j, m.path), nullptr) << m.name << ": the task scorer writes no field " << m.path;
  }
  const reports::MetricMap converted = metrics_from_task(c);
  EXPECT_EQ(converted.items().size(), reports::task_metrics().size());
  EXPECT_EQ(*converted.get("acc"), 2.0 / 3.0);
  EXPECT_EQ(*converted.get("n_items"), 3.0);
}

// By hand: values come from their fields, a position class without tokens is NaN, no oracle means no oracle
// metrics, and an infinite SQNR (nothing quantized) is undefined, as it reads back from results.json.
TEST(MetricTable, ConversionByHand) {
  eval::CaseResult c;
  c.metrics.n_tokens = 12;
  c.metrics.nll = 1.5;
  c.metrics.kld_mean = 0.25;
  c.metrics.by_class[static_cast<int>(eval::PosClass::kFirst)] = {1, 0, 0, 0, 0.125, 1, 0};
  c.metrics.by_class[static_cast<int>(eval::PosClass::kRest)] = {11, 0, 0, 0, 0.5, 1, 0};
  c.sqnr_db = INFINITY;
  const reports::MetricMap m = metrics_from_eval(c);
  EXPECT_EQ(*m.get("n_tokens"), 12.0);
  EXPECT_EQ(*m.get("nll"), 1.5);
  EXPECT_EQ(*m.get("kld_mean"), 0.25);
  EXPECT_EQ(*m.get("kld_mean_first"), 0.125);
  EXPECT_TRUE(std::isnan(*m.get("kld_mean_sink")));
  EXPECT_EQ(*m.get("kld_mean_rest"), 0.5);
  EXPECT_TRUE(std::isnan(*m.get("sqnr_db")));
  EXPECT_FALSE(m.has("backcopy_risk"));
  EXPECT_EQ(m.items().front().first, "ppl");  // table order
}

}  // namespace
}  // namespace qh::suite
