// qharness train: train one model from command-line options, or the models of a zoo file (cached by recipe
// hash). Recipe options map one-to-one onto the zoo.yaml keys (models/train/recipe.h); --set KEY=VALUE
// reaches every key that has no dedicated option.
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/train/trainer.h"
#include "models/train/zoo.h"
#include "src/core/error.h"
#include "src/core/limits.h"
#include "src/cli/command.h"
#include "src/cli/progress.h"

namespace qh::cli {
namespace {

struct TrainArgs {
  std::vector<std::pair<std::string, std::string>> recipe;  // (recipe key, option value); filled by CLI11
  std::vector<std::string> sets;
  std::string out, zoo, cache, tag;
  std::vector<std::string> only;
  int threads = 1, jobs = 0;
  bool quiet = false, force = false, list = false;
};

// Recipe options: (option name, recipe key, help).
const std::vector<std::vector<std::string>>& recipe_options() {
  static const std::vector<std::vector<std::string>> opts = {
      {"--task", "task", "bb | text"},
      {"--layers", "layers", "number of blocks"},
      {"--d-model", "d_model", "residual width"},
      {"--heads", "heads", "attention heads"},
      {"--head-dim", "head_dim", "head width (default d_model / heads)"},
      {"--d-ff", "d_ff", "MLP width (default 4 d_model)"},
      {"--norm", "norm", "layernorm | rmsnorm"},
      {"--positions", "positions", "learned | rope | none"},
      {"--mlp", "mlp", "relu | gelu | gelu_exact | swiglu"},
      {"--attention", "attention", "softmax | relu | sink | gated | clipped"},
      {"--gate", "gate", "gated attention: elementwise | head"},
      {"--optimizer", "optimizer", "adamw | sgd"},
      {"--lr", "lr", "peak learning rate"},
      {"--schedule", "schedule", "cosine | constant"},
      {"--warmup", "warmup", "linear warm-up steps"},
      {"--weight-decay", "weight_decay", "decoupled weight decay"},
      {"--grad-clip", "grad_clip", "max global gradient norm (0: off)"},
      {"--steps", "steps", "optimisation steps"},
      {"--batch", "batch", "sequences per step"},
      {"--seq-len", "seq_len", "tokens per sequence incl. BOS (also the context)"},
      {"--seed", "seed", "seed of init and batches"},
      {"--text", "text", "text file for --task text (default: Debian's GPL-3 text)"},
      {"--vocab", "vocab", "BB base vocabulary"},
      {"--k", "k", "BB trigger count"},
  };
  return opts;
}

void print_result(const std::string& name, const std::string& dir, const nlohmann::json& summary) {
  const auto& probe = summary.at("probe");
  double sink = 0, peak = 0;
  for (const auto& h : probe.at("heads")) sink = std::max(sink, h.at("sink_mass_nontrigger").get<double>());
  for (const auto& r : probe.at("residual_peak")) peak = std::max(peak, r.get<double>());
  std::printf("%-24s %7.1fs  loss %.4f  max sink_mass %.3f  max residual_peak %.2f  %s\n", name.c_str(),
              summary.at("seconds").get<double>(), summary.at("final_loss").get<double>(), sink, peak, dir.c_str());
}

// One model (--task ... --out DIR) or a zoo file (--zoo FILE): options of the other mode would be silently
// ignored, so they are refused.
void reject_mixed_modes(const TrainArgs& a, const CLI::App& cmd) {
  std::vector<std::string> single, zoo;
  for (const auto& o : recipe_options())
    if (cmd.count(o[0])) single.push_back(o[0]);
  for (const char* o : {"--set", "--out"})
    if (cmd.count(o)) single.push_back(o);
  for (const char* o : {"--only", "--tag", "--cache", "--jobs", "--force", "--list"})
    if (cmd.count(o)) zoo.push_back(o);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!a.zoo.empty() && !single.empty())
    throw InputError("train: --zoo trains the zoo file's own recipes into its cache; " + join(single) +
                     " cannot be combined with it (use --only NAME to pick models, or drop --zoo to train one model)");
  if (a.zoo.empty() && !zoo.empty())
    throw InputError("train: " + join(zoo) + " only apply with --zoo FILE");
}

void run_single(TrainArgs& a, int* exit_code) {
  if (a.out.empty()) throw InputError("train: --out DIR is required with --task (or use --zoo FILE)");
  train::TrainRecipe r;
  for (const auto& [key, value] : a.recipe) {
    if (value.empty()) continue;
    try {
      train::set_recipe_field(r, key, value);
    } catch (const InputError& e) {
      throw InputError(std::string("train: ") + e.what());
    }
  }
  for (const auto& kv : a.sets) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw InputError("train: --set '" + kv + "' (expected KEY=VALUE)");
    try {
      train::set_recipe_field(r, kv.substr(0, eq), kv.substr(eq + 1));
    } catch (const InputError& e) {
      throw InputError(std::string("train: --set ") + e.what());
    }
  }
  try {
    train::validate_recipe(r);
  } catch (const InputError& e) {
    throw InputError(std::string("train: ") + e.what());
  }
  Progress progress("train", r.steps, a.quiet);
  train::TrainOptions o;
  o.threads = a.threads;
  o.on_step = [&](int done, int, double loss) { progress.set(done, fmt::format("loss {:.4f}", loss)); };
  const train::TrainResult res = train::train_to_dir(r, a.out, o);
  progress.finish();
  if (!a.quiet) print_result("model", a.out, res.summary);
  *exit_code = kExitOk;
}

void run_zoo(TrainArgs& a, int* exit_code) {
  const auto zoo = train::load_zoo(a.zoo);
  std::vector<train::ZooEntry> chosen;
  if (!a.only.empty()) {
    for (const auto& n : a.only) chosen.push_back(train::find_zoo_entry(zoo, n, a.zoo));
  } else {
    for (const auto& e : zoo)
      if (a.tag.empty() || e.has_tag(a.tag)) chosen.push_back(e);
    if (chosen.empty()) throw InputError(a.zoo + ": no model has tag '" + a.tag + "'");
  }
  train::ZooOptions o;
  o.cache_dir = a.cache;
  o.threads = a.threads;
  o.jobs = a.jobs;
  o.quiet = a.quiet;
  o.force = a.force;
  if (a.list) {
    for (const auto& e : chosen) {
      const std::string dir = train::zoo_checkpoint_dir(e, o);
      std::printf("%-24s %-8s %s  %s\n", e.name.c_str(), train::zoo_checkpoint_complete(dir) ? "cached" : "-",
                  dir.c_str(), e.description.c_str());
    }
    *exit_code = kExitOk;
    return;
  }
  int64_t total = 0;
  for (const auto& e : chosen)
    if (a.force || !train::zoo_checkpoint_complete(train::zoo_checkpoint_dir(e, o))) total += e.recipe.steps;
  Progress progress("zoo", total, a.quiet);
  std::map<std::string, int> done;
  o.on_progress = [&](const std::string& name, int d, int) {
    done[name] = d;
    int64_t sum = 0;
    for (const auto& [n, v] : done) sum += v;
    progress.set(sum, name);
  };
  const auto start = std::chrono::steady_clock::now();
  const auto dirs = train::ensure_zoo_models(chosen, o);
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!a.quiet) {
    for (size_t i = 0; i < chosen.size(); ++i) {
      std::ifstream in(dirs[i] + "/train_summary.json");
      nlohmann::json summary;
      try {
        in >> summary;
        print_result(chosen[i].name, dirs[i], summary);
      } catch (const nlohmann::json::exception&) {
        std::printf("%-24s %s (no readable train_summary.json)\n", chosen[i].name.c_str(), dirs[i].c_str());
      }
    }
    std::printf("zoo: %zu models ready in %.1f s (%lld training steps run)\n", chosen.size(), seconds,
                static_cast<long long>(total));
  }
  *exit_code = kExitOk;
}

}  // namespace

void add_train(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a small transformer (BB task or byte-level text) or the models of a zoo file");
  args->recipe.reserve(recipe_options().size());
  for (const auto& o : recipe_options()) {
    args->recipe.emplace_back(o[1], "");
    cmd->add_option(o[0], args->recipe.back().second, o[2]);
  }
  cmd->add_option("--set", args->sets, "any recipe key as KEY=VALUE (repeatable)");
  cmd->add_option("--out", args->out, "output checkpoint directory (with --task)");
  cmd->add_option("--zoo", args->zoo, "zoo file, e.g. models/zoo.yaml");
  cmd->add_option("--only", args->only, "zoo: train only these models");
  cmd->add_option("--tag", args->tag, "zoo: train only models with this tag (e.g. quickstart)");
  cmd->add_option("--cache", args->cache, "zoo: cache directory (default $QH_CACHE or .cache/qharness)");
  cmd->add_option("--jobs", args->jobs, "zoo: models trained at once (default: the number of cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "threads per model (default 1: identical on every machine)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--force", args->force, "zoo: retrain even when cached");
  cmd->add_flag("--list", args->list, "zoo: list the models and whether they are cached");
  cmd->add_flag("--quiet,-q", args->quiet, "no progress or summary output");
  cmd->callback([args, cmd, exit_code] {
    checked_threads(args->threads, "--threads");
    reject_mixed_modes(*args, *cmd);
    if (!args->zoo.empty()) {
      run_zoo(*args, exit_code);
    } else {
      run_single(*args, exit_code);
    }
  });
}

}  // namespace qh::cli
