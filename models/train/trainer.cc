#include "models/train/trainer.h"

#include <omp.h>

#include <Eigen/Core>
#include <chrono>

#include "models/checkpoint.h"
#include "models/train/batches.h"
#include "models/train/init.h"
#include "src/core/rng.h"
#include "models/train/transformer.h"
#include "src/core/atomic_file.h"
#include "src/core/version.h"


namespace qh::train {
namespace {

constexpr uint64_t kInitStream = 1, kBatchStream = 2, kProbeStream = 3;

// Mean loss over the rows selected by want(row) (scored rows only).
template <typename Pred>
double mean_loss(const Activations& a, const Batch& b, Pred want) {
  double s = 0;
  int64_t n = 0;
  for (size_t r = 0; r < b.targets.size(); ++r)
    if (b.targets[r] >= 0 && want(r)) {
      s += a.row_loss[r];
      ++n;
    }
  return n ? s / static_cast<double>(n) : 0.0;
}

}  // namespace

TrainResult train(const TrainRecipe& r, const TrainOptions& o, std::string* log_jsonl) {
  validate_recipe(r);
  if (o.threads > 0) {
    omp_set_num_threads(o.threads);
    Eigen::setNbThreads(o.threads);
  }
  const int threads = omp_get_max_threads();
  const BatchSource source(r);
  ArchSpec spec = recipe_arch(r, source.vocab_size(), source.bos());
  nlohmann::json recipe = recipe_to_json(r);
  recipe["threads"] = threads;
  recipe["git_revision"] = git_revision();
  recipe["recipe_hash"] = recipe_hash(r);
  spec.recipe_json = recipe.dump();

  TrainResult res;
  res.model = init_model(spec, mix_seed(r.seed, kInitStream));
  Model& m = res.model;
  Model grads = zeros_like(m);
  Optimizer opt(r.optim, m);
  const Batch probe_batch = source.sample(r.probe_seqs, mix_seed(r.seed, kProbeStream));
  const bool bb = source.bb() != nullptr;

  Activations acts, probe_acts;
  const auto start = std::chrono::steady_clock::now();
  double win_loss = 0, win_bc = 0, win_bg = 0;
  int win_n = 0;
  auto run_probe = [&](int step, nlohmann::json& row) {
    forward(m, probe_batch.tokens.data(), probe_batch.B, probe_batch.T, probe_acts);
    res.probe = probe_stats(m, probe_acts, bb ? probe_batch.trigger : std::vector<uint8_t>{});
    row["probe"] = res.probe.to_json();
    row["step"] = step;
  };
  for (int step = 0; step < r.steps; ++step) {
    const Batch batch = source.sample(r.batch, mix_seed(mix_seed(r.seed, kBatchStream), step));
    forward(m, batch.tokens.data(), batch.B, batch.T, acts);
    const double loss = loss_and_gradient(acts, batch.targets.data(), spec.vocab_size);
    for_each_param(grads, [](const std::string&, Tensor& t) { std::fill(t.data.begin(), t.data.end(), 0.0f); });
    backward(m, acts, grads);
    const double gnorm = clip_grad_norm(grads, r.optim.grad_clip);
    const double lr = learning_rate(r.optim, step, r.steps);
    opt.step(m, grads, lr);

    win_loss += loss;
    if (bb) {
      win_bc += mean_loss(acts, batch, [&](size_t i) { return batch.backcopy[i] != 0; });
      win_bg += mean_loss(acts, batch, [&](size_t i) { return batch.backcopy[i] == 0; });
    }
    ++win_n;
    const bool last = step + 1 == r.steps;
    if ((step + 1) % r.log_every == 0 || last) {
      nlohmann::json row;
      row["step"] = step + 1;
      row["loss"] = win_loss / win_n;
      if (bb) {
        row["loss_backcopy"] = win_bc / win_n;
        row["loss_bigram"] = win_bg / win_n;
      }
      row["lr"] = lr;
      row["grad_norm"] = gnorm;
      row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if ((step + 1) % r.probe_every == 0 || last) run_probe(step + 1, row);
      if (log_jsonl) *log_jsonl += row.dump() + "\n";
      res.final_loss = win_loss / win_n;
      res.final_loss_backcopy = win_bc / win_n;
      res.final_loss_bigram = win_bg / win_n;
      win_loss = win_bc = win_bg = 0;
      win_n = 0;
    }
    if (o.on_step) o.on_step(step + 1, r.steps, loss);
  }
  if (spec.tied_embeddings) m.lm_head = m.tok_emb;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  res.summary = {{"recipe", recipe},
                 {"seconds", res.seconds},
                 {"steps", r.steps},
                 {"num_params", count_params(m)},
                 {"final_loss", res.final_loss},
                 {"data", eval_data_spec(r)},
                 {"probe", res.probe.to_json()}};
  if (bb) {
    res.summary["final_loss_backcopy"] = res.final_loss_backcopy;
    res.summary["final_loss_bigram"] = res.final_loss_bigram;
  }
  return res;
}

TrainResult train_to_dir(const TrainRecipe& r, const std::string& out_dir, const TrainOptions& o,
                         const std::string& name) {
  std::string log;
  TrainResult res = train(r, o, &log);
  if (!name.empty()) res.summary["name"] = name;
  make_dirs(out_dir);
  save_checkpoint(out_dir, res.model);
  write_file_atomic(out_dir + "/train_log.jsonl", log);
  write_file_atomic(out_dir + "/train_summary.json", res.summary.dump(2) + "\n");
  return res;
}

}  // namespace qh::train
