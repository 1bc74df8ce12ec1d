#include "models/train/trainer_version.h"

#include <Eigen/Core>

#include "qh_trainer_hash.h"
#include "src/core/content_hash.h"

namespace qh::train {

std::string trainer_version() {
  static const std::string v =
      text_hash(std::string(QH_TRAINER_SOURCE_HASH) + " eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION))
          .substr(0, 16);
  return v;
}

}  // namespace qh::train
