// Finding and loading a tokenizer: a checkpoint folder (its tokenizer.json, else its tokenizer.model), a
// tokenizer.json or a tokenizer.model. Every problem (missing file, broken JSON, an unsupported component) is
// a qh::InputError that names the file and the JSON field.
#pragma once

#include <memory>
#include <string>

#include "models/tokenizer/tokenizer.h"

namespace qh::tok {

// The tokenizer file in a checkpoint folder: "<dir>/tokenizer.json", else "<dir>/tokenizer.model", else "".
std::string find_tokenizer_file(const std::string& dir);

// `path`: a folder, a .json file (Hugging Face) or a .model file (SentencePiece); other names are recognised
// by their content.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace qh::tok
