// The case cache must never hand back a result computed from other inputs: every key follows the content of the
// checkpoint's files and of the data files, the scheme and the options, and the harness's version. Each test
// runs a small suite, changes one input, and checks that no planned case is found in the cache any more (and,
// after a rerun, that the new numbers are the ones of a fresh run).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "models/checkpoint.h"
#include "models/train/trainer_version.h"
#include "models/train/zoo.h"
#include "src/core/content_hash.h"
#include "src/core/error.h"
#include "src/core/version.h"
#include "src/suite/case_cache.h"
#include "src/suite/runner.h"
#include "src/suite/suite.h"
#include "tests/engine/tiny_models.h"

namespace qh::suite {
namespace {

namespace fs = std::filesystem;

class CacheKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "qh_cache_keys." + std::to_string(::getpid()) + "." +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/data");
    save_checkpoint(dir_ + "/ckpt", enginetest::random_model(enginetest::tiny_spec(), 5));
    write_tokens(dir_ + "/data/ids.u16", 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // 96 ids below the tiny model's vocabulary (40), a pattern that depends on `salt`.
  static void write_tokens(const std::string& path, int salt) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 96; ++i) {
      const uint16_t id = static_cast<uint16_t>((i * 7 + salt * 13) % 39);
      out.write(reinterpret_cast<const char*>(&id), 2);
    }
  }

  // The suite sits in dir_ and names its token file relative to its own folder.
  SuiteSpec suite(const std::string& scheme = "W4A4", int calib = 2) const {
    const std::string text = "models:\n  - {name: m, path: ckpt}\ndata: \"tokens:data/ids.u16,len=24\"\nschemes: [" +
                             scheme + "]\neval: {calib_sequences: " + std::to_string(calib) + "}\n";
    return parse_suite(text, dir_ + "/suite.yaml");
  }
  RunOptions options() const {
    RunOptions o;
    o.out_dir = dir_ + "/out";
    o.quiet = true;
    o.jobs = 1;
    return o;
  }
  int64_t cached(const SuiteSpec& s) const { return count_cached(planned_case_keys(s, options()), options().out_dir); }

  std::string dir_;
};

TEST_F(CacheKeys, ASecondRunFindsEveryCase) {
  const SuiteSpec s = suite();
  EXPECT_EQ(cached(s), 0);
  (void)run_suite(s, options());
  EXPECT_EQ(cached(s), static_cast<int64_t>(planned_case_keys(s, options()).size()));
}

TEST_F(CacheKeys, ATokenFileChangedInPlaceIsRecomputed) {
  const SuiteSpec s = suite();
  const double before = *run_suite(s, options()).results.cases.at(0).metrics.get("ppl_fp");
  write_tokens(dir_ + "/data/ids.u16", 2);  // same path, same size, other ids
  EXPECT_EQ(cached(s), 0);
  const double after = *run_suite(s, options()).results.cases.at(0).metrics.get("ppl_fp");
  EXPECT_NE(before, after);
  // The fresh numbers equal those of a run with an empty cache.
  fs::remove_all(dir_ + "/out");
  EXPECT_EQ(*run_suite(s, options()).results.cases.at(0).metrics.get("ppl_fp"), after);
}

TEST_F(CacheKeys, ACheckpointOverwrittenInPlaceIsRecomputed) {
  const SuiteSpec s = suite();
  (void)run_suite(s, options());
  save_checkpoint(dir_ + "/ckpt", enginetest::random_model(enginetest::tiny_spec(), 6));  // same folder
  EXPECT_EQ(cached(s), 0);
}

TEST_F(CacheKeys, TheSchemeAndTheOptionsAreInTheKey) {
  (void)run_suite(suite(), options());
  EXPECT_EQ(cached(suite("W8A8")), 0);
  EXPECT_EQ(cached(suite("W4A4", 3)), 0);
  EXPECT_GT(cached(suite()), 0);
}

TEST_F(CacheKeys, TheKeyStartsWithTheHarnessVersionAndRevision) {
  const std::string id = harness_identity();
  EXPECT_NE(id.find(version()), std::string::npos);
  EXPECT_NE(id.find(git_revision()), std::string::npos);
}

TEST_F(CacheKeys, ContentHashFollowsEveryByteAndRereadsAChangedFile) {
  const std::string p = dir_ + "/f.bin";
  std::string bytes(1000, 'a');
  std::ofstream(p, std::ios::binary) << bytes;
  const std::string h1 = file_content_hash(p);
  EXPECT_EQ(h1.size(), 16u);
  EXPECT_EQ(file_content_hash(p), h1);
  for (size_t pos : {size_t{0}, size_t{31}, size_t{32}, size_t{999}}) {  // block edges and the tail
    std::string changed = bytes;
    changed[pos] = 'b';
    std::ofstream(p, std::ios::binary | std::ios::trunc) << changed;
    EXPECT_NE(file_content_hash(p), h1) << pos;
  }
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_EQ(file_content_hash(p), h1);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes + "a";  // length matters
  EXPECT_NE(file_content_hash(p), h1);
  EXPECT_THROW(file_content_hash(dir_ + "/missing"), InputError);
  EXPECT_THROW(file_content_hash(dir_), InputError);
}

// A task file edited in place (same path, same size) gives other cases: none of the old ones is found.
TEST_F(CacheKeys, ATaskFileChangedInPlaceIsRecomputed) {
  ArchSpec a = enginetest::tiny_spec();
  a.vocab_size = 257;  // the byte-level vocabulary: task text goes through the zoo's byte tokenizer
  a.bos_token_id = 256;
  save_checkpoint(dir_ + "/text", enginetest::random_model(a, 7));
  auto write_task = [&](const char* gold) {
    std::ofstream(dir_ + "/t.jsonl", std::ios::trunc)
        << R"({"context": "the cat sat on the", "choices": [" mat", " log"], "gold": )" << gold << "}\n";
  };
  write_task("0");
  const SuiteSpec s = parse_suite("models:\n  - {name: t, path: text}\ntasks: [t.jsonl]\nschemes: [W8A8]\n",
                                  dir_ + "/suite.yaml");
  const int64_t planned = static_cast<int64_t>(planned_case_keys(s, options()).size());
  ASSERT_GT(planned, 0);
  (void)run_suite(s, options());
  EXPECT_EQ(cached(s), planned);
  write_task("1");
  EXPECT_EQ(cached(s), 0);
}

// Data naming its tokenizer (a file, or a folder holding tokenizer.json) is known by the tokenizer's content too.
TEST_F(CacheKeys, DataIdentityFollowsTheNamedTokenizersContent) {
  std::ofstream(dir_ + "/t.txt") << "some text";
  fs::create_directories(dir_ + "/tok");
  std::ofstream(dir_ + "/tok/tokenizer.json") << "{\"a\": 1}";
  for (const std::string& tokenizer : {dir_ + "/tok/tokenizer.json", dir_ + "/tok"}) {
    const std::string spec = "text:" + dir_ + "/t.txt,tokenizer=" + tokenizer;
    const std::string before = data_identity(spec);
    EXPECT_EQ(data_identity(spec), before);
    std::ofstream(dir_ + "/tok/tokenizer.json", std::ios::trunc) << "{\"a\": 2}";  // same size, other bytes
    EXPECT_NE(data_identity(spec), before) << tokenizer;
    std::ofstream(dir_ + "/tok/tokenizer.json", std::ios::trunc) << "{\"a\": 1}";
  }
}

TEST_F(CacheKeys, ZooFoldersFollowTheTrainingThreadsTheCorpusAndTheTrainersVersion) {
  std::ofstream(dir_ + "/corpus.txt") << "some text to learn from, some text to learn from\n";
  std::ofstream(dir_ + "/zoo.yaml") << "version: 1\nmodels:\n  - {name: t, task: text, text: " + dir_ +
                                           "/corpus.txt}\n";
  const auto zoo = train::load_zoo(dir_ + "/zoo.yaml");
  train::ZooOptions one, two;
  one.cache_dir = two.cache_dir = dir_ + "/zoo";
  two.threads = 2;
  const std::string d1 = train::zoo_checkpoint_dir(zoo[0], one);
  EXPECT_NE(d1, train::zoo_checkpoint_dir(zoo[0], two));
  std::ofstream(dir_ + "/corpus.txt", std::ios::app) << "more\n";
  const std::string d2 = train::zoo_checkpoint_dir(zoo[0], one);
  EXPECT_NE(d1, d2);
  // The trainer's version (a hash of its sources and Eigen's version) is in the folder name, and another
  // version moves it.
  EXPECT_EQ(train::trainer_version().size(), 16u);
  EXPECT_NE(d2.find(train::trainer_version().substr(0, 8)), std::string::npos) << d2;
  train::ZooOptions other = one;
  other.trainer_version = "0123456789abcdef";
  EXPECT_NE(d2, train::zoo_checkpoint_dir(zoo[0], other));
}

}  // namespace
}  // namespace qh::suite

namespace qh::suite {
namespace {

// The audit of a (model, data) pair is a record of its own, not a case: it round-trips, an entry written as a
// case holding the audit (before audit records existed) still reads, and a damaged entry reads as missing.
TEST(AuditRecords, RoundTripAndOlderEntries) {
  const std::string dir = ::testing::TempDir() + "qh_audit_records." + std::to_string(::getpid());
  fs::remove_all(dir);
  const CaseCache cache(dir);
  AuditRecord a;
  a.model = "m";
  a.data = "bb:seed=1";
  a.audit.residual_peak = {1.5, NAN};
  a.audit.sink_key = {{0, 3}};
  cache.store_audit("k1", a);
  const auto back = cache.load_audit("k1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->model, "m");
  EXPECT_EQ(back->data, "bb:seed=1");
  EXPECT_EQ(back->audit, a.audit);
  reports::CaseResult holder;  // the older form: a case with scheme "fp" and protection "audit"
  holder.model = "m";
  holder.data = "d";
  holder.scheme = "fp";
  holder.protection = "audit";
  holder.audit = a.audit;
  cache.store("k2", holder);
  ASSERT_TRUE(cache.load_audit("k2").has_value());
  EXPECT_EQ(cache.load_audit("k2")->audit, a.audit);
  std::ofstream(cache.path_of("k3")) << "{\"model\": 1}";
  EXPECT_FALSE(cache.load_audit("k3").has_value());
  EXPECT_FALSE(cache.load_audit("absent").has_value());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qh::suite
