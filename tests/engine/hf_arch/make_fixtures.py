#!/usr/bin/env python3
"""Fixtures for tests/engine/hf_arch_test.cc: logits (and sink / gate statistics) of tiny random checkpoints of
each Hugging Face architecture the harness maps, computed by PyTorch implementations of the architectures
written from the Hugging Face model definitions (modeling_llama, _mistral, _qwen3, _qwen3_next (gated
attention), _gpt_oss (sinks), _olmo2, _gpt_neox, _gemma, _gemma2, _phi3).

Weights are not stored: every element is a hash of (tensor name, index), computed identically by the C++ test
(hf_weights in hf_arch_test.cc), which writes the checkpoint from the tensor names and shapes listed here.
Each fixture holds the config.json, the tensors (name, shape) as the Hugging Face module tree names them, the
tokens, and the float32 forward's logits. Run from anywhere: python3 make_fixtures.py (writes next to itself).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def fnv1a(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def element(name, i):
    """The i-th element of tensor `name`, as a double (the test rounds it to float like this script)."""
    u = (splitmix64((fnv1a(name) + i) & M64) >> 11) * 2.0 ** -53 * 2.0 - 1.0
    if name.endswith(".bias"):
        return 0.2 * u
    if name.endswith("sinks"):
        return 2.0 * u
    if "norm" in name and name.endswith(".weight"):
        return 1.0 + 0.3 * u
    if "embed" in name:
        return u
    return 0.4 * u


class Params:
    """Creates each parameter on first use and records (name, shape) in creation order."""

    def __init__(self):
        self.listed = []

    def __call__(self, name, *shape):
        n = 1
        for s in shape:
            n *= s
        self.listed.append([name, list(shape)])
        data = [element(name, i) for i in range(n)]
        return torch.tensor(data, dtype=torch.float64).to(torch.float32).reshape(*shape)


def linear(x, w, b=None):
    return F.linear(x, w, b)


def rms_norm(x, w, eps):  # LlamaRMSNorm / Qwen3RMSNorm / Olmo2RMSNorm / Phi3RMSNorm
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def gemma_rms_norm(x, w, eps):  # GemmaRMSNorm: (1 + weight), in float32
    out = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)
    return out * (1.0 + w.float())


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(x, theta, rot):
    """x [heads, T, hd]; rotate the first `rot` dims (partial rotary), HF's default rotary embedding."""
    T = x.shape[1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, rot, 2, dtype=torch.int64).float() / rot))
    freqs = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    xr, xp = x[..., :rot], x[..., rot:]
    return torch.cat((xr * cos + rotate_half(xr) * sin, xp), dim=-1)


class Stats:
    def __init__(self):
        self.sink_mass = []  # [layer][head]: mean over queries i >= 1 of the probability on the sink (the audit's)
        self.gate_mean = []  # [layer][head]: mean sigmoid(gate) over tokens and the head's channels


def attention(q, k, v, scale, window=None, softcap=None, sinks=None, stats=None):
    """q [H, T, hd], k / v [KV, T, hd] -> [T, H*hd]. HF eager attention; GPT-OSS sinks as an extra column."""
    H, T, hd = q.shape
    G = H // k.shape[0]
    k = k.repeat_interleave(G, dim=0)
    v = v.repeat_interleave(G, dim=0)
    w = torch.matmul(q, k.transpose(1, 2)) * scale
    if softcap is not None:  # Gemma-2: before the mask
        w = torch.tanh(w / softcap) * softcap
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = j <= i
    if window is not None:  # HF sliding_window_overlay: kv_idx > q_idx - sliding_window
        allowed = allowed & (j > i - window)
    w = w.masked_fill(~allowed, torch.finfo(torch.float32).min)
    if sinks is not None:  # modeling_gpt_oss eager_attention_forward
        s = sinks.reshape(H, 1, 1).expand(H, T, 1)
        combined = torch.cat([w, s], dim=-1)
        combined = combined - combined.max(dim=-1, keepdim=True).values
        probs = F.softmax(combined, dim=-1)
        if stats is not None:
            stats.sink_mass.append(probs[:, 1:, -1].mean(dim=1).tolist())
        probs = probs[..., :-1]
    else:
        probs = F.softmax(w, dim=-1)
    return torch.matmul(probs, v).transpose(0, 1).reshape(T, H * hd)


def llama_family(cfg, P, tokens, stats, kind):
    """Llama, Mistral, Qwen3 (+ gated attention), OLMo-2, Gemma, Gemma-2, Phi-3 (+ GPT-OSS sinks)."""
    d, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    KV = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim", d // H)
    ff, V, eps = cfg["intermediate_size"], cfg["vocab_size"], cfg["rms_norm_eps"]
    theta = cfg.get("rope_theta", 10000.0)
    rot = int(hd * cfg.get("partial_rotary_factor", 1.0))
    gemma = kind in ("gemma", "gemma2")
    norm = gemma_rms_norm if gemma else rms_norm
    act = (lambda x: F.gelu(x, approximate="tanh")) if gemma else F.silu
    bias = cfg.get("attention_bias", False)
    gated = cfg.get("attn_output_gate", False)
    sinks = cfg.get("_sinks", False)
    T = len(tokens)
    emb = P("model.embed_tokens.weight", V, d)
    h = emb[torch.tensor(tokens)]
    if gemma:
        h = h * torch.tensor(d ** 0.5, dtype=h.dtype)
    scale = cfg["query_pre_attn_scalar"] ** -0.5 if kind == "gemma2" else hd ** -0.5
    for l in range(L):
        p = f"model.layers.{l}."
        window = None
        if kind in ("mistral", "phi3") and cfg.get("sliding_window"):
            window = cfg["sliding_window"]
        if kind == "gemma2" and l % 2 == 0:
            window = cfg["sliding_window"]
        softcap = cfg.get("attn_logit_softcapping") if kind == "gemma2" else None
        # Parameters in the order the HF module tree registers them.
        if kind != "olmo2":
            w_in = P(p + "input_layernorm.weight", d)
        if kind == "phi3":
            w_qkv = P(p + "self_attn.qkv_proj.weight", H * hd + 2 * KV * hd, d)
        else:
            w_q = P(p + "self_attn.q_proj.weight", (2 if gated else 1) * H * hd, d)
            b_q = P(p + "self_attn.q_proj.bias", (2 if gated else 1) * H * hd) if bias else None
            w_k = P(p + "self_attn.k_proj.weight", KV * hd, d)
            b_k = P(p + "self_attn.k_proj.bias", KV * hd) if bias else None
            w_v = P(p + "self_attn.v_proj.weight", KV * hd, d)
            b_v = P(p + "self_attn.v_proj.bias", KV * hd) if bias else None
        w_o = P(p + "self_attn.o_proj.weight", d, H * hd)
        b_o = P(p + "self_attn.o_proj.bias", d) if bias else None
        if kind == "qwen3":
            w_qn = P(p + "self_attn.q_norm.weight", hd)
            w_kn = P(p + "self_attn.k_norm.weight", hd)
        if kind == "olmo2":
            w_qn = P(p + "self_attn.q_norm.weight", H * hd)
            w_kn = P(p + "self_attn.k_norm.weight", KV * hd)
        s = P(p + "self_attn.sinks", H) if sinks else None
        if kind == "phi3":
            w_gu = P(p + "mlp.gate_up_proj.weight", 2 * ff, d)
        else:
            w_g = P(p + "mlp.gate_proj.weight", ff, d)
            w_u = P(p + "mlp.up_proj.weight", ff, d)
        w_dn = P(p + "mlp.down_proj.weight", d, ff)
        if kind in ("olmo2", "gemma2"):
            w_pa = P(p + "post_attention_layernorm.weight", d)
            if kind == "gemma2":
                w_pre = P(p + "pre_feedforward_layernorm.weight", d)
            w_pf = P(p + "post_feedforward_layernorm.weight", d)
        else:
            w_pre = P(p + "post_attention_layernorm.weight", d)

        # Attention.
        r = h
        x = h if kind == "olmo2" else norm(h, w_in, eps)
        if kind == "phi3":
            qkv = linear(x, w_qkv)
            q, k, v = qkv[:, : H * hd], qkv[:, H * hd : H * hd + KV * hd], qkv[:, H * hd + KV * hd :]
        else:
            q, k, v = linear(x, w_q, b_q), linear(x, w_k, b_k), linear(x, w_v, b_v)
        gate = None
        if gated:  # modeling_qwen3_next: q_proj viewed per head as [query | gate]
            q, gate = torch.chunk(q.view(T, H, 2 * hd), 2, dim=-1)
            gate = gate.reshape(T, H * hd)
            q = q.reshape(T, H * hd)
        if kind == "olmo2":
            q, k = norm(q, w_qn, eps), norm(k, w_kn, eps)
        q = q.view(T, H, hd)
        k = k.view(T, KV, hd)
        if kind == "qwen3":
            q, k = norm(q, w_qn, eps), norm(k, w_kn, eps)
        q = rope(q.transpose(0, 1), theta, rot)
        k = rope(k.transpose(0, 1), theta, rot)
        v = v.view(T, KV, hd).transpose(0, 1)
        a = attention(q, k, v, scale, window, softcap, s, stats)
        if gated:
            g = torch.sigmoid(gate)
            stats.gate_mean.append(g.view(T, H, hd).mean(dim=(0, 2)).tolist())
            a = a * g
        a = linear(a, w_o, b_o)
        if kind in ("olmo2", "gemma2"):
            a = norm(a, w_pa, eps)
        h = r + a
        # MLP.
        r = h
        x = h if kind == "olmo2" else norm(h, w_pre, eps)
        if kind == "phi3":
            gu = linear(x, w_gu)
            gt, up = gu.chunk(2, dim=-1)
            m = linear(up * act(gt), w_dn)
        else:
            m = linear(act(linear(x, w_g)) * linear(x, w_u), w_dn)
        if kind in ("olmo2", "gemma2"):
            m = norm(m, w_pf, eps)
        h = r + m
    h = norm(h, P("model.norm.weight", d), eps)
    tied = cfg.get("tie_word_embeddings", gemma)
    head = emb if tied else P("lm_head.weight", V, d)
    logits = linear(h, head)
    if kind == "gemma2" and cfg.get("final_logit_softcapping"):
        c = cfg["final_logit_softcapping"]
        logits = torch.tanh(logits / c) * c
    return logits


def gpt_neox(cfg, P, tokens, stats):
    d, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    hd, ff, V, eps = d // H, cfg["intermediate_size"], cfg["vocab_size"], cfg["layer_norm_eps"]
    rot = int(hd * cfg["rotary_pct"])
    theta = cfg["rotary_emb_base"]
    T = len(tokens)
    h = P("gpt_neox.embed_in.weight", V, d)[torch.tensor(tokens)]
    for l in range(L):
        p = f"gpt_neox.layers.{l}."
        ln1w, ln1b = P(p + "input_layernorm.weight", d), P(p + "input_layernorm.bias", d)
        ln2w, ln2b = P(p + "post_attention_layernorm.weight", d), P(p + "post_attention_layernorm.bias", d)
        w_qkv, b_qkv = P(p + "attention.query_key_value.weight", 3 * d, d), P(p + "attention.query_key_value.bias", 3 * d)
        w_o, b_o = P(p + "attention.dense.weight", d, d), P(p + "attention.dense.bias", d)
        w_1, b_1 = P(p + "mlp.dense_h_to_4h.weight", ff, d), P(p + "mlp.dense_h_to_4h.bias", ff)
        w_2, b_2 = P(p + "mlp.dense_4h_to_h.weight", d, ff), P(p + "mlp.dense_4h_to_h.bias", d)
        x = F.layer_norm(h, (d,), ln1w, ln1b, eps)
        qkv = linear(x, w_qkv, b_qkv).view(T, H, 3 * hd).transpose(0, 1)  # [H, T, 3 hd]
        q, k, v = qkv.chunk(3, dim=-1)
        q, k = rope(q, theta, rot), rope(k, theta, rot)
        a = linear(attention(q, k, v, hd ** -0.5), w_o, b_o)
        mlp = lambda y: linear(F.gelu(linear(y, w_1, b_1)), w_2, b_2)
        if cfg["use_parallel_residual"]:
            h = mlp(F.layer_norm(h, (d,), ln2w, ln2b, eps)) + a + h
        else:
            a = a + h
            h = mlp(F.layer_norm(a, (d,), ln2w, ln2b, eps)) + a
    h = F.layer_norm(h, (d,), P("gpt_neox.final_layer_norm.weight", d), P("gpt_neox.final_layer_norm.bias", d), eps)
    return linear(h, P("embed_out.weight", V, d))


BASE = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 24, "vocab_size": 48, "max_position_embeddings": 64, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "tie_word_embeddings": False}


def cfg(arch, model_type, **kw):
    c = dict(BASE, architectures=[arch], model_type=model_type)
    c.update(kw)
    return c


CASES = {
    "llama_sinks": ("llama", cfg("LlamaForCausalLM", "llama", hidden_act="silu", _sinks=True)),
    "mistral_window": ("mistral", cfg("MistralForCausalLM", "mistral", hidden_act="silu", sliding_window=3)),
    "qwen3": ("qwen3", cfg("Qwen3ForCausalLM", "qwen3", head_dim=8, hidden_act="silu", attention_bias=False,
                           use_sliding_window=False)),
    "qwen3_gated": ("qwen3", cfg("Qwen3ForCausalLM", "qwen3", head_dim=8, hidden_act="silu", attn_output_gate=True)),
    "olmo2": ("olmo2", cfg("Olmo2ForCausalLM", "olmo2", hidden_act="silu", attention_bias=False)),
    "gemma": ("gemma", cfg("GemmaForCausalLM", "gemma", head_dim=8, hidden_act="gelu",
                           hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True)),
    "gemma2": ("gemma2", cfg("Gemma2ForCausalLM", "gemma2", head_dim=8, hidden_activation="gelu_pytorch_tanh",
                             tie_word_embeddings=True, query_pre_attn_scalar=12, sliding_window=3,
                             attn_logit_softcapping=2.0, final_logit_softcapping=3.0)),
    "phi3": ("phi3", cfg("Phi3ForCausalLM", "phi3", num_key_value_heads=4, hidden_act="silu", sliding_window=4,
                         partial_rotary_factor=0.5, rope_scaling=None)),
}
for parallel in (True, False):
    name = "neox_parallel" if parallel else "neox_sequential"
    CASES[name] = ("neox", {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": 16,
                            "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 40,
                            "vocab_size": 48, "max_position_embeddings": 64, "layer_norm_eps": 1e-5,
                            "rotary_pct": 0.5, "rotary_emb_base": 10000, "hidden_act": "gelu",
                            "use_parallel_residual": parallel, "tie_word_embeddings": False})

TOKENS = [3, 17, 0, 45, 9, 30, 12]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, (kind, config) in CASES.items():
        P, stats = Params(), Stats()
        with torch.no_grad():
            if kind == "neox":
                logits = gpt_neox(config, P, TOKENS, stats)
            else:
                logits = llama_family(config, P, TOKENS, stats, kind)
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        out = {"config": config, "tensors": P.listed, "tokens": TOKENS,
               "logits": [[float("%.9g" % x) for x in row] for row in logits.tolist()]}
        if stats.sink_mass:
            out["sink_mass"] = stats.sink_mass
        if stats.gate_mean:
            out["gate_mean"] = stats.gate_mean
        with open(os.path.join(here, name + ".json"), "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
