#include "models/tokenizer/load.h"

#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "models/tokenizer/hf_tokenizer.h"
#include "models/tokenizer/spm_tokenizer.h"
#include "src/core/error.h"

namespace qh::tok {
namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read the tokenizer file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path + ": cannot read the tokenizer file");
  return ss.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

std::string find_tokenizer_file(const std::string& dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    const std::string p = dir + "/" + name;
    if (is_file(p)) return p;
  }
  return "";
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::string file = path;
  if (is_dir(path)) {
    file = find_tokenizer_file(path);
    if (file.empty()) throw InputError(path + ": no tokenizer.json or tokenizer.model in this folder");
  } else if (!is_file(path)) {
    throw InputError(path + ": no such tokenizer file or folder");
  }
  const std::string content = read_file(file);
  if (content.empty()) throw InputError(file + ": the tokenizer file is empty");
  const size_t first = content.find_first_not_of(" \t\r\n");
  const bool json = ends_with(file, ".json") || (!ends_with(file, ".model") && first != std::string::npos &&
                                                 content[first] == '{');
  if (!json) return std::make_unique<SpmTokenizer>(content, file);
  // tokenizer_config.json beside it names BOS / EOS when the tokenizer.json alone does not say.
  const std::string config_file = dir_of(file) + "/tokenizer_config.json";
  std::optional<std::string> config;
  if (is_file(config_file)) config = read_file(config_file);
  return std::make_unique<HfTokenizer>(content, file, config, config_file);
}

}  // namespace qh::tok
