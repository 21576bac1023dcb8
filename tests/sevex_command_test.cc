// The `sevex` command as a user runs it: output formats, exit codes (0 ok, 2 bad input), and
// error messages that name what was wrong. Runs the built binary (SEVEX_BINARY).
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/json_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sevex/v1/assessment.pb.h"

namespace sevex {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

class SevexCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sevex-cli-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Runs `sevex ARGS` with standard input from `input`; `env` is prefixed (e.g. "VAR=x").
  Result Sevex(const std::string& args, const std::string& input = "", const std::string& env = "") {
    const std::string in = Write("stdin.txt", input);
    const std::string cmd = absl::StrCat("env -u SEVEX_POLICIES ", env, " ", SEVEX_BINARY, " ", args, " <", in, " >",
                                         (dir_ / "out.txt").string(), " 2>", (dir_ / "err.txt").string());
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Read(dir_ / "out.txt"), Read(dir_ / "err.txt")};
  }
  // A copy of the shipped policy set with `from` replaced by `to` in au-asd.
  std::string PolicyCopy(const std::string& from, const std::string& to) {
    const fs::path copy = dir_ / "policies";
    fs::copy(fs::path(SEVEX_SOURCE_DIR) / "policies", copy, fs::copy_options::recursive);
    const fs::path au = copy / "schemes" / "au-asd.textproto";
    const std::string original = Read(au);
    const std::string changed = absl::StrReplaceAll(original, {{from, to}});
    EXPECT_NE(changed, original) << "the policy copy did not change: " << from;
    std::ofstream(au, std::ios::trunc) << changed;
    return copy.string();
  }
  fs::path dir_;
};

constexpr char kC2Notice[] = R"({"attributes": {"impact_kind": "extensive_compromise", "victim_tier": "national"}})";

TEST_F(SevexCommandTest, ClassifyPrintsTheAssessmentAsJson) {
  const Result r = Sevex("classify --scheme au-asd --format json", kC2Notice);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"scheme\": \"au-asd\""));
  EXPECT_THAT(r.out, HasSubstr("\"level\": \"C2\""));
  EXPECT_THAT(r.out, HasSubstr("\"band\": \"S4\""));
  EXPECT_THAT(r.out, HasSubstr("\"low\": 70"));  // integers, not strings
  EXPECT_THAT(r.out, HasSubstr("\"high\": 89"));
  EXPECT_THAT(r.out, HasSubstr("\"explanation\": ["));
  EXPECT_THAT(r.out, HasSubstr("\"policy_hash\": \"sha256:"));
  // And it is an Assessment in the protobuf JSON mapping.
  engine::JsonReader reader;
  v1::Assessment a;
  ASSERT_TRUE(reader.Read(r.out, &a).ok());
  EXPECT_EQ(a.level(), "C2");
  EXPECT_TRUE(a.exact());
}

TEST_F(SevexCommandTest, ClassifyReadsAFileAndPrintsTextByDefault) {
  const std::string file = Write("n.json", kC2Notice);
  const Result r = Sevex(absl::StrCat("classify --scheme au-asd ", file));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("au-asd C2 — Category 2"));
}

TEST_F(SevexCommandTest, ClassifyManyNoticesPrintsOneJsonObjectPerLine) {
  const Result r = Sevex("classify --scheme au-asd --format json",
                      absl::StrCat(kC2Notice, "\n", R"({"attributes": {"impact_kind": "unsuccessful_attempt", "victim_tier": "small"}})", "\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string first, second, third;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_THAT(first, HasSubstr("\"level\":\"C2\""));
  EXPECT_THAT(second, HasSubstr("\"level\":\"C6\""));
  EXPECT_FALSE(std::getline(lines, third));
}

TEST_F(SevexCommandTest, UnknownAttributeIsBadInputNamingIt) {
  const Result r = Sevex("classify --scheme au-asd", R"({"attributes": {"victim_tier": "national", "victim_size": "big"}})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("attribute 'victim_size' is not in the attribute registry"));
  EXPECT_EQ(r.out, "");
}

TEST_F(SevexCommandTest, WrongTypedValuesAreBadInputNamingThem) {
  Result r = Sevex("classify --scheme eu-nis2", R"({"attributes": {"deaths": "two"}})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("attribute 'deaths' must be a whole number, got the string \"two\""));
  r = Sevex("classify --scheme eu-nis2", R"({"attributes": {"deaths": 1.5}})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("attribute 'deaths' must be a whole number"));
  r = Sevex("classify --scheme au-asd", R"({"attributes": {"victim_tier": 3}})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("attribute 'victim_tier' must be one of the strings {individual, small, medium, large, national, strategic}"));
  r = Sevex("classify --scheme au-asd", R"({"attributes": {"victim_tier": "huge"}})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("got the string \"huge\""));
  r = Sevex("classify --scheme eu-nis2", R"({"attributes": {"deaths": -1}})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("attribute 'deaths' is -1, outside 0..inf"));
}

TEST_F(SevexCommandTest, MalformedNoticesAreBadInput) {
  Result r = Sevex("classify --scheme au-asd", R"({"attributes": {}, "colour": "red"})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("<stdin>: colour: unknown field of Notice"));
  r = Sevex("classify --scheme au-asd", R"({"attributes": )");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not valid JSON"));
  r = Sevex("classify --scheme au-asd", "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no notice in the input"));
  r = Sevex("classify --scheme au-asd /nonexistent/notice.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/notice.json"));
}

TEST_F(SevexCommandTest, UnknownSchemeOptionAndCommandAreBadInput) {
  Result r = Sevex("classify --scheme xx-yy", kC2Notice);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown scheme 'xx-yy' (known: au-asd, cl-ds295"));
  r = Sevex("classify", kC2Notice);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--scheme ID is required"));
  r = Sevex("classify --scheme au-asd --colour red", kC2Notice);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option --colour"));
  r = Sevex("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate'"));
}

TEST_F(SevexCommandTest, TranslateALevel) {
  const Result r = Sevex("translate --from au-asd --level C2 --to eu-nis2 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"scheme\": \"eu-nis2\""));
  EXPECT_THAT(r.out, HasSubstr("\"level\": \"significant\""));
  EXPECT_THAT(r.out, HasSubstr("\"levels\": [\n  \"significant\"\n ]"));
  EXPECT_THAT(r.out, HasSubstr("\"method\": \"interval\""));
}

TEST_F(SevexCommandTest, TranslateANoticeReassessesWhenItCan) {
  const Result r = Sevex("translate --from eu-nis2 --to au-asd --format json",
                      R"({"attributes": {"entity_type": "dns", "unavailable_minutes": 40, "impact_kind": "sustained_disruption", "victim_tier": "national"}})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"method\": \"reassessed\""));
  EXPECT_THAT(r.out, HasSubstr("\"level\": \"C1\""));
}

TEST_F(SevexCommandTest, TranslateErrors) {
  Result r = Sevex("translate --from au-asd --level C9 --to eu-nis2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no level 'C9'"));
  r = Sevex("translate --level C2 --to eu-nis2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--level needs --from"));
  r = Sevex("translate --to au-asd", R"({"attributes": {}})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("give --from SCHEME"));
}

TEST_F(SevexCommandTest, PolicyCheckPassesOnTheShippedSet) {
  Result r = Sevex("policy check");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("10 schemes"));
  r = Sevex(absl::StrCat("policy check ", SEVEX_SOURCE_DIR, "/policies"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(SevexCommandTest, PolicyCheckFailsWithFileLineColumn) {
  // Make au-asd non-monotone: C5 anchored above C4.
  const std::string dir = PolicyCopy("id: \"C5\" name: \"Category 5\" colour: \"green\" low: 15 high: 34",
                                     "id: \"C5\" name: \"Category 5\" colour: \"green\" low: 36 high: 48");
  const Result r = Sevex(absl::StrCat("policy check ", dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(dir, "/schemes/au-asd.textproto:")));
  EXPECT_THAT(r.err, HasSubstr("non-monotone anchors: 'C4' (35..49) is listed as more severe than 'C5' (36..48)"));
  // A single file against the default registry.
  const Result one = Sevex(absl::StrCat("policy check ", dir, "/schemes/au-asd.textproto"));
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_THAT(one.err, HasSubstr("au-asd.textproto:46:1: non-monotone"));
}

TEST_F(SevexCommandTest, PoliciesOptionAndEnvironmentAreHonoured) {
  const std::string dir = PolicyCopy("name: \"Category 2\"", "name: \"Category Two\"");
  Result r = Sevex(absl::StrCat("classify --scheme au-asd --policies ", dir), kC2Notice);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("au-asd C2 — Category Two"));
  r = Sevex("classify --scheme au-asd", kC2Notice, absl::StrCat("SEVEX_POLICIES=", dir));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("au-asd C2 — Category Two"));
  r = Sevex("classify --scheme au-asd", kC2Notice);
  EXPECT_THAT(r.out, StartsWith("au-asd C2 — Category 2"));
  r = Sevex("classify --scheme au-asd --policies /nonexistent", kC2Notice);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent: not a policy directory"));
}

TEST_F(SevexCommandTest, PolicyShowMarksInterpretationAndNotionalParts) {
  Result r = Sevex("policy show uk-ncsc");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("interpretation (a reading of the sources, not their text):"));
  EXPECT_THAT(r.out, HasSubstr("CAT1"));
  r = Sevex("policy show us-nciss");
  EXPECT_THAT(r.out, HasSubstr("notional (fills a gap the sources leave):"));
  r = Sevex("policy show cl-ds295");
  EXPECT_THAT(r.out, HasSubstr("report: early alert within 3h of detection"));
  r = Sevex("policy show au-asd --format json");
  EXPECT_THAT(r.out, HasSubstr("\"policy_hash\": \"sha256:"));
  EXPECT_THAT(r.out, HasSubstr("\"id\": \"au-asd\""));
}

TEST_F(SevexCommandTest, PolicyMatrixInThreeFormats) {
  Result r = Sevex("policy matrix --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Ten schemes with 48 levels in all: 480 cells.
  size_t cells = 0;
  for (size_t at = r.out.find("\"from\""); at != std::string::npos; at = r.out.find("\"from\"", at + 1)) ++cells;
  EXPECT_EQ(cells, 480u);
  EXPECT_THAT(r.out, HasSubstr(R"({"from": "eu-nis2", "from_level": "significant", "to": "au-asd", "level": "C2", "levels": ["C1", "C2", "C3"], "method": "interval"})"));
  const std::string svg = (dir_ / "m.svg").string();
  r = Sevex(absl::StrCat("policy matrix --format svg --output ", svg));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string picture = Read(svg);
  EXPECT_THAT(picture, StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(picture, HasSubstr("</svg>"));
  EXPECT_THAT(picture, HasSubstr(">us-nciss<"));
  r = Sevex("policy matrix");
  EXPECT_THAT(r.out, HasSubstr("from au-asd:"));
}

TEST_F(SevexCommandTest, PolicyDiffOverACorpus) {
  const std::string dir = PolicyCopy(R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C3", "C2", "C1"] })",
                                     R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C2", "C2", "C1"] })");
  const std::string corpus = Write("corpus.jsonl",
                                   R"({"id": "a", "attributes": {"impact_kind": "extensive_compromise", "victim_tier": "large"}})"
                                   "\n"
                                   R"({"id": "b", "attributes": {"impact_kind": "extensive_compromise", "victim_tier": "small"}})"
                                   "\n\n"
                                   R"({"id": "c", "attributes": {"impact_kind": "low_level_attack", "victim_tier": "large"}})"
                                   "\n");
  Result r = Sevex(absl::StrCat("policy diff au-asd ", dir, "/schemes/au-asd.textproto --corpus ", corpus));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 change in the policy"));
  EXPECT_THAT(r.out, HasSubstr("corpus: 3 notices, 1 change level (1 more severe, 0 less severe, 0 same severity)"));
  EXPECT_THAT(r.out, HasSubstr("C3 -> C2: 1"));
  EXPECT_THAT(r.out, HasSubstr("a: C3 -> C2 (more severe)"));
  r = Sevex(absl::StrCat("policy diff au-asd ", dir, "/schemes/au-asd.textproto --corpus ", corpus, " --format json"));
  EXPECT_THAT(r.out, HasSubstr("\"corpus\": {\"notices\": 3, \"changed\": 1, \"more_severe\": 1"));
  // A bad line is reported with its line number.
  const std::string bad = Write("bad.jsonl", "{\"attributes\": {}}\n{\"attributes\": {\"deaths\": \"x\"}}\n");
  r = Sevex(absl::StrCat("policy diff au-asd au-asd --corpus ", bad));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(bad, ":2: attribute 'deaths'")));
}

TEST_F(SevexCommandTest, PkiMakesADevelopmentCaAndNodeCertificates) {
  const std::string pki = (dir_ / "pki").string();
  Result r = Sevex(absl::StrCat("pki init --dir ", pki));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Sevex(absl::StrCat("pki issue --dir ", pki, " --node-id cl.csirt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("sevex://cl.csirt"));
  r = Sevex(absl::StrCat("pki show ", pki, "/cl.csirt.crt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("identity:  sevex://cl.csirt"));
  EXPECT_THAT(r.out, HasSubstr("pin:       sha256 "));
  r = Sevex(absl::StrCat("pki show ", pki, "/cl.csirt.crt --format json"));
  EXPECT_THAT(r.out, HasSubstr("\"node_id\": \"cl.csirt\""));
  // Nothing is overwritten; bad ids and missing options are bad input.
  r = Sevex(absl::StrCat("pki issue --dir ", pki, " --node-id cl.csirt"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not overwriting"));
  r = Sevex(absl::StrCat("pki init --dir ", pki));
  EXPECT_EQ(r.exit_code, 2);
  r = Sevex(absl::StrCat("pki issue --dir ", pki, " --node-id CL_CSIRT"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("node id 'CL_CSIRT' must be"));
  r = Sevex("pki issue --node-id x.y");
  EXPECT_EQ(r.exit_code, 2);
  r = Sevex(absl::StrCat("pki show ", pki, "/ca.key"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not a PEM certificate"));
}

TEST_F(SevexCommandTest, EveryCommandHasHelp) {
  for (const char* c : {"classify", "translate", "policy check", "policy show", "policy matrix", "policy diff",
                        "attributes", "pki init", "pki issue", "pki show", "bench transport"}) {
    const Result r = Sevex(absl::StrCat(c, " --help"));
    EXPECT_EQ(r.exit_code, 0) << c;
    EXPECT_THAT(r.out, StartsWith(absl::StrCat("usage: sevex ", c))) << c;
  }
  const Result top = Sevex("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("classify"));
}

// The node commands without a node: a missing one says how to find out why (exit 1); a bad
// $SEVEX_API_TIMEOUT is bad input naming the variable (exit 2). A stopped node: node_lifecycle_test.
TEST_F(SevexCommandTest, NodeCommandsSayWhenNoNodeAnswers) {
  const std::string socket = (dir_ / "no-node.sock").string();
  for (const char* c : {"status", "outbox", "inbox", "export"}) {
    const Result r = Sevex(absl::StrCat(c, " --socket ", socket));
    EXPECT_EQ(r.exit_code, 1) << c << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat("sevex ", c, ": cannot reach the node at ", socket))) << c;
    EXPECT_THAT(r.err, HasSubstr("is `sevex node` running")) << c;
  }
  for (const char* value : {"soon", "0", "-5", "86401"}) {
    const Result r = Sevex(absl::StrCat("status --socket ", socket), "", absl::StrCat("SEVEX_API_TIMEOUT=", value));
    EXPECT_EQ(r.exit_code, 2) << value << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat("$SEVEX_API_TIMEOUT '", value, "': a whole number of seconds, 1..86400")))
        << value;
  }
}

TEST_F(SevexCommandTest, AttributesListsTheRegistry) {
  const Result r = Sevex("attributes");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("victim_tier: ordered enum {individual, small, medium, large, national, strategic}"));
  EXPECT_THAT(r.out, HasSubstr("direct_loss_eur: DECIMAL (EUR)"));
}

}  // namespace
}  // namespace sevex
