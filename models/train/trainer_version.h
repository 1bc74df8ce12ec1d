// What, besides the recipe, the corpus and the thread count, decides the weights the trainer produces: its own
// code and the data generators' (a hash of their sources, taken at build time) and the linear-algebra library
// it runs on (Eigen's version). Part of the zoo's cache key (zoo_checkpoint_dir), so a changed trainer never
// hands out a model trained by an older one, and a commit that leaves the trainer alone keeps the cache.
#pragma once

#include <string>

namespace qh::train {

// 16 hex digits.
std::string trainer_version();

}  // namespace qh::train
