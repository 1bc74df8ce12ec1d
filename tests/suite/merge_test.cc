// merge_parts and check_against_suite: the parts must be shards 1..N of one suite, each exactly once, and
// together hold exactly the suite's cases. Every refusal names the part or shard at fault.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/core/error.h"
#include "src/suite/merge.h"
#include "src/suite/plan.h"
#include "src/suite/suite.h"

namespace qh::suite {
namespace {

reports::CaseResult make_case(const std::string& model, const std::string& scheme) {
  reports::CaseResult c;
  c.model = model;
  c.data = "bb:seed=1,seqs=4,len=32";
  c.scheme = scheme;
  c.protection = "none";
  c.metrics.set("kld_mean", 0.25);
  return c;
}

reports::Results part(const std::string& shard, std::vector<reports::CaseResult> cases,
                      const std::string& hash = "00000000000000aa") {
  reports::Results r;
  r.suite = "s";
  r.suite_hash = hash;
  r.shard = shard;
  r.cases = std::move(cases);
  return r;
}

std::string merge_error(const std::vector<reports::Results>& parts, const std::vector<std::string>& names) {
  try {
    (void)merge_parts(parts, names);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Merge, JoinsACompleteSetInAnyOrder) {
  const auto merged = merge_parts({part("2/2", {make_case("b", "W8A8")}), part("1/2", {make_case("a", "W8A8")})},
                                  {"p2.json", "p1.json"});
  EXPECT_EQ(merged.cases.size(), 2u);
  EXPECT_TRUE(merged.shard.empty());
  EXPECT_EQ(merged.suite_hash, "00000000000000aa");
  // A whole run is a set of one (1/1) on its own.
  EXPECT_EQ(merge_parts({part("", {make_case("a", "W8A8")})}, {"full.json"}).cases.size(), 1u);
}

TEST(Merge, RefusesMissingShardsNamingThem) {
  const std::string e = merge_error({part("1/3", {make_case("a", "W8A8")})}, {"p1.json"});
  EXPECT_NE(e.find("shards 2/3, 3/3 are missing (given: 1/3 from p1.json)"), std::string::npos) << e;
  const std::string one = merge_error({part("1/3", {}), part("3/3", {})}, {"p1.json", "p3.json"});
  EXPECT_NE(one.find("shard 2/3 is missing"), std::string::npos) << one;
}

TEST(Merge, RefusesARepeatedShardNamingBothFiles) {
  const std::string e = merge_error({part("1/2", {make_case("a", "W8A8")}), part("2/2", {make_case("b", "W8A8")}),
                                     part("2/2", {make_case("b", "W8A8")})},
                                    {"p1.json", "p2.json", "again.json"});
  EXPECT_NE(e.find("shard 2/2 is given twice: p2.json and again.json"), std::string::npos) << e;
}

TEST(Merge, RefusesPartsOfAnotherSuiteOrSharding) {
  const std::string suite = merge_error({part("1/2", {}), part("2/2", {}, "00000000000000bb")}, {"a.json", "b.json"});
  EXPECT_NE(suite.find("b.json: suite 's' (hash 00000000000000bb) differs from suite 's' (hash 00000000000000aa) "
                       "of a.json"),
            std::string::npos)
      << suite;
  const std::string count = merge_error({part("1/2", {}), part("2/3", {})}, {"a.json", "b.json"});
  EXPECT_NE(count.find("b.json: shard 2/3 does not belong with shard 1/2 of a.json"), std::string::npos) << count;
  const std::string whole = merge_error({part("", {}), part("1/2", {})}, {"full.json", "b.json"});
  EXPECT_NE(whole.find("b.json: shard 1/2 does not belong with shard 1/1"), std::string::npos) << whole;
  const std::string bad = merge_error({part("x/2", {})}, {"a.json"});
  EXPECT_NE(bad.find("a.json: shard 'x/2' is not I/N"), std::string::npos) << bad;
  EXPECT_NE(merge_error({}, {}).find("at least one"), std::string::npos);
}

TEST(Merge, RefusesACaseInTwoParts) {
  const std::string e = merge_error({part("1/2", {make_case("a", "W8A8")}), part("2/2", {make_case("a", "W8A8")})},
                                    {"p1.json", "p2.json"});
  EXPECT_NE(e.find("is in both p1.json and p2.json"), std::string::npos) << e;
}

TEST(Merge, MergedCasesMustBeTheSuitesPlan) {
  const SuiteSpec s = parse_suite("name: s\nmodels: [a, b]\ndata: \"bb:seed=1,seqs=4,len=32\"\nschemes: [W8A8]\n",
                                  "s.yaml");
  reports::Results merged = part("", {make_case("a", "W8A8"), make_case("b", "W8A8")}, s.content_hash);
  EXPECT_NO_THROW(check_against_suite(s, merged));
  // The suite file changed since (another hash).
  merged.suite_hash = "0000000000000001";
  EXPECT_THROW(check_against_suite(s, merged), InputError);
  merged.suite_hash = s.content_hash;
  // A case missing (a shard planned differently lost it), or one the suite does not have.
  reports::Results missing = merged;
  missing.cases.pop_back();
  try {
    check_against_suite(s, missing);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("1 case(s) of suite 's' are in no part, the first: b|"), std::string::npos)
        << e.what();
  }
  reports::Results extra = merged;
  extra.cases.push_back(make_case("c", "W8A8"));
  EXPECT_THROW(check_against_suite(s, extra), InputError);
}

TEST(Merge, SuiteHashIsTheTextsIdentity) {
  const std::string text = "models: [a]\ndata: \"bb:seed=1,seqs=4,len=32\"\nschemes: [W8A8]\n";
  EXPECT_EQ(parse_suite(text, "x.yaml").content_hash, parse_suite(text, "y/z.yaml").content_hash);
  EXPECT_NE(parse_suite(text, "x.yaml").content_hash, parse_suite(text + "# edited\n", "x.yaml").content_hash);
  EXPECT_EQ(parse_suite(text, "x.yaml").content_hash.size(), 16u);
}

}  // namespace
}  // namespace qh::suite
