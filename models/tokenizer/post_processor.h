// tokenizer.json post-processors: what add_special_tokens=true wraps around the ids of one text.
// TemplateProcessing (its "single" template), RobertaProcessing and BertProcessing (<cls> A <sep>), ByteLevel
// (offsets only: no ids) and Sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/json_util.h"

namespace qh::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // The special ids before and after the text's ids for a single sequence.
  virtual void wrap(std::vector<int32_t>& before, std::vector<int32_t>& after) const = 0;
};

std::unique_ptr<PostProcessor> parse_post_processor(const nlohmann::json& j, const std::string& file,
                                                    const std::string& path);

}  // namespace qh::tok
