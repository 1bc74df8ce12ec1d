#include "src/tasks/checkpoint_tokenizer.h"

#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/tasks/task_eval.h"

namespace qh::tasks {

std::unique_ptr<tok::Tokenizer> checkpoint_tokenizer(const std::string& checkpoint_dir, const qh::Model& model) {
  const nlohmann::json recipe = nlohmann::json::parse(model.spec.recipe_json, nullptr, /*allow_exceptions=*/false);
  const bool bytes = recipe.is_object() && recipe.contains("task") && recipe["task"] == "text";
  if (!bytes)
    throw InputError("checkpoint " + checkpoint_dir +
                     ": no tokenizer for its text (the zoo's byte-level text models have one; this model was not "
                     "trained on bytes)");
  auto tokenizer = std::make_unique<tok::ByteTokenizer>();
  check_vocabulary(*tokenizer, model);
  return tokenizer;
}

}  // namespace qh::tasks
