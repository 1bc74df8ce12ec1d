#include "src/tasks/checkpoint_tokenizer.h"

#include "models/data/text_data.h"
#include "src/core/error.h"
#include "src/tasks/task_eval.h"

namespace qh::tasks {

std::shared_ptr<const tok::Tokenizer> checkpoint_tokenizer(const std::string& checkpoint_dir, const qh::Model& model,
                                                           const std::string& tokenizer_path) {
  std::shared_ptr<const tok::Tokenizer> tokenizer = data::text_tokenizer(tokenizer_path, nullptr, checkpoint_dir);
  if (!tokenizer) {
    if (model.spec.vocab_size != 257)
      throw InputError("checkpoint " + checkpoint_dir +
                       ": no tokenizer for the task text (the folder has no tokenizer.json or tokenizer.model; "
                       "give one with --tokenizer PATH); bytes as ids are only for the byte-level vocabulary of 257");
    tokenizer = std::make_shared<tok::ByteTokenizer>();
  }
  check_vocabulary(*tokenizer, model);
  return tokenizer;
}

}  // namespace qh::tasks
