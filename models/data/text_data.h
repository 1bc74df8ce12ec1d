// Text data for `text:` and `jsonl:` specs (data_spec.h): reading the documents, choosing the tokenizer, and
// joining the tokenized documents into one id stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/tokenizer/tokenizer.h"

namespace qh::data {

// kind "text": the whole file is one document. kind "jsonl": one JSON object per non-blank line, its string
// field `field` is a document (errors name the file and line).
std::vector<std::string> read_documents(const std::string& kind, const std::string& path, const std::string& field);

// The tokenizer of text data: `tokenizer_path` (spec key tokenizer=) if given, else `given`, else the
// tokenizer file of `checkpoint_dir`; nullptr when there is none.
std::shared_ptr<const tok::Tokenizer> text_tokenizer(const std::string& tokenizer_path,
                                                     std::shared_ptr<const tok::Tokenizer> given,
                                                     const std::string& checkpoint_dir);

// encode(doc, add_special=true) for each document, with the tokenizer's EOS between documents (unless the
// document already ends with it). `path` names the file in errors.
std::vector<int64_t> join_documents(const tok::Tokenizer& tokenizer, const std::vector<std::string>& docs,
                                    const std::string& path);

}  // namespace qh::data
