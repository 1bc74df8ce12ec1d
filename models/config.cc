#include "models/config.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "models/json_util.h"
#include "src/core/error.h"

namespace qh {

using nlohmann::json;
using json_util::Fields;

namespace {

void reject_if_present(const Fields& f, const std::string& key, const std::string& why) {
  if (f.has(key)) f.fail(key, why);
}

int bos_of(const Fields& f) {
  // Some configs give a list or null; only a single integer is used.
  return f.has("bos_token_id") && f.obj.at("bos_token_id").is_number_integer() ? f.int_value("bos_token_id") : -1;
}

// Shared by Llama, Qwen2 and the project format (HF Llama field names).
void parse_llama_like(const Fields& f, ArchSpec* s) {
  s->d_model = f.positive_int("hidden_size");
  s->num_layers = f.positive_int("num_hidden_layers");
  s->num_heads = f.positive_int("num_attention_heads");
  s->num_kv_heads = f.positive_int("num_key_value_heads", s->num_heads);
  if (!f.has("head_dim") && s->d_model % s->num_heads != 0)
    f.fail("num_attention_heads", "expected a divisor of hidden_size " + std::to_string(s->d_model) + ", got " +
                                      std::to_string(s->num_heads));
  s->head_dim = f.positive_int("head_dim", s->d_model / s->num_heads);
  s->d_ff = f.positive_int("intermediate_size");
  s->vocab_size = f.positive_int("vocab_size");
  s->context = f.positive_int("max_position_embeddings");
  s->rope_theta = static_cast<float>(f.number("rope_theta", 10000.0));
  s->tied_embeddings = f.boolean("tie_word_embeddings", false);
  s->bos_token_id = bos_of(f);
  s->norm = NormKind::kRMSNorm;
  s->positions = PosKind::kRope;
  s->mlp = MlpKind::kSwiGLU;
}

void parse_hf_llama(const Fields& f, ArchSpec* s, bool qwen2) {
  parse_llama_like(f, s);
  s->norm_eps = static_cast<float>(f.number("rms_norm_eps", 1e-6));
  const std::string act = f.string("hidden_act", "silu");
  if (act != "silu") f.fail("hidden_act", "unsupported activation '" + act + "' (expected \"silu\")");
  reject_if_present(f, "rope_scaling", "unsupported (expected null: no RoPE scaling)");
  if (f.has("partial_rotary_factor") && f.number("partial_rotary_factor") != 1.0)
    f.fail("partial_rotary_factor", "unsupported (expected 1.0: full rotary)");
  if (f.boolean("use_sliding_window", false))
    f.fail("use_sliding_window", "unsupported (expected false: full causal attention)");
  if (qwen2) {
    s->qkv_bias = true;  // Qwen2 always has q/k/v biases and none elsewhere
  } else {
    s->qkv_bias = s->o_bias = f.boolean("attention_bias", false);
    s->mlp_bias = f.boolean("mlp_bias", false);
  }
}

void parse_gpt2(const Fields& f, ArchSpec* s) {
  s->d_model = f.positive_int("n_embd");
  s->num_layers = f.positive_int("n_layer");
  s->num_heads = f.positive_int("n_head");
  if (s->d_model % s->num_heads != 0)
    f.fail("n_head", "expected a divisor of n_embd " + std::to_string(s->d_model) + ", got " +
                         std::to_string(s->num_heads));
  s->num_kv_heads = s->num_heads;
  s->head_dim = s->d_model / s->num_heads;
  s->d_ff = f.positive_int("n_inner", 4 * s->d_model);
  s->vocab_size = f.positive_int("vocab_size");
  s->context = f.positive_int("n_positions", f.has("n_ctx") ? std::optional<int>(f.positive_int("n_ctx"))
                                                             : std::nullopt);
  s->norm = NormKind::kLayerNorm;
  s->norm_bias = true;
  s->norm_eps = static_cast<float>(f.number("layer_norm_epsilon", 1e-5));
  s->positions = PosKind::kLearned;
  const std::string act = f.string("activation_function", "gelu_new");
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") s->mlp = MlpKind::kGelu;
  else if (act == "gelu") s->mlp = MlpKind::kGeluExact;
  else if (act == "relu") s->mlp = MlpKind::kRelu;
  else f.fail("activation_function", "unsupported '" + act + "' (expected gelu_new, gelu or relu)");
  if (!f.boolean("scale_attn_weights", true))
    f.fail("scale_attn_weights", "unsupported false (expected attention scaled by 1/sqrt(head_dim))");
  if (f.boolean("scale_attn_by_inverse_layer_idx", false))
    f.fail("scale_attn_by_inverse_layer_idx", "unsupported (expected false)");
  s->qkv_bias = s->o_bias = s->mlp_bias = true;
  s->tied_embeddings = f.boolean("tie_word_embeddings", true);
  s->bos_token_id = bos_of(f);
}

template <typename E>
E parse_enum(const Fields& f, const std::string& key, E dflt, std::initializer_list<E> values) {
  const std::string name = f.string(key, to_string(dflt));
  std::string list;
  for (E v : values) {
    if (name == to_string(v)) return v;
    list += (list.empty() ? "" : ", ") + std::string("\"") + to_string(v) + "\"";
  }
  f.fail(key, "unknown value \"" + name + "\" (expected one of " + list + ")");
}

void parse_qharness(const Fields& top, ArchSpec* s) {
  parse_llama_like(top, s);
  s->norm_eps = static_cast<float>(top.number("norm_eps", 1e-5));
  const Fields q = top.object("qharness");
  q.only_keys({"format_version", "norm", "norm_bias", "positions", "mlp", "attention", "bias", "recipe"});
  const int version = q.int_value("format_version");
  if (version != 1) q.fail("format_version", "unsupported version " + std::to_string(version) + " (expected 1)");
  s->norm = parse_enum(q, "norm", NormKind::kRMSNorm, {NormKind::kLayerNorm, NormKind::kRMSNorm});
  s->norm_bias = q.boolean("norm_bias", false);
  if (s->norm_bias && s->norm != NormKind::kLayerNorm)
    q.fail("norm_bias", "expected false with \"rmsnorm\" (a bias needs \"layernorm\")");
  s->positions = parse_enum(q, "positions", PosKind::kRope, {PosKind::kLearned, PosKind::kRope, PosKind::kNone});
  s->mlp = parse_enum(q, "mlp", MlpKind::kSwiGLU,
                      {MlpKind::kRelu, MlpKind::kGelu, MlpKind::kGeluExact, MlpKind::kSwiGLU});
  if (q.has("attention")) {
    const Fields a = q.object("attention");
    a.only_keys({"variant", "gate", "zeta", "gamma"});
    s->attn.kind = parse_enum(a, "variant", AttnKind::kSoftmax,
                              {AttnKind::kSoftmax, AttnKind::kRelu, AttnKind::kSink, AttnKind::kGated,
                               AttnKind::kClipped});
    s->attn.gate = parse_enum(a, "gate", GateKind::kElementwise, {GateKind::kElementwise, GateKind::kPerHead});
    s->attn.clip_zeta = static_cast<float>(a.number("zeta", 1.0));
    s->attn.clip_gamma = static_cast<float>(a.number("gamma", 0.0));
    if (s->attn.clip_zeta < 1.0f) a.fail("zeta", "expected zeta >= 1");
    if (s->attn.clip_gamma > 0.0f) a.fail("gamma", "expected gamma <= 0");
  }
  if (q.has("bias")) {
    const Fields b = q.object("bias");
    b.only_keys({"qkv", "o", "mlp"});
    s->qkv_bias = b.boolean("qkv", false);
    s->o_bias = b.boolean("o", false);
    s->mlp_bias = b.boolean("mlp", false);
  }
  if (q.has("recipe")) s->recipe_json = q.object("recipe").obj.dump();
}

}  // namespace

void validate_spec(const ArchSpec& s, const std::string& file) {
  auto bad = [&](const std::string& field, const std::string& what) {
    throw InputError(file + ": " + field + ": " + what);
  };
  if (s.num_layers <= 0 || s.d_model <= 0 || s.num_heads <= 0 || s.num_kv_heads <= 0 || s.head_dim <= 0 ||
      s.d_ff <= 0 || s.vocab_size <= 0 || s.context <= 0)
    bad("sizes", "expected positive layers, sizes, heads, vocab and context");
  if (s.num_heads % s.num_kv_heads != 0)
    bad("num_key_value_heads", "expected a divisor of num_attention_heads " + std::to_string(s.num_heads) +
                                   ", got " + std::to_string(s.num_kv_heads));
  if (s.positions == PosKind::kRope && s.head_dim % 2 != 0)
    bad("head_dim", "expected an even head_dim for rotary positions, got " + std::to_string(s.head_dim));
  if (!(s.norm_eps > 0.0f)) bad("norm_eps", "expected a positive epsilon");
  if (s.positions == PosKind::kRope && !(s.rope_theta > 0.0f)) bad("rope_theta", "expected a positive base");
  if (s.bos_token_id >= s.vocab_size) bad("bos_token_id", "expected an id below vocab_size");
  // The canonical model has no gate bias: refuse rather than drop it.
  if (s.mlp_bias && s.mlp == MlpKind::kSwiGLU)
    bad("mlp_bias", "unsupported with a SwiGLU MLP (expected no MLP bias)");
}

ArchSpec parse_config(const json& doc, const std::string& file) {
  if (!doc.is_object()) throw InputError(file + ": expected a JSON object");
  const Fields f{doc, file, ""};
  if (!f.has("architectures") || !doc["architectures"].is_array() || doc["architectures"].size() != 1 ||
      !doc["architectures"][0].is_string())
    f.fail("architectures", "expected a list with one architecture name");
  ArchSpec s;
  s.architecture = doc["architectures"][0].get<std::string>();
  if (s.architecture == "LlamaForCausalLM" || s.architecture == "MistralForCausalLM") {
    parse_hf_llama(f, &s, false);
    if (s.architecture == "MistralForCausalLM" && f.has("sliding_window") && f.int_value("sliding_window") < s.context)
      f.fail("sliding_window", "unsupported (expected null: full causal attention)");
    s.architecture = "LlamaForCausalLM";
  } else if (s.architecture == "Qwen2ForCausalLM") {
    parse_hf_llama(f, &s, true);
  } else if (s.architecture == "GPT2LMHeadModel") {
    parse_gpt2(f, &s);
  } else if (s.architecture == "QHarnessForCausalLM") {
    parse_qharness(f, &s);
  } else {
    f.fail("architectures", "unknown architecture \"" + s.architecture +
                                "\" (expected LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel or "
                                "QHarnessForCausalLM)");
  }
  validate_spec(s, file);
  return s;
}

ArchSpec read_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": missing or unreadable (expected the checkpoint's config.json)");
  std::ostringstream ss;
  ss << in.rdbuf();
  const json doc = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw InputError(path + ": invalid JSON");
  return parse_config(doc, path);
}

// float -> the shortest decimal that reads back as the same float (1e-05, not 9.999999747378752e-06).
static double tidy(float x) { return std::stod(fmt::format("{}", x)); }

json config_to_json(const ArchSpec& s) {
  json recipe = json::parse(s.recipe_json, nullptr, false);
  if (recipe.is_discarded() || !recipe.is_object()) recipe = json::object();
  json j = {
      {"architectures", {"QHarnessForCausalLM"}},
      {"model_type", "qharness"},
      {"hidden_size", s.d_model},
      {"num_hidden_layers", s.num_layers},
      {"num_attention_heads", s.num_heads},
      {"num_key_value_heads", s.num_kv_heads},
      {"head_dim", s.head_dim},
      {"intermediate_size", s.d_ff},
      {"vocab_size", s.vocab_size},
      {"max_position_embeddings", s.context},
      {"norm_eps", tidy(s.norm_eps)},
      {"rope_theta", tidy(s.rope_theta)},
      {"tie_word_embeddings", s.tied_embeddings},
      {"qharness",
       {{"format_version", 1},
        {"norm", to_string(s.norm)},
        {"norm_bias", s.norm_bias},
        {"positions", to_string(s.positions)},
        {"mlp", to_string(s.mlp)},
        {"attention",
         {{"variant", to_string(s.attn.kind)},
          {"gate", to_string(s.attn.gate)},
          {"zeta", tidy(s.attn.clip_zeta)},
          {"gamma", tidy(s.attn.clip_gamma)}}},
        {"bias", {{"qkv", s.qkv_bias}, {"o", s.o_bias}, {"mlp", s.mlp_bias}}},
        {"recipe", recipe}}},
  };
  if (s.bos_token_id >= 0) j["bos_token_id"] = s.bos_token_id;
  return j;
}

}  // namespace qh
