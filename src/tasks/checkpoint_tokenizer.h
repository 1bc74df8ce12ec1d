// The tokenizer task text goes through, chosen as for `text:` data (models/data/text_data.h): the given
// tokenizer path (a checkpoint folder, tokenizer.json or tokenizer.model), else the checkpoint folder's
// tokenizer.json / tokenizer.model, else the zoo's byte-level tokenizer for a model whose vocabulary is the
// byte-level 257; any other model without a tokenizer is an InputError (never silently bytes), and so is a
// tokenizer with more ids than the model's vocabulary.
#pragma once

#include <memory>
#include <string>

#include "models/model.h"
#include "models/tokenizer/tokenizer.h"

namespace qh::tasks {

std::shared_ptr<const tok::Tokenizer> checkpoint_tokenizer(const std::string& checkpoint_dir, const qh::Model& model,
                                                           const std::string& tokenizer_path = "");

}  // namespace qh::tasks
