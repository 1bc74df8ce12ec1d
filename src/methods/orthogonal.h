// Seeded orthogonal matrices for the rotation methods: random sign vectors, Haar-random orthogonal blocks
// (QR of a Gaussian matrix, signs fixed by R's diagonal), and the rotation of a width built from them.
// The generator is std::mt19937_64 with its own Box-Muller (the standard distributions are not specified
// bit for bit), so a seed gives the same matrices with every standard library.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "src/engine/hadamard.h"
#include "src/methods/method.h"

namespace qh::methods {

std::vector<float> random_signs(int64_t n, std::mt19937_64& rng);
// Row-major [n * n], orthogonal to float rounding.
std::vector<float> random_orthogonal(int64_t n, std::mt19937_64& rng);

// kHadamard: H_p / sqrt(p) (x) B for n = p * m (p the largest power of two dividing n, B a random orthogonal
// block of order m when m > 1), with random signs when `signs`. kRandom: one random orthogonal matrix of
// order n. `what` names the width in errors (an odd factor above 4096 would make the block too costly).
engine::HadamardTransform make_rotation(int64_t n, RotationKind kind, bool signs, std::mt19937_64& rng,
                                        const std::string& what);

}  // namespace qh::methods
