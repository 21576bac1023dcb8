// `sevex policy diff --format json` over a corpus whose notice ids and titles hold what JSON
// must escape or pass through: quotes, apostrophes, backslashes, non-ASCII, control characters.
// Regression: the ids were written with C escapes (\' and \xc3), which no JSON parser accepts.
// The output must pass `python3 -m json.tool` and give back each id exactly.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/json_writer.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace sevex {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAreArray;

class PolicyDiffJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sevex-diff-json-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Runs a shell command; its exit code, standard output in out.txt.
  int Run(const std::string& cmd) {
    const int status = std::system(
        absl::StrCat(cmd, " >", (dir_ / "out.txt").string(), " 2>", (dir_ / "err.txt").string()).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  fs::path dir_;
};

TEST_F(PolicyDiffJsonTest, IdsWithQuotesNonAsciiAndControlCharactersRoundTrip) {
  // A copy of the shipped policies with one au-asd cell changed, so every notice changes level.
  const fs::path policies = dir_ / "policies";
  fs::copy(fs::path(SEVEX_SOURCE_DIR) / "policies", policies, fs::copy_options::recursive);
  const fs::path au = policies / "schemes" / "au-asd.textproto";
  const std::string original = Read(au);
  const std::string changed = absl::StrReplaceAll(
      original,
      {{R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C3", "C2", "C1"] })",
        R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C2", "C2", "C1"] })"}});
  ASSERT_NE(changed, original);
  std::ofstream(au, std::ios::trunc) << changed;

  const std::vector<std::string> ids = {
      "o'brien-caf\xC3\xA9-1",                      // the reported one: an apostrophe and é
      "say \"hi\" \\ back\\slash",                  // quotes and backslashes
      "\xE6\x97\xA5\xE6\x9C\xAC-\xF0\x9F\x94\x92",  // 日本 and a 4-byte character
      "ctl\x01-nl\n-tab\t-cr\r-end",                // control characters
  };
  std::string corpus;
  for (const std::string& id : ids) {
    // The corpus is JSON too: written with the same writer.
    base::JsonWriter w;
    w.BeginObject().Key("id").String(id).Key("title").String(absl::StrCat("title \"", id, "\" \x01"));
    w.Key("attributes").BeginObject().Key("impact_kind").String("extensive_compromise");
    w.Key("victim_tier").String("large").EndObject().EndObject();
    absl::StrAppend(&corpus, w.text(), "\n");
  }
  std::ofstream(dir_ / "corpus.jsonl") << corpus;

  ASSERT_EQ(Run(absl::StrCat("env -u SEVEX_POLICIES ", SEVEX_BINARY, " policy diff au-asd ", au.string(),
                             " --corpus ", (dir_ / "corpus.jsonl").string(), " --format json")),
            0)
      << Read(dir_ / "err.txt");
  const std::string out = Read(dir_ / "out.txt");
  std::ofstream(dir_ / "diff.json", std::ios::binary) << out;

  // Python's parser, strict as RFC 8259 is.
  EXPECT_EQ(Run(absl::StrCat("python3 -m json.tool ", (dir_ / "diff.json").string())), 0)
      << Read(dir_ / "err.txt") << "\n"
      << out;

  // Parsed back, the ids are the ones written, byte for byte.
  google::protobuf::Value v;
  const auto parsed = google::protobuf::util::JsonStringToMessage(out, &v);
  ASSERT_TRUE(parsed.ok()) << parsed.message() << "\n" << out;
  const auto& listed = v.struct_value().fields().at("corpus").struct_value().fields().at("changed_notices");
  std::vector<std::string> got;
  for (const auto& n : listed.list_value().values())
    got.push_back(n.struct_value().fields().at("id").string_value());
  EXPECT_THAT(got, ElementsAreArray(ids));
  // No C escapes left.
  EXPECT_EQ(out.find("\\'"), std::string::npos) << out;
  EXPECT_EQ(out.find("\\x"), std::string::npos) << out;
}

}  // namespace
}  // namespace sevex
