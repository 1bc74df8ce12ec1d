#!/usr/bin/env python3
"""PyTorch reference figure for `qharness bench eval`: fake-quantized forward passes of a random Llama.

What it measures
    Tokens per second of a plain PyTorch forward pass (float32, torch.inference_mode()) over the same
    workload as `qharness bench eval`: a random Llama of the bench's "rand25M" shape, 8 windows of 512
    random token ids, logits for every position. Three schemes, matching the bench rows:

      FP32   float32 weights and activations              (row eval_FP32)
      W8A8   8-bit weights and activations, fake-quantized (row eval_W8A8)
      W4A4   4-bit weights and activations, fake-quantized (row eval_W4A4)

    Fake quantization is what a PyTorch user would write: weights are quantized symmetrically per output
    channel once at load (scale = row absmax / qmax, qmax = 2^(b-1) - 1, round to nearest, clamp to
    [-qmax, qmax]) and kept dequantized in float32; the input of every linear layer (q, k, v, o, gate, up,
    down; not the lm_head) is quantized dynamically per token in the same way, then dequantized. q/k/v
    are fused into one matmul, gate/up into another, since they share their input. Token embeddings and
    the lm_head stay float32.

    Both ways of batching are timed (all 8 windows in one batch=8 call, and one window at a time) and the
    faster one is reported. Attention uses torch.nn.functional.scaled_dot_product_attention(is_causal=True)
    where this torch version has it, else an explicit masked softmax; the output says which.

    Each figure: torch.set_num_threads(n), one warm-up pass, then the best of repeated passes over at
    least --seconds (default 5) and at least --min-repeats passes.

    Before timing, a quick sanity check on one window: the max |logit difference| and the mean KL
    divergence KL(softmax FP32 || softmax scheme) of W8A8 and W4A4 against FP32.

How to run
    python3 tests/bench/pytorch_fake_quant.py --threads 1,2
    python3 tests/bench/pytorch_fake_quant.py --threads 1,2 --json pytorch_fake_quant.json

    Needs python3 with torch (e.g. Debian's python3-torch). Debian's torch does its float32 matmuls through
    the system's libblas.so.3, which is the slow reference BLAS unless an optimised one is installed
    (apt-get install libopenblas0-openmp: about 30x faster); the output names the library it loaded. This
    script is a reference measurement to compare with on the same machine; it is not part of the test suite,
    and qharness itself never needs Python.
"""

import argparse
import ctypes
import json
import os
import math
import platform
import sys
import time

import torch
import torch.nn.functional as F

# The bench's "rand25M" shape.
D_MODEL = 512
N_LAYERS = 8
N_HEADS = 8
HEAD_DIM = 64
D_FF = 1376
VOCAB = 4096
NORM_EPS = 1e-5
ROPE_THETA = 10000.0

N_WINDOWS = 8
WINDOW = 512

SCHEMES = {"FP32": None, "W8A8": 8, "W4A4": 4}

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")

torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS library is loaded before loaded_blas() looks


def fake_quant_weight(w, bits):
    """Symmetric per-output-channel (per row) fake quantization, dequantized back to float32."""
    qmax = 2 ** (bits - 1) - 1
    scale = w.abs().amax(dim=1, keepdim=True) / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.clamp(torch.round(w / scale), -qmax, qmax) * scale


def fake_quant_act(x, qmax):
    """Symmetric per-token dynamic fake quantization of the last dimension; a zero row stays zero."""
    scale = x.abs().amax(dim=-1, keepdim=True).div_(qmax)
    scale.masked_fill_(scale == 0, 1.0)
    y = x / scale
    return y.round_().clamp_(-qmax, qmax).mul_(scale)


class RandomLlama:
    """Random Llama weights (untied f32 lm_head); projections ~ N(0, 1/sqrt(fan_in)), norms ~ 1 + 0.1 N(0, 1)."""

    def __init__(self, seed=42):
        g = torch.Generator().manual_seed(seed)

        def normal(*shape, std=1.0):
            return torch.randn(*shape, generator=g) * std

        def proj(out_features, in_features):
            return normal(out_features, in_features, std=1.0 / math.sqrt(in_features))

        def norm():
            return 1.0 + 0.1 * normal(D_MODEL)

        self.tok_emb = normal(VOCAB, D_MODEL)
        self.layers = []
        for _ in range(N_LAYERS):
            self.layers.append({
                "attn_norm": norm(),
                "wq": proj(N_HEADS * HEAD_DIM, D_MODEL),
                "wk": proj(N_HEADS * HEAD_DIM, D_MODEL),
                "wv": proj(N_HEADS * HEAD_DIM, D_MODEL),
                "wo": proj(D_MODEL, N_HEADS * HEAD_DIM),
                "mlp_norm": norm(),
                "w_gate": proj(D_FF, D_MODEL),
                "w_up": proj(D_FF, D_MODEL),
                "w_down": proj(D_MODEL, D_FF),
            })
        self.final_norm = norm()
        self.lm_head = proj(VOCAB, D_MODEL)


class Engine:
    """One scheme's forward pass: weights fake-quantized once here, activations at every linear's input."""

    def __init__(self, model, bits):
        self.qmax = None if bits is None else float(2 ** (bits - 1) - 1)

        def wq(w):
            return w.clone() if bits is None else fake_quant_weight(w, bits)

        self.tok_emb = model.tok_emb
        self.layers = []
        for l in model.layers:
            self.layers.append({
                "attn_norm": l["attn_norm"],
                # Per-row quantization, so quantizing the fused matrix equals quantizing each part.
                "w_qkv": wq(torch.cat([l["wq"], l["wk"], l["wv"]], dim=0)).contiguous(),
                "wo": wq(l["wo"]).contiguous(),
                "mlp_norm": l["mlp_norm"],
                "w_gate_up": wq(torch.cat([l["w_gate"], l["w_up"]], dim=0)).contiguous(),
                "w_down": wq(l["w_down"]).contiguous(),
            })
        self.final_norm = model.final_norm
        self.lm_head = model.lm_head
        self._rope = {}
        self._mask = {}

    def linear(self, x, w):
        if self.qmax is not None:
            x = fake_quant_act(x, self.qmax)
        return F.linear(x, w)

    def rope(self, T):
        if T not in self._rope:
            inv_freq = 1.0 / (ROPE_THETA ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.float32) / HEAD_DIM))
            freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
            emb = torch.cat([freqs, freqs], dim=-1)
            self._rope[T] = (emb.cos(), emb.sin())
        return self._rope[T]

    def causal_mask(self, T):
        if T not in self._mask:
            self._mask[T] = torch.full((T, T), float("-inf")).triu_(1)
        return self._mask[T]

    @staticmethod
    def rms_norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + NORM_EPS) * w

    @staticmethod
    def apply_rope(x, cos, sin):
        # Rotate-half convention, as Hugging Face Llama.
        half = HEAD_DIM // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    def attention(self, q, k, v):
        # q, k, v: [B, H, T, head_dim]
        B, H, T, _ = q.shape
        if HAS_SDPA:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        scores = torch.baddbmm(self.causal_mask(T).expand(B * H, T, T), q.reshape(B * H, T, HEAD_DIM),
                               k.reshape(B * H, T, HEAD_DIM).transpose(1, 2), alpha=1.0 / math.sqrt(HEAD_DIM))
        probs = torch.softmax(scores, dim=-1)
        return torch.bmm(probs, v.reshape(B * H, T, HEAD_DIM)).view(B, H, T, HEAD_DIM)

    def forward(self, tokens):
        """tokens: [B, T] int64 -> logits [B, T, VOCAB] float32."""
        B, T = tokens.shape
        cos, sin = self.rope(T)
        h = F.embedding(tokens, self.tok_emb)
        hd = N_HEADS * HEAD_DIM
        for l in self.layers:
            x = self.rms_norm(h, l["attn_norm"])
            qkv = self.linear(x, l["w_qkv"]).view(B, T, 3, N_HEADS, HEAD_DIM).permute(2, 0, 3, 1, 4)
            q = self.apply_rope(qkv[0], cos, sin)
            k = self.apply_rope(qkv[1], cos, sin)
            v = qkv[2].contiguous()
            a = self.attention(q, k, v).transpose(1, 2).reshape(B, T, hd)
            h = h + self.linear(a, l["wo"])
            x = self.rms_norm(h, l["mlp_norm"])
            gate, up = self.linear(x, l["w_gate_up"]).split(D_FF, dim=-1)
            h = h + self.linear(F.silu(gate) * up, l["w_down"])
        return F.linear(self.rms_norm(h, self.final_norm), self.lm_head)


def best_seconds(fn, min_seconds, min_repeats):
    fn()  # warm-up
    best = float("inf")
    start = time.perf_counter()
    reps = 0
    while True:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        reps += 1
        if reps >= min_repeats and time.perf_counter() - start >= min_seconds:
            return best, reps


def loaded_blas():
    """The BLAS library this process actually loaded (torch may report BLAS_INFO=generic, i.e. whatever
    libblas.so.3 the system provides: the slow reference BLAS, or OpenBLAS...), and its handle."""
    path = ""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                name = line.split()[-1] if len(line.split()) >= 6 else ""
                if "blas" in os.path.basename(name).lower() and not path:
                    path = name
                if "openblas" in os.path.basename(name).lower():
                    path = name
                    break
    except OSError:
        pass
    real = os.path.realpath(path) if path else ""
    handle, config = None, ""
    if real:
        try:
            lib = ctypes.CDLL(real)
            if hasattr(lib, "openblas_get_config"):
                lib.openblas_get_config.restype = ctypes.c_char_p
                config = lib.openblas_get_config().decode()
                handle = lib
        except OSError:
            pass
    return real, config, handle


def set_threads(n, openblas):
    torch.set_num_threads(n)
    if openblas is not None and hasattr(openblas, "openblas_set_num_threads"):
        openblas.openblas_set_num_threads(n)  # a pthreads OpenBLAS does not follow OpenMP's count


def backend_info():
    lines = [s.strip() for s in torch.__config__.show().splitlines() if s.strip()]
    keep = [s for s in lines if not s.startswith("- Build settings")]
    blas = ""
    for s in lines:
        if "BLAS_INFO=" in s:
            blas = s.split("BLAS_INFO=")[1].split(",")[0]
    return {
        "config": keep[1:],  # first line is "PyTorch built with:"
        "blas_info": blas,
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "mkl_available": torch.backends.mkl.is_available(),
        "blas_library": BLAS_PATH,
        "openblas_config": BLAS_CONFIG,
    }


def sanity(model, windows):
    """Max |logit diff| and mean KL(FP32 || scheme) on one window."""
    out = {}
    with torch.inference_mode():
        ref = Engine(model, None).forward(windows[:1])
        ref_logp = torch.log_softmax(ref.double(), dim=-1)
        for name in ("W8A8", "W4A4"):
            got = Engine(model, SCHEMES[name]).forward(windows[:1])
            logp = torch.log_softmax(got.double(), dim=-1)
            kl = (ref_logp.exp() * (ref_logp - logp)).sum(dim=-1).mean().item()
            out[name] = {"max_abs_logit_diff": (got - ref).abs().max().item(), "mean_kl": kl,
                         "fp32_logit_absmax": ref.abs().max().item()}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--schemes", default="FP32,W8A8,W4A4", help="comma-separated subset of FP32,W8A8,W4A4")
    ap.add_argument("--batching", default="both", choices=["both", "batch", "window"],
                    help="batch: all windows in one call; window: one window at a time; both: report the faster")
    ap.add_argument("--seconds", type=float, default=5.0, help="minimum measuring time per figure (default 5)")
    ap.add_argument("--min-repeats", type=int, default=3, help="minimum timed passes per figure (default 3)")
    ap.add_argument("--no-check", action="store_true", help="skip the W8A8/W4A4 vs FP32 sanity check")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()

    threads = [int(t) for t in args.threads.split(",") if t]
    schemes = [s for s in args.schemes.split(",") if s]
    for s in schemes:
        if s not in SCHEMES:
            sys.exit(f"unknown scheme {s}")

    torch.manual_seed(0)
    model = RandomLlama(seed=42)
    windows = torch.randint(0, VOCAB, (N_WINDOWS, WINDOW), generator=torch.Generator().manual_seed(7))
    tokens = N_WINDOWS * WINDOW
    n_params = (model.tok_emb.numel() + model.lm_head.numel() + model.final_norm.numel() +
                sum(t.numel() for l in model.layers for t in l.values()))

    global BLAS_PATH, BLAS_CONFIG
    BLAS_PATH, BLAS_CONFIG, openblas = loaded_blas()
    info = backend_info()
    attention = "scaled_dot_product_attention(is_causal=True)" if HAS_SDPA else "explicit masked softmax (baddbmm)"
    print(f"torch {torch.__version__}, python {platform.python_version()}, {platform.machine()}")
    for s in info["config"][:6]:
        print(f"  {s}")
    print(f"  BLAS_INFO={info['blas_info']}  mkldnn available: {info['mkldnn_available']}  "
          f"mkl available: {info['mkl_available']}")
    print(f"  BLAS library loaded: {BLAS_PATH or 'unknown'}" + (f" ({BLAS_CONFIG})" if BLAS_CONFIG else ""))
    print(f"model: llama d{D_MODEL} L{N_LAYERS} heads {N_HEADS}x{HEAD_DIM} ff{D_FF} V{VOCAB} "
          f"({n_params / 1e6:.1f}M params), {N_WINDOWS} windows of {WINDOW}")
    print(f"attention: {attention}")

    result = {"torch_version": torch.__version__, "backend": info, "attention": attention,
              "model": {"d_model": D_MODEL, "layers": N_LAYERS, "heads": N_HEADS, "head_dim": HEAD_DIM,
                        "d_ff": D_FF, "vocab": VOCAB, "params": n_params},
              "windows": N_WINDOWS, "window": WINDOW, "rows": []}

    if not args.no_check:
        set_threads(max(threads), openblas)
        check = sanity(model, windows)
        result["sanity"] = check
        for name, c in check.items():
            print(f"sanity {name} vs FP32 (one window): max |logit diff| {c['max_abs_logit_diff']:.4g} "
                  f"(FP32 |logit| max {c['fp32_logit_absmax']:.3g}), mean KL {c['mean_kl']:.4g}")

    modes = {"both": ["batch", "window"], "batch": ["batch"], "window": ["window"]}[args.batching]
    engines = {s: Engine(model, SCHEMES[s]) for s in schemes}
    with torch.inference_mode():
        for n in threads:
            set_threads(n, openblas)
            for s in schemes:
                e = engines[s]
                runs = {
                    "batch": lambda e=e: e.forward(windows),
                    "window": lambda e=e: [e.forward(windows[i:i + 1]) for i in range(N_WINDOWS)],
                }
                timed = {}
                for m in modes:
                    t, reps = best_seconds(runs[m], args.seconds, args.min_repeats)
                    timed[m] = {"seconds": t, "repeats": reps, "tokens_per_s": tokens / t}
                best_mode = min(timed, key=lambda m: timed[m]["seconds"])
                tps = timed[best_mode]["tokens_per_s"]
                others = ", ".join(f"{m} {timed[m]['tokens_per_s']:,.0f}" for m in modes)
                label = {"batch": f"batch={N_WINDOWS}", "window": "one window at a time"}[best_mode]
                print(f"eval_{s:<5} threads {n}: {tps:>8,.0f} tokens/s  (best: {label}; {others} tokens/s)",
                      flush=True)
                result["rows"].append({"scheme": s, "threads": n, "tokens_per_s": tps, "batching": best_mode,
                                       "by_batching": timed})

    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
