// results.json: round trip of every field, NaN as null, schema version and field errors named.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "src/core/error.h"
#include "reports/results.h"
#include "tests/reports/sample_results.h"

namespace qh::reports {
namespace {

TEST(Results, JsonRoundTripKeepsEverything) {
  Results r = testing::sample_results();
  r.shard = "1/2";
  r.cases[0].metrics.set("kld_max", NAN);  // undefined metric survives as null
  const auto j = to_json(r);
  EXPECT_TRUE(j["cases"][0]["metrics"]["kld_max"].is_null());
  EXPECT_EQ(j["schema_version"], kSchemaVersion);
  EXPECT_EQ(j["summary"]["failed"], 1);
  const Results back = results_from_json(nlohmann::ordered_json::parse(j.dump()), "mem");
  EXPECT_EQ(back.cases, r.cases);
  EXPECT_EQ(back.verdicts, r.verdicts);
  EXPECT_EQ(back.suite, r.suite);
  EXPECT_EQ(back.shard, "1/2");
  EXPECT_EQ(back.environment.onednn_isa, "avx512_core_vnni");
  EXPECT_EQ(back.environment.versions.at("onednn"), "2.6.3");
  EXPECT_EQ(back.cases[1].audit.sink_key[1][1], 3);
  EXPECT_DOUBLE_EQ(back.cases[1].attribution_for("kld_mean")->share_tokens, 0.6);
}

TEST(Results, MethodIsADimensionAndDefaultsToRtn) {
  Results r = testing::sample_results();
  CaseResult rotated = r.cases[0];
  rotated.method = "rotate+gptq";
  rotated.method_seconds = 2.5;
  rotated.metrics.set("kld_mean", 0.001);
  r.cases.push_back(rotated);
  EXPECT_EQ(rotated.key(), r.cases[0].key() + "|rotate+gptq");
  auto j = to_json(r);
  const Results back = results_from_json(nlohmann::ordered_json::parse(j.dump()), "mem");
  EXPECT_EQ(back.cases, r.cases);
  EXPECT_DOUBLE_EQ(back.cases.back().method_seconds, 2.5);
  const CaseResult& c0 = r.cases[0];
  EXPECT_EQ(back.find_case(c0.model, c0.data, c0.scheme, c0.protection), &back.cases[0]);
  EXPECT_EQ(back.find_case(c0.model, c0.data, c0.scheme, c0.protection, "rotate+gptq"), &back.cases.back());
  j["cases"][0].erase("method");  // results written before methods existed read as rtn
  EXPECT_EQ(results_from_json(nlohmann::ordered_json::parse(j.dump()), "mem").cases[0].method, "rtn");
}

TEST(Results, MetricOrderIsInsertionOrder) {
  const auto j = to_json(testing::sample_results());
  std::vector<std::string> keys;
  for (auto it = j["cases"][0]["metrics"].begin(); it != j["cases"][0]["metrics"].end(); ++it) {
    keys.push_back(it.key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"ppl_fp", "ppl", "delta_ppl", "kld_mean", "top1_agree"}));
}

TEST(Results, MetricMapSetOverwrites) {
  MetricMap m;
  m.set("a", 1);
  m.set("b", 2);
  m.set("a", 3);
  ASSERT_EQ(m.items().size(), 2u);
  EXPECT_EQ(*m.get("a"), 3);
  EXPECT_FALSE(m.get("c").has_value());
}

TEST(Results, VerdictCounting) {
  Results r = testing::sample_results();
  EXPECT_EQ(r.num_failed(), 1);
  EXPECT_FALSE(r.all_passed());
  r.verdicts[1].passed = true;
  EXPECT_TRUE(r.all_passed());
}

std::string error_of(const std::string& text) {
  try {
    results_from_json(nlohmann::ordered_json::parse(text), "r.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Results, BadInputNamesTheField) {
  EXPECT_EQ(error_of("{}"), "r.json: missing field 'schema_version'");
  EXPECT_NE(error_of("{\"schema_version\": 99, \"cases\": []}").find("unsupported version 99"), std::string::npos);
  EXPECT_EQ(error_of("{\"schema_version\": 1, \"cases\": [{\"model\": 3}]}"),
            "r.json.cases[0].model: expected a string, got number");
  EXPECT_EQ(error_of("{\"schema_version\": 1, \"cases\": [{\"model\": \"m\", \"data\": \"d\", \"scheme\": \"s\","
                     " \"protection\": \"none\", \"metrics\": {\"kld_mean\": \"x\"}}]}"),
            "r.json.cases[0].metrics.kld_mean: expected a number, got string");
  EXPECT_NE(error_of("{\"schema_version\": 1, \"cases\": [], \"verdicts\": [{\"name\": \"n\", \"kind\": \"vibes\","
                     " \"passed\": true}]}")
                .find("unknown verdict kind 'vibes'"),
            std::string::npos);
}

// Every JSON file the harness writes (results.json, eval --json, audit.json) starts with the same versioned
// header; a file of another version or another kind is refused with a message that says which.
TEST(Results, SchemaHeaderIsCheckedForVersionAndKind) {
  const std::string newer = std::to_string(kSchemaVersion + 1), older = std::to_string(kOldestSchemaVersion - 1);
  EXPECT_EQ(error_of("{\"schema_version\": " + newer + ", \"cases\": []}"),
            "r.json.schema_version: unsupported version " + newer + ": written by a newer qharness (this one reads "
            "versions " + std::to_string(kOldestSchemaVersion) + ".." + std::to_string(kSchemaVersion) + ")");
  EXPECT_NE(error_of("{\"schema_version\": " + older + ", \"cases\": []}").find("written by an older qharness"),
            std::string::npos);
  EXPECT_EQ(error_of("{\"schema_version\": 1, \"kind\": \"audit\", \"cases\": []}"),
            "r.json.kind: the file's kind is 'audit'; expected 'results'");
  EXPECT_EQ(error_of("{\"schema_version\": 1.5, \"cases\": []}"), "r.json.schema_version: expected an integer");
  EXPECT_EQ(error_of("{\"schema_version\": 1, \"cases\": []}"), "");  // files written before kinds existed
  nlohmann::json eval;
  put_schema_header(&eval, "eval");
  EXPECT_EQ(eval["schema_version"], kSchemaVersion);
  EXPECT_EQ(eval["kind"], "eval");
  EXPECT_NO_THROW(check_schema_header(ojson::parse(eval.dump()), "e.json", "eval"));
  EXPECT_EQ(to_json(testing::sample_results())["kind"], kResultsKind);
}

// The committed regression baseline stays readable by this build.
TEST(Results, CiBaselineIsReadable) {
  const Results r = read_results(std::string(QH_SOURCE_DIR) + "/reports/ci-baseline.json");
  EXPECT_FALSE(r.cases.empty());
  EXPECT_TRUE(r.cases[0].metrics.has("kld_mean"));
}

TEST(Results, ReadFileErrors) {
  EXPECT_THROW(read_results("/nonexistent/results.json"), InputError);
  const std::string path = ::testing::TempDir() + "/qh_bad_results.json";
  std::ofstream(path) << "{ not json";
  try {
    read_results(path);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace qh::reports
