// Data specs: parsing, token files (.u16 / .u32 / .npy), text files, and every error case as an InputError
// whose message names the problem.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "models/data/data_spec.h"
#include "src/core/error.h"

namespace qh::data {
namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le(uint64_t v, int width) {
  std::string s;
  for (int i = 0; i < width; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}

// A version-1 .npy file with the given header dict and payload.
std::string npy(const std::string& dict, const std::string& payload) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + le(header.size(), 2) + header + payload;
}

// Expects an InputError whose message contains `fragment`.
template <typename F>
void expect_input_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no InputError; expected one mentioning '" << fragment << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(DataSpec, BBSpecParsesEveryKey) {
  const Dataset d = load_data("bb:seed=3,seqs=5,len=20,k=2,vocab=10,table_seed=4,alpha=0.7", 0);
  EXPECT_EQ(d.tokenizer, "bb");
  ASSERT_NE(d.bb, nullptr);
  EXPECT_EQ(d.sequences.size(), 5u);
  EXPECT_EQ(d.sequences[0].size(), 20u);
  EXPECT_EQ(d.vocab_size, 11);
  EXPECT_EQ(d.bb->triggers().size(), 2u);
  EXPECT_EQ(d.bb->config().table_seed, 4u);
  EXPECT_DOUBLE_EQ(d.bb->config().alpha, 0.7);
  const BBSpec s = parse_bb_spec(format_bb_spec(parse_bb_spec("seed=3,seqs=5,len=20,k=2,vocab=10")));
  EXPECT_EQ(s.seed, 3u);
  EXPECT_EQ(s.seqs, 5);
  EXPECT_EQ(s.config.base_vocab, 10);
}

TEST(DataSpec, BBSpecErrorsNameTheKey) {
  expect_input_error([] { load_data("bb:seed=x", 0); }, "seed='x'");
  expect_input_error([] { load_data("bb:colour=3", 0); }, "unknown key 'colour'");
  expect_input_error([] { load_data("bb:len", 0); }, "not key=value");
  expect_input_error([] { load_data("bb:k=2,k=3", 0); }, "given twice");
  expect_input_error([] { load_data("bb:len=1", 0); }, "len='1'");
  expect_input_error([] { load_data("nonsense", 0); }, "expected 'bb:");
  expect_input_error([] { load_data("wav:x.wav", 0); }, "unknown kind 'wav'");
  expect_input_error([] { load_data("bb:vocab=10", 5); }, "outside the model's vocabulary");
}

TEST(DataSpec, RawU16AndU32Files) {
  const std::string p16 = temp_path("ids.u16"), p32 = temp_path("ids.u32");
  std::string b16, b32;
  for (int i = 0; i < 10; ++i) b16 += le(i * 3, 2);
  for (int i = 0; i < 6; ++i) b32 += le(70000 + i, 4);
  write_file(p16, b16);
  write_file(p32, b32);
  const Dataset d = load_data("tokens:" + p16 + ",len=4", 100);
  EXPECT_EQ(d.tokenizer, "ids");
  ASSERT_EQ(d.sequences.size(), 3u);  // 4 + 4 + 2
  EXPECT_EQ(d.sequences[1], (std::vector<int32_t>{12, 15, 18, 21}));
  EXPECT_EQ(d.sequences[2], (std::vector<int32_t>{24, 27}));
  const Dataset e = load_data("tokens:" + p32, 0);
  ASSERT_EQ(e.sequences.size(), 1u);
  EXPECT_EQ(e.sequences[0][5], 70005);
  // The same bytes read with an explicit dtype.
  const Dataset f = load_data("tokens:" + p32 + ",dtype=u16", 0);
  EXPECT_EQ(f.sequences[0].size(), 12u);
  expect_input_error([&] { load_data("tokens:" + p32, 1000); }, "token id 70000 at position 0");
  std::remove(p16.c_str());
  std::remove(p32.c_str());
}

TEST(DataSpec, TokenFileErrors) {
  const std::string empty = temp_path("empty.u16"), odd = temp_path("odd.u32"), noext = temp_path("ids.bin");
  write_file(empty, "");
  write_file(odd, "abc");
  write_file(noext, "abcd");
  expect_input_error([&] { load_data("tokens:" + empty, 0); }, "is empty");
  expect_input_error([&] { load_data("tokens:" + odd, 0); }, "not a whole number");
  expect_input_error([&] { load_data("tokens:" + noext, 0); }, "unknown format");
  expect_input_error([&] { load_data("tokens:" + temp_path("missing.u16"), 0); }, "cannot read");
  expect_input_error([&] { load_data("tokens:" + noext + ",dtype=f32", 0); }, "dtype='f32'");
  expect_input_error([&] { load_data("tokens:" + noext + ",stride=2", 0); }, "unknown key 'stride'");
  expect_input_error([&] { load_data("tokens:", 0); }, "missing the file path");
  std::remove(empty.c_str());
  std::remove(odd.c_str());
  std::remove(noext.c_str());
}

TEST(DataSpec, NpyOneAndTwoDimensional) {
  const std::string p1 = temp_path("a.npy"), p2 = temp_path("b.npy");
  std::string payload1;
  for (int i = 0; i < 5; ++i) payload1 += le(i + 1, 4);
  write_file(p1, npy("{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }", payload1));
  std::string payload2;
  for (int i = 0; i < 6; ++i) payload2 += le(i, 8);
  write_file(p2, npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", payload2));
  const Dataset a = load_data("tokens:" + p1, 0);
  ASSERT_EQ(a.sequences.size(), 1u);
  EXPECT_EQ(a.sequences[0], (std::vector<int32_t>{1, 2, 3, 4, 5}));
  const Dataset b = load_data("tokens:" + p2, 0);
  ASSERT_EQ(b.sequences.size(), 2u);
  EXPECT_EQ(b.sequences[1], (std::vector<int32_t>{3, 4, 5}));
  std::remove(p1.c_str());
  std::remove(p2.c_str());
}

TEST(DataSpec, BadNpyHeaders) {
  const std::string p = temp_path("bad.npy");
  const std::string four = le(1, 4) + le(2, 4);
  write_file(p, "NUMPY not really");
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "bad magic");
  write_file(p, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", four));
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "'<f4' is not supported");
  write_file(p, npy("{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }", four));
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "shape needs 12");
  write_file(p, npy("{'descr': '<u4', 'fortran_order': True, 'shape': (2,), }", four));
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "Fortran");
  write_file(p, npy("{'descr': '<u4', 'fortran_order': False, 'shape': (1, 1, 2), }", four));
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "3 dimensions");
  write_file(p, npy("{'descr': '<u4', 'fortran_order': False, }", four));
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "no 'shape'");
  write_file(p, std::string("\x93NUMPY\x01\x00", 8) + le(5000, 2) + "{'descr'");
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "past the end");
  write_file(p, npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", le(1, 4) + le(0xFFFFFFFF, 4)));
  expect_input_error([&] { load_data("tokens:" + p, 0); }, "id -1 at position 1");
  std::remove(p.c_str());
}

TEST(DataSpec, TextFileBytesWithBos) {
  const std::string p = temp_path("t.txt");
  write_file(p, "hello world");
  const Dataset d = load_data("text:" + p + ",len=5", 257);
  EXPECT_EQ(d.tokenizer, "bytes");
  EXPECT_EQ(d.vocab_size, 257);
  ASSERT_EQ(d.sequences.size(), 3u);  // 11 bytes in chunks of 4 (plus BOS each)
  EXPECT_EQ(d.sequences[0], (std::vector<int32_t>{256, 'h', 'e', 'l', 'l'}));
  EXPECT_EQ(d.sequences[2], (std::vector<int32_t>{256, 'r', 'l', 'd'}));
  // A vocabulary other than the byte-level 257 never reads text as bytes (text_data_test.cc has the rest).
  expect_input_error([&] { load_data("text:" + p, 100); }, "needs its own tokenizer");
  const std::string e = temp_path("e.txt");
  write_file(e, "");
  expect_input_error([&] { load_data("text:" + e, 0); }, "is empty");
  std::remove(p.c_str());
  std::remove(e.c_str());
}

}  // namespace
}  // namespace qh::data

namespace qh::data {
namespace {

TEST(DataSpec, DefaultEvalSpecFromARecipe) {
  const std::string spec =
      default_eval_spec(R"({"task": "bb", "data": "bb:seed=7,seqs=64,len=64,k=3,vocab=64,table_seed=2,alpha=0.5"})");
  const BBSpec s = parse_bb_spec(spec);
  EXPECT_EQ(s.seed, 7u + 1000003u);  // fresh samples, not the training seed
  EXPECT_EQ(s.config.table_seed, 2u);  // the same task
  EXPECT_EQ(s.config.seq_len, 64);
  // A text recipe records its corpus: that is the default data (the audit of a zoo text model needs no --data).
  EXPECT_EQ(default_eval_spec(R"({"task": "text", "data": "text:corpus.txt"})"), "text:corpus.txt");
  EXPECT_EQ(default_eval_spec("{}"), "");
  EXPECT_EQ(default_eval_spec("not json"), "");
}

}  // namespace
}  // namespace qh::data

namespace qh::data {
namespace {

// The BOS llama.cpp's half protocol puts first in every window: the byte-level BOS for bytes, the tokenizer's
// leading BOS for tokenized text (GPT-2 adds none), nothing for ids.
TEST(DataSpec, TextDataRecordsTheBosItsDocumentsStartWith) {
  const std::string text = temp_path("bos.txt");
  std::ofstream(text) << "hello world";
  EXPECT_EQ(load_data("text:" + text, 257).bos, 256);
  const std::string gpt2 = std::string(QH_SOURCE_DIR) + "/tests/tokenizer/data/gpt2/tokenizer.json";
  EXPECT_EQ(load_data("text:" + text + ",tokenizer=" + gpt2, 50257).bos, -1);
  const std::string ids = temp_path("bos.u16");
  std::ofstream(ids, std::ios::binary) << std::string("\x01\x00\x02\x00", 4);
  EXPECT_EQ(load_data("tokens:" + ids, 0).bos, -1);
}

}  // namespace
}  // namespace qh::data
