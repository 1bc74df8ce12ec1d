// What `qharness run` knows before it evaluates anything, built once per run (src/suite/runner.cc, step 1):
// the planned cases of the shard, where each model's checkpoint is (or will be, for a zoo model not trained
// yet), the content identities of the checkpoints and data files, and from them the cache key of every case
// and of every (model, data) audit. Its constructor checks what would otherwise fail after hours of work: an
// unwritable output directory, unknown zoo names, missing checkpoints, windows longer than a model's context,
// group sizes that do not divide a quantized width.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/arch.h"
#include "models/train/zoo.h"
#include "src/suite/case_cache.h"
#include "src/suite/plan.h"
#include "src/suite/runner.h"
#include "src/suite/suite.h"

namespace qh::suite {

// Everything one model needs: its label, where its checkpoint is (or will be), and its cache identity.
struct ModelSlot {
  const ModelRef* ref = nullptr;
  const train::ZooEntry* zoo = nullptr;
  std::string checkpoint;
  std::string identity;  // checkpoint_identity, or "" while a zoo model is not trained
  ArchSpec arch;         // its shape (from config.json, or the zoo recipe before training)
};

// One (model, data) pair of the plan with the work it still needs: one fp pass shared by its cases.
struct EvalGroup {
  int model = 0, data = 0;
  std::vector<size_t> cases;  // indices into RunContext::planned of the uncached cases
  bool audit = false;         // its audit is missing and this process computes it
};

class RunContext {
 public:
  RunContext(const SuiteSpec& suite, const RunOptions& options);
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  // Step 2: trains the zoo models that uncached cases and missing audits need (options.jobs at a time), then
  // takes the identities of the trained checkpoints (after it every key is known).
  void ensure_models();

  // The (model, data) pairs with uncached cases or a missing audit this process owns, in plan order.
  std::vector<EvalGroup> groups_to_evaluate() const;

  // Whether this process computes the audit of (model, data): a worker only those whose first case the plan
  // gives it (plan.h), so that no audit is computed twice; every other run all of them.
  bool owns_audit(int model, int data) const;
  bool wants_audit(int data) const;  // the suite audits, and the data is not a task (tasks have no fp audit)

  // "" while the model is a zoo model not trained yet (nothing of it can be cached).
  std::string case_key(const PlannedCase& p) const;
  std::string audit_key(int model, int data) const;
  std::optional<reports::CaseResult> load_case(size_t i) const;  // planned[i] from the cache
  std::optional<AuditRecord> load_audit(int model, int data) const;
  const train::ZooOptions& zoo_options() const { return zoo_options_; }  // also where the methods' cache lives

  const SuiteSpec& suite;
  const RunOptions& options;
  const std::vector<PlannedCase> planned;  // the shard's cases in plan order
  const CaseCache cache;                   // OUT/.cache
  std::vector<ModelSlot> slots;            // [model]

 private:
  void check_shapes() const;
  void refresh_identities();

  train::ZooOptions zoo_options_;
  std::vector<train::ZooEntry> zoo_;
  std::vector<std::string> data_ids_;  // data_identity of each suite.data entry (spec and file contents)
  std::string settings_;               // the evaluation settings, as they enter every key
  ShardPlan worker_plan_;              // a worker's plan (audit ownership); empty otherwise
};

// The methods' calibration data for evaluated data `data`: the suite's method_calibration.data, or for BB data
// the same task with another sampling seed (+2000003; the zoo trains and evaluates on other seeds).
std::string method_calibration_spec(const SuiteSpec& suite, const std::string& data);

}  // namespace qh::suite
