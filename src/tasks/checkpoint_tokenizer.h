// The tokenizer a checkpoint's text goes through: the zoo's byte-level tokenizer for models trained on bytes
// (recipe task "text"), else none (InputError: a model must not silently get bytes). The vocabulary of the
// tokenizer must fit the model's.
#pragma once

#include <memory>
#include <string>

#include "models/model.h"
#include "models/tokenizer/tokenizer.h"

namespace qh::tasks {

std::unique_ptr<tok::Tokenizer> checkpoint_tokenizer(const std::string& checkpoint_dir, const qh::Model& model);

}  // namespace qh::tasks
