#include "models/data/text_data.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "models/data/token_file.h"
#include "models/tokenizer/load.h"
#include "src/core/error.h"

namespace qh::data {

std::vector<std::string> read_documents(const std::string& kind, const std::string& path, const std::string& field) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  const std::string content(bytes.begin(), bytes.end());
  if (content.empty()) throw InputError(fmt::format("text file '{}' is empty", path));
  if (kind == "text") return {content};  // a tokenizer checks UTF-8 itself; bytes need not be text
  std::vector<std::string> docs;
  size_t start = 0;
  for (int64_t line_no = 1; start < content.size(); ++line_no) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    const std::string line = content.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse errors and numbers out of range
      throw InputError(fmt::format("{}:{}: not valid JSON ({})", path, line_no, e.what()));
    }
    if (!j.is_object()) throw InputError(fmt::format("{}:{}: expected a JSON object per line", path, line_no));
    if (!j.contains(field)) throw InputError(fmt::format("{}:{}: no field '{}' (give field=NAME)", path, line_no, field));
    if (!j.at(field).is_string())
      throw InputError(fmt::format("{}:{}: field '{}' is not a string", path, line_no, field));
    docs.push_back(j.at(field).get<std::string>());
  }
  if (docs.empty()) throw InputError(fmt::format("JSONL file '{}' has no documents", path));
  return docs;
}

std::shared_ptr<const tok::Tokenizer> text_tokenizer(const std::string& tokenizer_path,
                                                     std::shared_ptr<const tok::Tokenizer> given,
                                                     const std::string& checkpoint_dir) {
  if (!tokenizer_path.empty()) return tok::load_tokenizer(tokenizer_path);
  if (given) return given;
  if (!checkpoint_dir.empty() && !tok::find_tokenizer_file(checkpoint_dir).empty())
    return tok::load_tokenizer(checkpoint_dir);
  return nullptr;
}

std::vector<int64_t> join_documents(const tok::Tokenizer& tokenizer, const std::vector<std::string>& docs,
                                    const std::string& path) {
  std::vector<int64_t> ids;
  const std::optional<int32_t> eos = tokenizer.eos_id();
  for (size_t d = 0; d < docs.size(); ++d) {
    std::vector<int32_t> doc;
    try {
      doc = tokenizer.encode(docs[d], /*add_special=*/true);
    } catch (const InputError& e) {
      throw InputError(docs.size() == 1 ? fmt::format("{}: {}", path, e.what())
                                        : fmt::format("{}: document {}: {}", path, d + 1, e.what()));
    }
    if (d > 0 && eos && !(ids.empty() || ids.back() == *eos)) ids.push_back(*eos);
    ids.insert(ids.end(), doc.begin(), doc.end());
  }
  return ids;
}

}  // namespace qh::data
