#include "models/checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/safetensors.h"
#include "models/tensor_layout.h"
#include "src/core/atomic_file.h"
#include "src/core/error.h"

namespace qh {

namespace fs = std::filesystem;

namespace {

// The file named in messages about a tensor: its shard, or model.safetensors when it is missing.
std::string weights_label(const std::string& dir) {
  std::error_code ec;
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  return fs::exists(index, ec) ? index.string() : (fs::path(dir) / "model.safetensors").string();
}

std::string gpt2_prefix(const SafetensorsSet& set) {
  for (const auto& t : set.all())
    if (t.entry->name.rfind("transformer.", 0) == 0) return "transformer.";
  return "";
}

size_t count_nonfinite(const Tensor& t) {
  size_t n = 0;
  for (float x : t.data) n += !std::isfinite(x);
  return n;
}

// Stored [in, out] -> canonical [out, in].
Tensor transposed(const Tensor& t) {
  const int64_t r = t.dim(0), c = t.dim(1);
  Tensor out({c, r});
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) out.data[j * r + i] = t.data[i * c + j];
  return out;
}

void fill_slot(const TensorSlot& slot, Tensor stored) {
  if (slot.transpose) stored = transposed(stored);
  const size_t parts = slot.targets.size();
  if (parts == 1 && slot.groups == 1) {  // the common case: the tensor as stored
    *slot.targets[0] = std::move(stored);
    return;
  }
  const size_t cols = static_cast<size_t>(stored.cols());
  for (size_t p = 0; p < parts; ++p) {
    std::vector<int64_t> shape = stored.shape;
    shape[0] = slot.target_rows(p);
    slot.targets[p]->shape = shape;
    slot.targets[p]->data.clear();
    slot.targets[p]->data.reserve(static_cast<size_t>(shape[0]) * cols);
  }
  // Each group holds part p's rows after parts 0..p-1's, groups one after another.
  size_t row = 0;
  for (int64_t g = 0; g < slot.groups; ++g)
    for (size_t p = 0; p < parts; ++p) {
      const size_t n = static_cast<size_t>(slot.target_rows(p) / slot.groups);
      slot.targets[p]->data.insert(slot.targets[p]->data.end(), stored.data.begin() + row * cols,
                                   stored.data.begin() + (row + n) * cols);
      row += n;
    }
  QH_CHECK(row == static_cast<size_t>(stored.rows()));
}

// Gemma stores norm weights as w with multiplier 1 + w: the Model holds the effective multiplier.
void apply_norm_offset(Model* m) {
  const float off = m->spec.norm_weight_offset;
  if (off == 0.0f) return;
  auto add = [off](Tensor& t) {
    for (float& x : t.data) x += off;
  };
  for (LayerWeights& L : m->layers)
    for (Tensor* t : {&L.attn_norm_w, &L.mlp_norm_w, &L.attn_out_norm_w, &L.mlp_out_norm_w, &L.q_norm_w,
                      &L.k_norm_w})
      add(*t);
  add(m->final_norm_w);
  m->spec.norm_weight_offset = 0.0f;
}

// "layers.2" before "layers.10": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      const std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      if (na.size() != nb.size()) return na.size() < nb.size();  // no leading zeros in layer indices
      if (na != nb) return na < nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

struct Loaded {
  Model model;
  std::vector<StoredTensor> tensors;
};

Loaded load(const std::string& dir, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir + ": not a checkpoint directory (expected a directory "
                                                         "with config.json and model.safetensors)");
  Loaded out;
  Model& m = out.model;
  m.spec = read_config((fs::path(dir) / "config.json").string());
  const SafetensorsSet set(dir);
  const std::string label = weights_label(dir);
  // GPT-OSS-style sink logits make the attention the sink variant; config.json does not say so.
  const std::string sinks = hf_sinks_name(m.spec);
  if (!sinks.empty() && set.find(sinks).entry) {
    if (m.spec.attn.kind != AttnKind::kSoftmax)
      throw InputError(label + ": tensor '" + sinks + "': attention sinks together with " +
                       to_string(m.spec.attn.kind) + " attention are unsupported (expected one of the two)");
    m.spec.attn.kind = AttnKind::kSink;
  }
  const std::vector<TensorSlot> slots = file_layout(m.spec, &m, gpt2_prefix(set));

  std::vector<std::string> expected;
  for (const TensorSlot& slot : slots) {
    expected.push_back(slot.name);
    const auto t = set.find(slot.name);
    if (slot.ignore) continue;
    if (!t.entry)
      throw InputError(label + ": tensor '" + slot.name + "': missing (expected shape " + shape_str(slot.shape) +
                       " for " + m.spec.architecture + ")");
    const std::string file = t.file->label();
    if (!is_weight_dtype(t.entry->dtype))
      throw InputError(file + ": tensor '" + slot.name + "': dtype " + to_string(t.entry->dtype) +
                       " (expected F32, F16 or BF16)");
    if (t.entry->shape != slot.shape)
      throw InputError(file + ": tensor '" + slot.name + "': shape " + shape_str(t.entry->shape) +
                       " contradicts config.json (expected " + shape_str(slot.shape) + ")");
  }
  std::sort(expected.begin(), expected.end());
  for (const auto& t : set.all()) {
    const std::string& name = t.entry->name;
    out.tensors.push_back({name, t.entry->dtype, t.entry->shape, fs::path(t.file->label()).filename().string()});
    if (!std::binary_search(expected.begin(), expected.end(), name) && !is_ignored_buffer(m.spec, name))
      throw InputError(t.file->label() + ": tensor '" + name + "': unexpected for " + m.spec.architecture +
                       " with this config.json (expected only the architecture's tensors)");
  }
  // Everything is validated; now decode (allocation is bounded by the file sizes checked above).
  for (const TensorSlot& slot : slots) {
    if (slot.ignore) continue;
    const auto t = set.find(slot.name);
    Tensor stored = set.read(t);
    set.release(t);  // converted: its mapped pages need not stay resident
    if (!options.allow_nonfinite) {
      const size_t bad = count_nonfinite(stored);
      if (bad)
        throw InputError(t.file->label() + ": tensor '" + slot.name + "': " + std::to_string(bad) +
                         " non-finite values (expected finite weights; `qharness inspect` reports them)");
    }
    fill_slot(slot, std::move(stored));
  }
  if (m.spec.tied_embeddings) m.lm_head = m.tok_emb;
  apply_norm_offset(&m);
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const StoredTensor& a, const StoredTensor& b) { return natural_less(a.name, b.name); });
  return out;
}

}  // namespace

Model load_checkpoint(const std::string& dir, const LoadOptions& options) { return load(dir, options).model; }

CheckpointInfo inspect_checkpoint(const std::string& dir, const LoadOptions& options) {
  Loaded l = load(dir, options);
  return CheckpointInfo{dir, std::move(l.model), std::move(l.tensors)};
}

void save_checkpoint(const std::string& dir, const Model& m, DType dtype, uint64_t max_shard_bytes) {
  QH_CHECK(is_weight_dtype(dtype));
  const std::string config_path = (fs::path(dir) / "config.json").string();
  validate_spec(m.spec, config_path);
  // canonical_layout only reads through these pointers here; a copy of the spec's layer count is enforced.
  Model& view = const_cast<Model&>(m);
  if (static_cast<int>(m.layers.size()) != m.spec.num_layers)
    throw InputError(dir + ": model has " + std::to_string(m.layers.size()) + " layers, spec says " +
                     std::to_string(m.spec.num_layers));
  const std::vector<TensorSlot> slots = canonical_layout(m.spec, &view);
  std::vector<NamedTensor> tensors;
  for (const TensorSlot& slot : slots) {
    if (slot.ignore) continue;
    const Tensor* t = slot.targets[0];
    if (t->shape != slot.shape || t->size() != Tensor::count(t->shape))
      throw InputError(dir + ": tensor '" + slot.name + "': model holds shape " + shape_str(t->shape) +
                       " (expected " + shape_str(slot.shape) + " from its ArchSpec)");
    tensors.push_back({slot.name, t});
  }
  make_dirs(dir);
  std::error_code ec;
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  // Shards: consecutive tensors while they fit in max_shard_bytes.
  std::vector<std::vector<NamedTensor>> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (const NamedTensor& t : tensors) {
    const uint64_t bytes = t.tensor->size() * dtype_size(dtype);
    if (max_shard_bytes > 0 && in_shard > 0 && in_shard + bytes > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(t);
    in_shard += bytes;
    total += bytes;
  }
  if (shards.size() == 1) {
    fs::remove(index_path, ec);  // a stale shard index would win on load
    write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, dtype);
  } else {
    fs::remove(index_path, ec);  // until every shard is written, no index names a partial set
    fs::remove(fs::path(dir) / "model.safetensors", ec);
    nlohmann::json weight_map = nlohmann::json::object();
    for (size_t i = 0; i < shards.size(); ++i) {
      const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
      write_safetensors((fs::path(dir) / name).string(), shards[i], dtype);
      for (const NamedTensor& t : shards[i]) weight_map[t.name] = name;
    }
    const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomic(index_path.string(), index.dump(2) + "\n");
  }
  write_file_atomic(config_path, config_to_json(m.spec).dump(2) + "\n");
}

int64_t num_params(const Model& m) {
  Model& view = const_cast<Model&>(m);  // canonical_layout needs the layers vector sized; it already is
  if (static_cast<int>(m.layers.size()) != m.spec.num_layers) return 0;
  int64_t n = 0;
  for (const TensorSlot& slot : canonical_layout(m.spec, &view))
    if (!slot.ignore) n += static_cast<int64_t>(Tensor::count(slot.shape));
  return n;
}

}  // namespace qh
