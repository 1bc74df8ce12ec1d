// Finished cases are kept in OUT/.cache/<key>.json so that a killed run resumes where it stopped. The key
// hashes everything that determines the numbers: the harness's version and git revision, the content of every
// input file (the checkpoint's files, the token / text files a data spec reads), the data spec, the scheme
// field by field, the protection and the evaluation settings. Writes are atomic; an unreadable entry is
// treated as missing.
#pragma once

#include <optional>
#include <string>

#include "reports/results.h"

namespace qh::suite {

// "config.json:<hash>|model.safetensors:<hash>|..." (file_content_hash, src/core/content_hash.h) over the checkpoint directory's regular files (sorted),
// leaving out the trainer's logs (train_log.jsonl, train_summary.json), which hold timings, not weights.
std::string checkpoint_identity(const std::string& dir);

// The data spec followed by the content hash of every file it reads (a bb: spec without files: the spec alone
// decides); for a suite's "task:<file>" entry, the task file's content.
std::string data_identity(const std::string& spec);

// What every key starts with: the harness's version and git revision (an upgrade recomputes every case).
std::string harness_identity();

// The audit of one (model, data) pair: the full-precision statistics every case of that pair carries. Cached
// on its own key (RunContext::audit_key), apart from the cases.
struct AuditRecord {
  std::string model, data;
  reports::AuditSummary audit;
};
void read_json(const reports::ojson& j, const std::string& where, AuditRecord* a);

class CaseCache {
 public:
  explicit CaseCache(std::string dir) : dir_(std::move(dir)) {}
  std::optional<reports::CaseResult> load(const std::string& key) const;
  void store(const std::string& key, const reports::CaseResult& c) const;
  std::optional<AuditRecord> load_audit(const std::string& key) const;
  void store_audit(const std::string& key, const AuditRecord& a) const;
  std::string path_of(const std::string& key) const;
  bool has(const std::string& key) const;  // an entry exists (it may still be unreadable: load decides)

 private:
  std::string dir_;
};

}  // namespace qh::suite
