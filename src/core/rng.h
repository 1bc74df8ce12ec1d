// The project's one seeded PRNG: xoshiro256** (Blackman & Vigna) seeded through splitmix64, and the few
// distributions the data generators and the trainer need. std:: distributions are avoided on purpose: their
// output is implementation-defined, and generated data sets and trained checkpoints must be the same bits
// everywhere for a seed.
#pragma once

#include <cmath>
#include <cstdint>

namespace qh {

// One step of splitmix64: advances *state and returns a well-mixed 64-bit value.
inline uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The seed of stream `stream` of `seed` (e.g. the initial weights, or the batches, of a recipe seed).
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
  return splitmix64(&s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(&s);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1): safe for log().
  double uniform_open() {
    double u;
    do u = uniform();
    while (u == 0.0);
    return u;
  }
  // Uniform integer in [0, n) (n > 0); the modulo bias is negligible for the small n used here.
  uint64_t below(uint64_t n) { return next() % n; }
  // Standard normal by Box-Muller, both outputs used (cos first, then sin from the same pair).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform_open(), u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1)), a = 6.283185307179586 * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }
  // Gamma(shape, 1) by Marsaglia-Tsang; shape < 1 via Gamma(shape + 1) * U^(1/shape). Its normals take one
  // Box-Muller pair per draw and use only the cos output (the BB generator's Dirichlet tables were drawn this
  // way; keeping it keeps every BB data set, and the zoo models trained on them, the same for a seed).
  double gamma(double shape) {
    if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform_open(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do {
        const double u1 = uniform_open(), u2 = uniform();
        x = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform_open();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  // Index drawn from probabilities p (sum ~1). Falls back to the last positive entry on rounding.
  int categorical(const double* p, int n) {
    const double u = uniform();
    double acc = 0.0;
    int last = 0;
    for (int i = 0; i < n; ++i) {
      if (p[i] <= 0.0) continue;
      acc += p[i];
      last = i;
      if (u < acc) return i;
    }
    return last;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace qh
