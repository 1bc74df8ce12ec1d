#include "models/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "models/json_util.h"
#include "src/core/error.h"

namespace qh {

using nlohmann::json;
using json_util::Fields;

namespace {

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

// Fields any HF config may carry whose meaning the engine does not implement: refused by name.
void refuse_unsupported_hf(const Fields& f) {
  for (const char* key : {"num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts"})
    if (f.has(key) && f.obj.at(key).is_number() && f.number(key) > 0)
      f.fail(key, "mixture-of-experts layers are unsupported (expected a dense MLP: 0 or absent)");
  if (f.has("rope_scaling")) {
    const json& r = f.obj.at("rope_scaling");
    const std::string type = r.is_object() ? r.value("rope_type", r.value("type", std::string("?"))) : "?";
    if (type != "default")
      f.fail("rope_scaling", "unsupported RoPE scaling type \"" + type + "\" (expected null: no RoPE scaling)");
  }
  if (f.has("clip_qkv")) f.fail("clip_qkv", "unsupported (expected null: no clipping of q, k, v)");
}

// layer_types (newer HF configs): "full_attention" or "sliding_attention" per layer; anything else (Qwen3-Next's
// "linear_attention") is refused. Returns false when absent.
bool parse_layer_types(const Fields& f, ArchSpec* s) {
  if (!f.has("layer_types")) return false;
  const json& lt = f.obj.at("layer_types");
  if (!lt.is_array() || static_cast<int>(lt.size()) != s->num_layers)
    f.fail("layer_types", "expected a list of " + std::to_string(s->num_layers) + " layer types");
  s->sliding_layers.assign(s->num_layers, 0);
  for (int i = 0; i < s->num_layers; ++i) {
    const std::string t = lt[i].is_string() ? lt[i].get<std::string>() : json_util::brief(lt[i]);
    if (t == "sliding_attention") s->sliding_layers[i] = 1;
    else if (t != "full_attention")
      f.fail("layer_types", "layer " + std::to_string(i) + " is \"" + t +
                                "\": unsupported (expected \"full_attention\" or \"sliding_attention\")");
  }
  return true;
}

int sliding_window_of(const Fields& f) {
  if (!f.has("sliding_window")) return 0;
  return f.positive_int("sliding_window");
}

// How the architectures of the Llama family differ (see parse_config).
enum class Family { kLlama, kMistral, kQwen2, kQwen3, kOlmo2, kGemma, kGemma2, kPhi3 };

void parse_hf_llama(const Fields& f, ArchSpec* s, Family fam) {
  parse_llama_like(f, s);
  refuse_unsupported_hf(f);
  const bool gemma = fam == Family::kGemma || fam == Family::kGemma2;
  s->norm_eps = static_cast<float>(f.number("rms_norm_eps", 1e-6));
  if (gemma) {
    // Gemma-2 reads hidden_activation; Gemma configs carry both, hidden_activation winning where present.
    const std::string key = f.has("hidden_activation") ? "hidden_activation" : "hidden_act";
    const std::string act = f.string(key, "gelu_pytorch_tanh");
    if (act != "gelu_pytorch_tanh" && act != "gelu_new")
      f.fail(key, "unsupported activation '" + act + "' (expected \"gelu_pytorch_tanh\")");
    s->mlp = MlpKind::kGeGLU;
    s->norm_weight_offset = 1.0f;
    s->embed_scale = static_cast<float>(std::sqrt(static_cast<double>(s->d_model)));
    s->tied_embeddings = f.boolean("tie_word_embeddings", true);
  } else {
    const std::string act = f.string("hidden_act", "silu");
    if (act != "silu") f.fail("hidden_act", "unsupported activation '" + act + "' (expected \"silu\")");
  }
  if (f.has("partial_rotary_factor")) {
    const double r = f.number("partial_rotary_factor");
    const int dims = static_cast<int>(s->head_dim * r);  // HF: int(head_dim * partial_rotary_factor)
    if (!(r > 0.0 && r <= 1.0) || dims < 2 || dims % 2 != 0)
      f.fail("partial_rotary_factor", "expected a factor in (0, 1] giving an even number of rotary dims");
    if (dims != s->head_dim) s->rotary_dim = dims;
  }
  // Biases: Qwen2 always has q/k/v biases; Llama, Qwen3, OLMo-2 and Gemma put attention_bias on q, k, v and o.
  if (fam == Family::kQwen2) {
    s->qkv_bias = true;
    if (f.boolean("attention_bias", false)) f.fail("attention_bias", "unsupported for Qwen2 (expected false)");
  } else if (fam == Family::kPhi3) {
    if (f.boolean("attention_bias", false))
      f.fail("attention_bias", "unsupported for Phi-3's fused qkv_proj (expected false)");
  } else {
    s->qkv_bias = s->o_bias = f.boolean("attention_bias", false);
  }
  if (fam == Family::kLlama) s->mlp_bias = f.boolean("mlp_bias", false);
  else if (f.boolean("mlp_bias", false)) f.fail("mlp_bias", "unsupported for this architecture (expected false)");

  if (f.boolean("attn_output_gate", false)) {  // Qwen3-Next's gated attention
    s->attn.kind = AttnKind::kGated;
    s->attn.gate = GateKind::kElementwise;
    if (fam == Family::kPhi3)
      f.fail("attn_output_gate", "unsupported with Phi-3's fused qkv_proj (expected false)");
  }
  if (fam == Family::kQwen3) s->qk_norm = QkNorm::kPerHead;
  if (fam == Family::kOlmo2) {
    s->qk_norm = QkNorm::kFull;
    s->pre_norm = false;
    s->post_norm = true;
  }
  if (fam == Family::kGemma2) {
    s->post_norm = true;
    s->attn_scale = static_cast<float>(1.0 / std::sqrt(f.number("query_pre_attn_scalar", 256.0)));
    if (f.has("attn_logit_softcapping")) s->attn_softcap = static_cast<float>(f.number("attn_logit_softcapping"));
    if (f.has("final_logit_softcapping"))
      s->final_softcap = static_cast<float>(f.number("final_logit_softcapping"));
    if (s->attn_softcap < 0.0f) f.fail("attn_logit_softcapping", "expected a positive cap or null");
    if (s->final_softcap < 0.0f) f.fail("final_logit_softcapping", "expected a positive cap or null");
  }

  // Sliding windows.
  const bool typed = parse_layer_types(f, s);
  switch (fam) {
    case Family::kMistral:
    case Family::kPhi3:
    case Family::kGemma2:
      s->sliding_window = sliding_window_of(f);
      if (!typed && fam == Family::kGemma2) {  // every even layer slides
        s->sliding_layers.assign(s->num_layers, 0);
        for (int i = 0; i < s->num_layers; i += 2) s->sliding_layers[i] = 1;
      }
      break;
    case Family::kQwen2:
    case Family::kQwen3:
      if (f.boolean("use_sliding_window", false)) {
        s->sliding_window = sliding_window_of(f);
        if (!typed) {  // HF: layers from max_window_layers on slide
          const int from = f.int_value("max_window_layers", s->num_layers);
          s->sliding_layers.assign(s->num_layers, 0);
          for (int i = std::max(0, from); i < s->num_layers; ++i) s->sliding_layers[i] = 1;
        }
      }
      break;
    default:
      break;
  }
  if (typed && s->sliding_window == 0) {
    for (uint8_t x : s->sliding_layers)
      if (x) f.fail("layer_types", "names sliding_attention layers but sliding_window is not set");
    s->sliding_layers.clear();
  }
  if (s->sliding_window > 0 && s->sliding_window >= s->context) {  // the band covers every window: plain causal
    s->sliding_window = 0;
    s->sliding_layers.clear();
  }
  if (s->sliding_window == 0) s->sliding_layers.clear();
}

void parse_neox(const Fields& f, ArchSpec* s) {
  refuse_unsupported_hf(f);
  s->d_model = f.positive_int("hidden_size");
  s->num_layers = f.positive_int("num_hidden_layers");
  s->num_heads = f.positive_int("num_attention_heads");
  if (s->d_model % s->num_heads != 0)
    f.fail("num_attention_heads", "expected a divisor of hidden_size " + std::to_string(s->d_model));
  s->num_kv_heads = s->num_heads;
  s->head_dim = s->d_model / s->num_heads;
  s->d_ff = f.positive_int("intermediate_size");
  s->vocab_size = f.positive_int("vocab_size");
  s->context = f.positive_int("max_position_embeddings");
  s->norm = NormKind::kLayerNorm;
  s->norm_bias = true;
  s->norm_eps = static_cast<float>(f.number("layer_norm_eps", 1e-5));
  s->positions = PosKind::kRope;
  s->rope_theta = static_cast<float>(f.has("rope_theta") ? f.number("rope_theta") : f.number("rotary_emb_base", 10000.0));
  const double pct = f.number("rotary_pct", 0.25);
  const int dims = static_cast<int>(s->head_dim * pct);  // HF: int(head_size * rotary_pct)
  if (!(pct > 0.0 && pct <= 1.0) || dims < 2 || dims % 2 != 0)
    f.fail("rotary_pct", "expected a fraction in (0, 1] giving an even number of rotary dims");
  if (dims != s->head_dim) s->rotary_dim = dims;
  const std::string act = f.string("hidden_act", "gelu");
  if (act == "gelu") s->mlp = MlpKind::kGeluExact;
  else if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") s->mlp = MlpKind::kGelu;
  else if (act == "relu") s->mlp = MlpKind::kRelu;
  else f.fail("hidden_act", "unsupported activation '" + act + "' (expected gelu, gelu_new or relu)");
  s->parallel_residual = f.boolean("use_parallel_residual", true);
  s->qkv_bias = s->o_bias = f.boolean("attention_bias", true);
  s->mlp_bias = true;
  s->tied_embeddings = f.boolean("tie_word_embeddings", false);
  s->bos_token_id = bos_of(f);
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
  q.only_keys({"format_version", "norm", "norm_bias", "positions", "mlp", "attention", "bias", "block", "recipe"});
  const int version = q.int_value("format_version");
  if (version != 1) q.fail("format_version", "unsupported version " + std::to_string(version) + " (expected 1)");
  s->norm = parse_enum(q, "norm", NormKind::kRMSNorm, {NormKind::kLayerNorm, NormKind::kRMSNorm});
  s->norm_bias = q.boolean("norm_bias", false);
  if (s->norm_bias && s->norm != NormKind::kLayerNorm)
    q.fail("norm_bias", "expected false with \"rmsnorm\" (a bias needs \"layernorm\")");
  s->positions = parse_enum(q, "positions", PosKind::kRope, {PosKind::kLearned, PosKind::kRope, PosKind::kNone});
  s->mlp = parse_enum(q, "mlp", MlpKind::kSwiGLU,
                      {MlpKind::kRelu, MlpKind::kGelu, MlpKind::kGeluExact, MlpKind::kSwiGLU, MlpKind::kGeGLU});
  if (q.has("block")) {  // what the HF architectures add to a block (models/arch.h); absent: a plain pre-norm block
    const Fields b = q.object("block");
    b.only_keys({"pre_norm", "post_norm", "parallel_residual", "qk_norm", "rotary_dim", "attn_scale",
                 "attn_softcap", "final_softcap", "embed_scale", "sliding_window", "sliding_layers"});
    s->pre_norm = b.boolean("pre_norm", true);
    s->post_norm = b.boolean("post_norm", false);
    s->parallel_residual = b.boolean("parallel_residual", false);
    s->qk_norm = parse_enum(b, "qk_norm", QkNorm::kNone, {QkNorm::kNone, QkNorm::kPerHead, QkNorm::kFull});
    s->rotary_dim = b.int_value("rotary_dim", 0);
    s->attn_scale = static_cast<float>(b.number("attn_scale", 0.0));
    s->attn_softcap = static_cast<float>(b.number("attn_softcap", 0.0));
    s->final_softcap = static_cast<float>(b.number("final_softcap", 0.0));
    s->embed_scale = static_cast<float>(b.number("embed_scale", 1.0));
    s->sliding_window = b.int_value("sliding_window", 0);
    if (b.has("sliding_layers")) {
      const json& l = b.obj.at("sliding_layers");
      if (!l.is_array()) b.fail("sliding_layers", "expected a list of 0 / 1 per layer");
      for (const json& x : l) {
        if (!x.is_number_integer() || (x.get<int>() != 0 && x.get<int>() != 1))
          b.fail("sliding_layers", "expected a list of 0 / 1 per layer");
        s->sliding_layers.push_back(static_cast<uint8_t>(x.get<int>()));
      }
    }
  }
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
  if (s.mlp_bias && is_glu(s.mlp))
    bad("mlp_bias", "unsupported with a gated (SwiGLU / GeGLU) MLP (expected no MLP bias)");
  if (s.rotary_dim < 0 || s.rotary_dim > s.head_dim || s.rotary_dim % 2 != 0)
    bad("rotary_dim", "expected an even number of rotary dims up to head_dim " + std::to_string(s.head_dim));
  if (s.sliding_window < 0) bad("sliding_window", "expected a positive window or 0 (none)");
  if (!s.sliding_layers.empty() && static_cast<int>(s.sliding_layers.size()) != s.num_layers)
    bad("sliding_layers", "expected one flag per layer (" + std::to_string(s.num_layers) + ")");
  if (!s.pre_norm && s.parallel_residual)
    bad("parallel_residual", "expected pre_norm with a parallel residual (the MLP reads mlp_norm(h))");
  if (!(s.attn_scale >= 0.0f) || !(s.attn_softcap >= 0.0f) || !(s.final_softcap >= 0.0f) ||
      !(s.embed_scale > 0.0f))
    bad("attn_scale", "expected non-negative scales and soft-caps and a positive embed_scale");
}

ArchSpec parse_config(const json& doc, const std::string& file) {
  if (!doc.is_object()) throw InputError(file + ": expected a JSON object");
  const Fields f{doc, file, ""};
  if (!f.has("architectures") || !doc["architectures"].is_array() || doc["architectures"].size() != 1 ||
      !doc["architectures"][0].is_string())
    f.fail("architectures", "expected a list with one architecture name");
  ArchSpec s;
  s.architecture = doc["architectures"][0].get<std::string>();
  static const std::pair<const char*, Family> kFamilies[] = {
      {"LlamaForCausalLM", Family::kLlama},   {"MistralForCausalLM", Family::kMistral},
      {"Qwen2ForCausalLM", Family::kQwen2},   {"Qwen3ForCausalLM", Family::kQwen3},
      {"Olmo2ForCausalLM", Family::kOlmo2},   {"GemmaForCausalLM", Family::kGemma},
      {"Gemma2ForCausalLM", Family::kGemma2}, {"Phi3ForCausalLM", Family::kPhi3}};
  bool known = false;
  for (const auto& [name, fam] : kFamilies)
    if (s.architecture == name) {
      parse_hf_llama(f, &s, fam);
      known = true;
    }
  if (known) {
  } else if (s.architecture == "GPTNeoXForCausalLM") {
    parse_neox(f, &s);
  } else if (s.architecture == "GPT2LMHeadModel") {
    parse_gpt2(f, &s);
  } else if (s.architecture == "QHarnessForCausalLM") {
    parse_qharness(f, &s);
  } else if (s.architecture == "GptOssForCausalLM" || s.architecture == "Qwen3NextForCausalLM" ||
             s.architecture == "MixtralForCausalLM" || s.architecture == "Qwen2MoeForCausalLM" ||
             s.architecture == "Qwen3MoeForCausalLM") {
    refuse_unsupported_hf(f);  // names the experts field when present
    if (f.has("num_hidden_layers") && f.has("layer_types")) {  // names a linear-attention layer when present
      s.num_layers = f.positive_int("num_hidden_layers");
      parse_layer_types(f, &s);
    }
    f.fail("architectures", "\"" + s.architecture +
                                "\" has mixture-of-experts or linear-attention layers: unsupported (expected a "
                                "dense architecture; its sinks / attn_output_gate are read from Llama, Qwen2 or "
                                "Qwen3 configs)");
  } else {
    f.fail("architectures", "unknown architecture \"" + s.architecture +
                                "\" (expected LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
                                "Qwen3ForCausalLM, Olmo2ForCausalLM, GemmaForCausalLM, Gemma2ForCausalLM, "
                                "Phi3ForCausalLM, GPTNeoXForCausalLM, GPT2LMHeadModel or QHarnessForCausalLM)");
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
  QH_CHECK(s.norm_weight_offset == 0.0f);  // a loaded Model holds effective norm multipliers
  const ArchSpec plain;
  if (s.pre_norm != plain.pre_norm || s.post_norm || s.parallel_residual || s.qk_norm != QkNorm::kNone ||
      s.rotary_dim || s.attn_scale || s.attn_softcap || s.final_softcap || s.embed_scale != 1.0f ||
      s.sliding_window) {
    json b = {{"pre_norm", s.pre_norm},
              {"post_norm", s.post_norm},
              {"parallel_residual", s.parallel_residual},
              {"qk_norm", to_string(s.qk_norm)},
              {"rotary_dim", s.rotary_dim},
              {"attn_scale", tidy(s.attn_scale)},
              {"attn_softcap", tidy(s.attn_softcap)},
              {"final_softcap", tidy(s.final_softcap)},
              {"embed_scale", tidy(s.embed_scale)},
              {"sliding_window", s.sliding_window}};
    json layers = json::array();
    for (uint8_t x : s.sliding_layers) layers.push_back(int{x});
    b["sliding_layers"] = layers;
    j["qharness"]["block"] = b;
  }
  if (s.bos_token_id >= 0) j["bos_token_id"] = s.bos_token_id;
  return j;
}

}  // namespace qh
