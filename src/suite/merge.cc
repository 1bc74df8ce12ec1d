#include "src/suite/merge.h"

#include <map>
#include <set>

#include "src/core/error.h"
#include "src/suite/plan.h"

namespace qh::suite {

namespace {

std::string hash_text(const reports::Results& r) {
  return "'" + r.suite + "' (" + (r.suite_hash.empty() ? std::string("no suite hash") : "hash " + r.suite_hash) +
         ")";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

}  // namespace

std::string shard_set_problem(const std::vector<reports::Results>& parts, const std::vector<std::string>& names) {
  if (parts.empty()) return "merge: give at least one results file";
  auto name = [&](size_t p) { return p < names.size() ? names[p] : "part " + std::to_string(p + 1); };
  std::vector<Shard> shards;
  for (size_t p = 0; p < parts.size(); ++p) {
    try {
      shards.push_back(parts[p].shard.empty() ? Shard{} : parse_shard(parts[p].shard));
    } catch (const InputError&) {
      return name(p) + ": shard '" + parts[p].shard + "' is not I/N";
    }
  }
  for (size_t p = 1; p < parts.size(); ++p) {
    if (parts[p].suite != parts[0].suite || parts[p].suite_hash != parts[0].suite_hash) {
      return name(p) + ": suite " + hash_text(parts[p]) + " differs from suite " + hash_text(parts[0]) + " of " +
             name(0) + ": only parts of one suite can be merged";
    }
    if (shards[p].count != shards[0].count) {
      return name(p) + ": shard " + shards[p].to_string() + " does not belong with shard " + shards[0].to_string() +
             " of " + name(0) + " (parts of runs split into different numbers of shards)";
    }
  }
  const int count = shards[0].count;
  std::map<int, size_t> given;  // shard index -> part
  for (size_t p = 0; p < parts.size(); ++p) {
    const auto [it, fresh] = given.emplace(shards[p].index, p);
    if (!fresh) {
      return "merge: shard " + shards[p].to_string() + " is given twice: " + name(it->second) + " and " + name(p);
    }
  }
  std::vector<std::string> missing, present;
  for (int i = 0; i < count; ++i) {
    const auto it = given.find(i);
    if (it == given.end()) {
      missing.push_back(Shard{i, count}.to_string());
    } else {
      present.push_back(Shard{i, count}.to_string() + " from " + name(it->second));
    }
  }
  if (!missing.empty()) {
    return "merge: shard" + std::string(missing.size() > 1 ? "s " : " ") + join(missing) +
           (missing.size() > 1 ? " are" : " is") + " missing (given: " + join(present) + ")";
  }
  return "";
}

reports::Results merge_parts(const std::vector<reports::Results>& parts, const std::vector<std::string>& names) {
  if (const std::string problem = shard_set_problem(parts, names); !problem.empty()) throw InputError(problem);
  reports::Results out;
  out.suite = parts[0].suite;
  out.suite_file = parts[0].suite_file;
  out.suite_hash = parts[0].suite_hash;
  out.created_utc = parts[0].created_utc;
  out.environment = parts[0].environment;
  std::map<std::string, size_t> seen;  // case key -> part index
  for (size_t p = 0; p < parts.size(); ++p) {
    if (parts[p].created_utc > out.created_utc) out.created_utc = parts[p].created_utc;
    for (const auto& c : parts[p].cases) {
      const auto [it, fresh] = seen.emplace(c.key(), p);
      if (!fresh) {
        throw InputError("merge: case " + c.key() + " is in both " + names[it->second] + " and " + names[p] +
                         ": the shards were planned differently (did a model or data file change between them?)");
      }
      out.cases.push_back(c);
    }
  }
  return out;
}

void check_against_suite(const SuiteSpec& suite, const reports::Results& merged) {
  if (!merged.suite_hash.empty() && merged.suite_hash != suite.content_hash) {
    throw InputError(suite.path + ": this suite file (hash " + suite.content_hash +
                     ") is not the one the parts were run with (hash " + merged.suite_hash +
                     "): it changed since, or it is another suite");
  }
  std::set<std::string> planned;
  std::vector<std::string> missing;
  for (const auto& p : plan_cases(suite)) {
    reports::CaseResult c;
    c.model = suite.models[size_t(p.model)].name;
    c.data = suite.data[size_t(p.data)];
    c.scheme = suite.schemes[size_t(p.scheme)].label;
    c.protection = p.protection;
    planned.insert(c.key());
    if (!merged.find_case(c.model, c.data, c.scheme, c.protection)) missing.push_back(c.key());
  }
  if (!missing.empty()) {
    throw InputError("merge: " + std::to_string(missing.size()) + " case(s) of suite '" + suite.name +
                     "' are in no part, the first: " + missing[0]);
  }
  for (const auto& c : merged.cases) {
    if (!planned.count(c.key())) {
      throw InputError("merge: case " + c.key() + " is not a case of suite '" + suite.name + "' (" + suite.path + ")");
    }
  }
}

}  // namespace qh::suite
