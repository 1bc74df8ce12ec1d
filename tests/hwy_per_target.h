// Runs a parameterised test once per Highway target that is compiled into the binary and supported by this
// CPU, with dynamic dispatch pinned to that target, so every kernel's SIMD paths (AVX-512, AVX2, SSE4, SSSE3,
// scalar) are checked against its reference on whatever machine runs the tests:
//   class FooPerTarget : public qh::test::PerHwyTarget {};
//   TEST_P(FooPerTarget, MatchesTheReference) { ... }
//   QH_INSTANTIATE_PER_HWY_TARGET(FooPerTarget);
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "hwy/targets.h"

namespace qh::test {

class PerHwyTarget : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override { hwy::SetSupportedTargetsForTest(GetParam()); }
  void TearDown() override { hwy::SetSupportedTargetsForTest(0); }
};

inline std::string hwy_target_name(const ::testing::TestParamInfo<int64_t>& info) {
  return hwy::TargetName(info.param);
}

}  // namespace qh::test

#define QH_INSTANTIATE_PER_HWY_TARGET(fixture)                                                             \
  INSTANTIATE_TEST_SUITE_P(Targets, fixture, ::testing::ValuesIn(hwy::SupportedAndGeneratedTargets()), \
                           ::qh::test::hwy_target_name)
