#include "models/tokenizer/spm_tokenizer.h"

#include <sentencepiece_processor.h>

#include "src/core/sha256.h"
#include "models/tokenizer/utf8.h"
#include "src/core/error.h"

namespace qh::tok {

SpmTokenizer::SpmTokenizer(const std::string& content, const std::string& file)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = sp_->LoadFromSerializedProto(content);
  if (!status.ok()) throw InputError(file + ": not a SentencePiece model: " + status.ToString());
  const size_t slash = file.find_last_of('/');
  describe_ = "sentencepiece " + (slash == std::string::npos ? file : file.substr(slash + 1)) +
              " sha256:" + sha256_hex(content) + " vocab=" + std::to_string(vocab_size());
}

SpmTokenizer::~SpmTokenizer() = default;

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_special) const {
  if (const auto bad = first_invalid_utf8(text))
    throw InputError("text is not valid UTF-8 (byte offset " + std::to_string(*bad) + ")");
  std::vector<int> pieces;
  const auto status = sp_->Encode(text, &pieces);
  QH_CHECK(status.ok());
  std::vector<int32_t> ids;
  ids.reserve(pieces.size() + 1);
  if (add_special && sp_->bos_id() >= 0) ids.push_back(sp_->bos_id());
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  return ids;
}

std::string SpmTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  const int n = sp_->GetPieceSize();
  std::string out;
  std::vector<int> run;  // ordinary pieces, decoded together so SentencePiece handles spaces and bytes
  const auto flush = [&] {
    if (run.empty()) return;
    std::string text;
    const auto status = sp_->Decode(run, &text);
    QH_CHECK(status.ok());
    out += text;
    run.clear();
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= n)
      throw InputError("decode: id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                       " is not in the tokenizer's vocabulary (" + std::to_string(n) + " ids)");
    if (sp_->IsControl(ids[i])) {
      if (skip_special) continue;
      flush();
      out += sp_->IdToPiece(ids[i]);
    } else {
      run.push_back(ids[i]);
    }
  }
  flush();
  return out;
}

int64_t SpmTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

std::optional<int32_t> SpmTokenizer::bos_id() const {
  return sp_->bos_id() >= 0 ? std::optional<int32_t>(sp_->bos_id()) : std::nullopt;
}

std::optional<int32_t> SpmTokenizer::eos_id() const {
  return sp_->eos_id() >= 0 ? std::optional<int32_t>(sp_->eos_id()) : std::nullopt;
}

}  // namespace qh::tok
