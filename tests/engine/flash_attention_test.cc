// The tiled online-softmax attention (src/engine/flash_attention.h) on every compiled Highway target against its
// scalar reference (double scores, two-pass softmax): random heads of odd lengths and head sizes, soft-capping,
// sliding windows, an extra (sink) logit, blocks of rows starting anywhere; the kernel's tile edges (head sizes
// off its column chunks, windows starting inside a tile); each row's bits independent of the row blocks;
// adversarial inputs (huge scores, all-equal keys, zero queries, a dominating, absent or NaN extra logit, NaN
// and Inf keys and values, seen or masked, scores of -inf); and the engine's two attention paths (flash when
// nothing observes the probabilities, the classic one when an observer does).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/engine/engine.h"
#include "src/engine/flash_attention.h"
#include "tests/engine/tiny_models.h"
#include "tests/hwy_per_target.h"

namespace qh::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct Head {
  int64_t T, hd, ld;
  std::vector<float> q, k, v;
  Head(int64_t T_, int64_t hd_, uint32_t seed, float q_scale = 1.0f) : T(T_), hd(hd_), ld(hd_ + 3) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (auto* x : {&q, &k, &v}) {
      x->resize(T * ld);
      for (float& e : *x) e = g(rng);
    }
    for (float& e : q) e *= q_scale;
  }
  FlashHead args(std::vector<float>& out) const {
    out.assign(T * ld, -7.0f);  // the padding columns must stay untouched
    FlashHead h{q.data(), ld, k.data(), ld, v.data(), ld, out.data(), ld};
    h.hd = hd;
    h.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    return h;
  }
};

// got vs want: relative 2e-5 (float scores and online rescaling vs double), NaN where the reference has NaN.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& label) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << label << " i=" << i;
      continue;
    }
    if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << label << " i=" << i;
      continue;
    }
    EXPECT_NEAR(got[i], want[i], 2e-5f * std::fabs(want[i]) + 2e-6f) << label << " i=" << i;
  }
}

// Both implementations over [i0, i1) in blocks of `block` rows (the engine dispatches per block).
void compare(const Head& h, FlashHead tweak(FlashHead), int64_t block, const std::string& label) {
  std::vector<float> got, want;
  FlashHead a = tweak(h.args(got)), b = tweak(h.args(want));
  for (int64_t i0 = 0; i0 < h.T; i0 += block) {
    flash_attention_rows(a, i0, std::min(h.T, i0 + block));
    flash_attention_rows_reference(b, i0, std::min(h.T, i0 + block));
  }
  expect_close(got, want, label);
}

class FlashPerTarget : public qh::test::PerHwyTarget {};

TEST_P(FlashPerTarget, RandomHeadsMatchTheReference) {
  for (int64_t T : {1, 2, 3, 15, 16, 17, 33, 100}) {
    for (int64_t hd : {1, 5, 16, 40, 64}) {
      const Head h(T, hd, static_cast<uint32_t>(T * 131 + hd));
      const std::string at = "T=" + std::to_string(T) + " hd=" + std::to_string(hd);
      compare(h, [](FlashHead f) { return f; }, 32, at);
      compare(h, [](FlashHead f) { return f; }, 7, at + " blocks of 7");
      compare(h, [](FlashHead f) { return f; }, 64, at + " blocks of 64");
      compare(h, [](FlashHead f) { f.softcap = 1.5f; return f; }, 32, at + " softcap");
      compare(h, [](FlashHead f) { f.window = 5; return f; }, 32, at + " window 5");
      compare(h, [](FlashHead f) { f.window = 1; return f; }, 13, at + " window 1");
      compare(h, [](FlashHead f) { f.extra = 0.7f; return f; }, 32, at + " extra");
      compare(h, [](FlashHead f) { f.extra = 0.7f; f.window = 4; f.softcap = 2.0f; return f; }, 9, at + " all");
    }
  }
}

// The kernel takes rows in tiles (one row per lane) and keys in aligned blocks; head sizes that are not a
// multiple of its column chunks or of the lane count, windows that start inside a tile or a key block, row
// blocks that split tiles.
TEST_P(FlashPerTarget, TileEdgesMatchTheReference) {
  for (int64_t hd : {2, 3, 6, 7, 11, 24, 80, 96, 128}) {
    for (int64_t T : {31, 70}) {
      const Head h(T, hd, static_cast<uint32_t>(T * 7 + hd));
      const std::string at = "T=" + std::to_string(T) + " hd=" + std::to_string(hd);
      compare(h, [](FlashHead f) { return f; }, 64, at);
      compare(h, [](FlashHead f) { return f; }, 5, at + " blocks of 5");
      compare(h, [](FlashHead f) { f.window = 20; return f; }, 64, at + " window 20");
      compare(h, [](FlashHead f) { f.window = 33; f.extra = -0.3f; return f; }, 17, at + " window 33, extra");
      compare(h, [](FlashHead f) { f.softcap = 0.8f; f.extra = 2.0f; return f; }, 64, at + " softcap, extra");
    }
  }
}

// Each row's bits do not depend on which rows share its call (the engine's row blocks, any thread count): the
// whole head in one call against calls of 1, 3, 17, 32 and 64 rows, bit for bit.
TEST_P(FlashPerTarget, RowBitsDoNotDependOnTheRowBlocks) {
  for (int64_t hd : {6, 64, 80}) {
    Head h(100, hd, static_cast<uint32_t>(hd));
    h.v[40 * h.ld + 1] = kInf;  // an Inf value seen by rows 40.. (without window) or 40..47 (window 8)
    for (int window : {0, 8, 45}) {
      std::vector<float> whole, blocked;
      FlashHead f = h.args(whole);
      f.window = window;
      f.extra = window == 8 ? 0.5f : -kInf;
      f.softcap = window == 45 ? 2.5f : 0.0f;
      flash_attention_rows(f, 0, h.T);
      for (int64_t block : {1, 3, 17, 32, 64}) {
        FlashHead g = h.args(blocked);
        g.window = f.window;
        g.extra = f.extra;
        g.softcap = f.softcap;
        for (int64_t i0 = 0; i0 < h.T; i0 += block) flash_attention_rows(g, i0, std::min(h.T, i0 + block));
        ASSERT_EQ(whole.size(), blocked.size());
        for (size_t i = 0; i < whole.size(); ++i) {
          uint32_t a, b;
          std::memcpy(&a, &whole[i], 4);
          std::memcpy(&b, &blocked[i], 4);
          ASSERT_EQ(a, b) << "hd=" << hd << " window=" << window << " block=" << block << " i=" << i;
        }
      }
    }
  }
}

TEST_P(FlashPerTarget, AdversarialHeadsMatchTheReference) {
  // Huge scores (|q.k| ~ 1e30): one-hot rows; a large extra logit takes almost all the mass; a very negative
  // one none.
  const Head huge(37, 24, 5, 1e14f);
  compare(huge, [](FlashHead f) { f.scale = 1e14f; return f; }, 32, "huge");
  compare(huge, [](FlashHead f) { f.extra = 50.0f; return f; }, 32, "extra dominates");
  compare(huge, [](FlashHead f) { f.extra = -1e30f; return f; }, 32, "extra negligible");
  // All-equal keys: uniform rows (the mean of the visible values); zero queries: the same.
  Head equal(41, 17, 6);
  for (int64_t t = 0; t < equal.T; ++t)
    for (int64_t c = 0; c < equal.hd; ++c) equal.k[t * equal.ld + c] = 0.25f;
  compare(equal, [](FlashHead f) { return f; }, 32, "equal keys");
  Head zero(41, 17, 7);
  std::fill(zero.q.begin(), zero.q.end(), 0.0f);
  compare(zero, [](FlashHead f) { return f; }, 32, "zero queries");
  // A NaN key, and a score that overflows to +inf: every row that sees that key becomes NaN (the reference's
  // two-pass softmax gives NaN too), rows before it stay finite.
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), 1e30f}) {
    Head h(30, 8, 10);
    for (int64_t c = 0; c < h.hd; ++c) {
      h.k[12 * h.ld + c] = bad;
      if (bad > 0) h.q[20 * h.ld + c] = 1e30f;  // row 20 overflows against key 12
    }
    compare(h, [](FlashHead f) { return f; }, 32, "bad score");
    compare(h, [](FlashHead f) { f.window = 4; return f; }, 5, "bad score, window 4");
    std::vector<float> out;
    FlashHead f = h.args(out);
    flash_attention_rows(f, 0, h.T);
    for (int64_t i = 0; i < 12; ++i) EXPECT_TRUE(std::isfinite(out[i * h.ld])) << i;
    EXPECT_TRUE(std::isnan(out[20 * h.ld])) << bad;
  }
  // NaN and Inf values at position 20: rows 20.. carry them, rows before stay finite (a key after the row is
  // never read), and with a window of 3 rows 23.. are clean again.
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), kInf}) {
    Head h(40, 19, 8);
    h.v[20 * h.ld + 4] = bad;
    compare(h, [](FlashHead f) { return f; }, 32, "bad value");
    compare(h, [](FlashHead f) { f.window = 3; return f; }, 16, "bad value, window 3");
    std::vector<float> out;
    FlashHead f = h.args(out);
    flash_attention_rows(f, 0, h.T);
    for (int64_t i = 0; i < 20; ++i) EXPECT_TRUE(std::isfinite(out[i * h.ld + 4])) << i;
    for (int64_t i = 20; i < h.T; ++i) EXPECT_FALSE(std::isfinite(out[i * h.ld + 4])) << i;
  }
}

// Keys and values a row does not see never reach it, inside its tile and key block too: NaN keys and Inf / NaN
// values of keys outside a window or after the row leave the row finite; a visible key whose score overflows
// to -inf gets probability 0, and a row whose every score is -inf is zeros (as the two-pass softmax).
TEST_P(FlashPerTarget, MaskedKeysNeverReachARow) {
  Head h(64, 16, 12);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t c = 0; c < h.hd; ++c) h.k[30 * h.ld + c] = nan;  // scores of key 30 are NaN
  h.v[35 * h.ld + 3] = kInf;
  h.v[36 * h.ld + 5] = -kInf;
  h.v[37 * h.ld + 7] = nan;
  std::vector<float> out;
  FlashHead f = h.args(out);
  f.window = 4;  // row i sees keys i - 3 .. i: key 30 only rows 30 .. 33, key 35 only rows 35 .. 38, ...
  flash_attention_rows(f, 0, h.T);
  auto sees = [](int64_t i, int64_t key) { return key <= i && i <= key + 3; };
  for (int64_t i = 0; i < h.T; ++i) {
    for (int64_t c = 0; c < h.hd; ++c) {
      const float x = out[i * h.ld + c];
      const bool bad_value = (c == 3 && sees(i, 35)) || (c == 5 && sees(i, 36)) || (c == 7 && sees(i, 37));
      if (sees(i, 30)) EXPECT_TRUE(std::isnan(x)) << i << " " << c;
      else if (bad_value) EXPECT_FALSE(std::isfinite(x)) << i << " " << c;
      else EXPECT_TRUE(std::isfinite(x)) << i << " " << c;
    }
  }
  compare(h, [](FlashHead g) { g.window = 4; return g; }, 32, "masked bad keys");
  // Row 9's scores all overflow to -inf (q = 1e30 e_0 against k_j[0] = -1e30): zeros, with or without an extra
  // logit; other rows are finite.
  Head o(20, 8, 13);
  for (int64_t t = 0; t < o.T; ++t) o.k[t * o.ld] = -1e30f;
  for (int64_t c = 0; c < o.hd; ++c) o.q[9 * o.ld + c] = c == 0 ? 1e30f : 0.0f;
  for (float extra : {-kInf, 1.0f}) {
    FlashHead g = o.args(out);
    g.extra = extra;
    flash_attention_rows(g, 0, o.T);
    for (int64_t c = 0; c < o.hd; ++c) EXPECT_EQ(out[9 * o.ld + c], 0.0f) << extra << " " << c;
  }
  compare(o, [](FlashHead x) { return x; }, 7, "-inf scores");
  compare(o, [](FlashHead x) { x.extra = 1.0f; return x; }, 7, "-inf scores, extra");
  // A NaN extra logit makes every row NaN, as in the two-pass softmax.
  compare(o, [](FlashHead x) { x.extra = std::numeric_limits<float>::quiet_NaN(); return x; }, 32, "NaN extra logit");
}

// One token: its own value with probability 1, or exactly 0 when an extra logit takes all the mass; the columns
// past hd are never written.
TEST_P(FlashPerTarget, OneTokenIsItsValueOrZeroBesideAHugeExtraLogit) {
  const Head h(1, 9, 9);
  std::vector<float> out;
  FlashHead f = h.args(out);
  flash_attention_rows(f, 0, 1);
  for (int64_t c = 0; c < h.hd; ++c) EXPECT_FLOAT_EQ(out[c], h.v[c]) << c;
  f.extra = 1e4f;
  flash_attention_rows(f, 0, 1);
  for (int64_t c = 0; c < h.hd; ++c) EXPECT_EQ(out[c], 0.0f) << c;
  for (int64_t c = h.hd; c < h.ld; ++c) EXPECT_EQ(out[c], -7.0f) << "padding column " << c;
}

QH_INSTANTIATE_PER_HWY_TARGET(FlashPerTarget);

// An observer of attention maps sends the engine down the classic path (scores, softmax rows, P V); without one
// it takes the flash path. Both compute the same attention: logits agree to float reassociation.
class AttentionMapsWanted : public Observer {
 public:
  bool wants_attention() const override { return true; }
};

TEST(FlashAttention, EngineFlashAndClassicPathsAgree) {
  for (AttnKind kind : {AttnKind::kSoftmax, AttnKind::kSink}) {
    ArchSpec a = enginetest::tiny_spec();
    a.attn.kind = kind;
    a.attn_softcap = kind == AttnKind::kSink ? 3.0f : 0.0f;
    const Model m = enginetest::random_model(a, 77);
    const std::vector<int32_t> tok = enginetest::random_tokens(a.context, a.vocab_size, 5);
    for (const char* scheme : {"FP32", "W8A8", "W4A4-kv4"}) {
      Engine e(m, parse_scheme(scheme));
      std::vector<float> flash(tok.size() * a.vocab_size), classic(flash.size());
      e.forward(tok.data(), static_cast<int64_t>(tok.size()), flash.data());
      AttentionMapsWanted obs;
      e.forward(tok.data(), static_cast<int64_t>(tok.size()), classic.data(), &obs);
      EXPECT_LT(enginetest::rel_error(flash, classic), 1e-5) << scheme;
    }
  }
}

}  // namespace
}  // namespace qh::engine
