// `qharness tokenize` and text data end to end: ids out and back, and exit code 2 with a message for a
// missing or broken tokenizer, invalid text, a vocabulary mismatch, and a model without a tokenizer.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/tokenizer/load.h"
#include "tests/engine/tiny_models.h"

namespace qh {
namespace {

const std::string kTok = std::string(QH_SOURCE_DIR) + "/tests/tokenizer/data";
const std::string kStory = "Once upon a time, a little fox found a shiny stone. She showed it to her friend, "
                           "the owl, who said: \"That is the moon's lost button!\" They laughed all night.";

class TokenizeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "qh_tokenize_cli." + std::to_string(::getpid()));
    std::system(("rm -rf '" + *dir_ + "' && mkdir -p '" + *dir_ + "'").c_str());
    ArchSpec a = enginetest::tiny_spec();
    a.vocab_size = 50257;  // GPT-2's vocabulary
    a.bos_token_id = 50256;
    save_checkpoint(*dir_ + "/gpt2ckpt", enginetest::random_model(a, 5));
    std::system(("cp '" + kTok + "/gpt2/tokenizer.json' '" + *dir_ + "/gpt2ckpt/'").c_str());
    save_checkpoint(*dir_ + "/bare", enginetest::random_model(a, 6));  // no tokenizer file
    a.vocab_size = 1000;
    a.bos_token_id = 1;
    save_checkpoint(*dir_ + "/small", enginetest::random_model(a, 7));
    std::system(("cp '" + kTok + "/gpt2/tokenizer.json' '" + *dir_ + "/small/'").c_str());
    write("story.txt", kStory);
    write("bad.txt", "fine \xC3 then broken");
    std::system(("mkdir -p '" + *dir_ + "/broken' && printf '{\"model\": ' > '" + *dir_ + "/broken/tokenizer.json'").c_str());
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf '" + *dir_ + "'").c_str());
    delete dir_;
  }
  static void write(const std::string& name, const std::string& content) {
    std::ofstream(*dir_ + "/" + name, std::ios::binary) << content;
  }
  static std::string read(const std::string& name) {
    std::ifstream in(*dir_ + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static int run(const std::string& args, std::string* err = nullptr) {
    const std::string err_file = *dir_ + "/stderr.txt";
    const int rc = std::system((std::string(QH_BINARY) + " " + args + " > /dev/null 2> '" + err_file + "'").c_str());
    if (err) *err = read("stderr.txt");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string* dir_;
};
std::string* TokenizeCli::dir_ = nullptr;

std::vector<int32_t> u32(const std::string& bytes) {
  std::vector<int32_t> ids(bytes.size() / 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(bytes[4 * i + k]);
    ids[i] = static_cast<int32_t>(v);
  }
  return ids;
}

TEST_F(TokenizeCli, EncodesAndDecodesBack) {
  ASSERT_EQ(run("tokenize " + path("gpt2ckpt") + " --text " + path("story.txt") + " --out " + path("ids.u32")), 0);
  EXPECT_EQ(u32(read("ids.u32")), tok::load_tokenizer(kTok + "/gpt2")->encode(kStory, false));
  ASSERT_EQ(run("tokenize " + path("gpt2ckpt") + " --decode " + path("ids.u32") + " --out " + path("back.txt")), 0);
  EXPECT_EQ(read("back.txt"), kStory);
  ASSERT_EQ(run("tokenize " + kTok + "/mistral/tokenizer.json --text " + path("story.txt") + " --special --out " +
                path("m.u32")),
            0);
  EXPECT_EQ(u32(read("m.u32")).at(0), 1);  // BOS
  ASSERT_EQ(run("tokenize " + kTok + "/mistral_spm/tokenizer.model --text " + path("story.txt") + " --out " + path("s.u32")), 0);
  EXPECT_EQ(u32(read("s.u32")), tok::load_tokenizer(kTok + "/mistral_spm")->encode(kStory, false));
  EXPECT_EQ(run("tokenize --help"), 0);
}

TEST_F(TokenizeCli, BadInputExitsWithTwo) {
  std::string err;
  EXPECT_EQ(run("tokenize " + path("nowhere") + " --text " + path("story.txt"), &err), 2);
  EXPECT_NE(err.find("no such tokenizer"), std::string::npos) << err;
  EXPECT_EQ(run("tokenize " + path("bare") + " --text " + path("story.txt"), &err), 2);
  EXPECT_NE(err.find("no tokenizer.json or tokenizer.model"), std::string::npos) << err;
  EXPECT_EQ(run("tokenize " + path("broken") + " --text " + path("story.txt"), &err), 2);
  EXPECT_NE(err.find("tokenizer.json: not valid JSON"), std::string::npos) << err;
  EXPECT_EQ(run("tokenize " + path("gpt2ckpt") + " --text " + path("bad.txt"), &err), 2);
  EXPECT_NE(err.find("bad.txt: text is not valid UTF-8 (byte offset 5)"), std::string::npos) << err;
  EXPECT_EQ(run("tokenize " + path("gpt2ckpt") + " --text " + path("story.txt") + " --decode " + path("ids.u32"), &err), 2);
  EXPECT_NE(err.find("exactly one of"), std::string::npos) << err;
  write("big.u32", std::string("\xff\xff\x00\x00", 4));  // id 65535 > GPT-2's 50257
  EXPECT_EQ(run("tokenize " + path("gpt2ckpt") + " --decode " + path("big.u32"), &err), 2);
  EXPECT_NE(err.find("id 65535 at position 0"), std::string::npos) << err;
}

TEST_F(TokenizeCli, EvalReadsTextWithTheCheckpointsTokenizer) {
  std::string err;
  EXPECT_EQ(run("eval " + path("gpt2ckpt") + " --data text:" + path("story.txt") + ",len=16 --scheme W8A8 --quiet", &err), 0)
      << err;
  EXPECT_EQ(run("eval " + path("bare") + " --data text:" + path("story.txt") + ",len=16 --scheme W8A8 --quiet", &err), 2);
  EXPECT_NE(err.find("needs its own tokenizer"), std::string::npos) << err;
  EXPECT_EQ(run("eval " + path("bare") + " --data text:" + path("story.txt") + ",len=16,tokenizer=" + kTok +
                "/gpt2 --scheme W8A8 --quiet", &err), 0) << err;
  EXPECT_EQ(run("eval " + path("small") + " --data text:" + path("story.txt") + ",len=16 --scheme W8A8 --quiet", &err), 2);
  EXPECT_NE(err.find("has 50257 ids but the model's vocabulary has only 1000"), std::string::npos) << err;
  EXPECT_EQ(run("eval " + path("gpt2ckpt") + " --data text:" + path("bad.txt") + " --scheme W8A8 --quiet", &err), 2);
  EXPECT_NE(err.find("not valid UTF-8"), std::string::npos) << err;
}

}  // namespace
}  // namespace qh
