// Integration: hostile submissions to a live node. Every notice a submitter can get wrong — an
// origin that is not this node (the shipped examples/notices/eu-dns-outage.json, written by
// eu.hub), no TLP, AMBER without recipients, an unknown attribute, a bad id, a revision past
// the highest, a retraction of nothing, a revision already submitted, one bad notice in a batch —
// is answered with exit 2 (or 2 for "already submitted") and the reason naming the notice and
// the field; the node stays up, its peer session is not dropped, and nothing of a refused batch
// is stored. Until this test, each of these ended `sevex node` with std::bad_function_call.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"
#include "process_support.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

struct Answer {
  int exit_code = -1;
  std::string err;  // standard error: the reason
};

class NodeSubmitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / absl::StrCat("sevex-submit-", ::getpid()));
    fs::remove_all(*dir_);
    LocalNetwork::Spec spec;
    spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}};
    spec.links = {{kCl, kUk}};
    auto net = LocalNetwork::Create(dir_->string(), SEVEX_BINARY, spec);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = net->release();
    ASSERT_TRUE(net_->StartAll().ok());
    ASSERT_TRUE(sevex::testing::WaitFor([] { return SessionUp(); }))
        << "cl.csirt and uk.ncsc never connected";
  }
  static void TearDownTestSuite() {
    if (net_ != nullptr) {
      EXPECT_TRUE(net_->StopAll().ok());
    }
    delete net_;
    net_ = nullptr;
    fs::remove_all(*dir_);
    delete dir_;
  }
  void TearDown() override {
    // Whatever the submission was, the node still runs, still serves its API, and kept its
    // one session with uk.ncsc.
    ASSERT_TRUE(net_->Running(kCl)) << "sevex node ended; its log:\n" << Log();
    EXPECT_THAT(Log(), Not(HasSubstr("terminate called")));
    v1::ApiRequest status;
    status.mutable_status();
    auto r = net_->Call(kCl, status);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status().node_id(), kCl);
    EXPECT_TRUE(SessionUp());
    EXPECT_EQ(Metric("sevex_sessions_opened_total{peer=\"uk.ncsc\"}"), 1.0) << "the peer session was dropped";
  }

  static bool SessionUp() { return Metric("sevex_peer_session_up{peer=\"uk.ncsc\"}") == 1.0; }
  static double Metric(const std::string& series) {
    auto v =
        sevex::testing::Sample(sevex::testing::HttpGet(net_->MetricsAddress(kCl), "/metrics").body, series);
    return v.value_or(-1);
  }
  static std::string Log() {
    std::ifstream in(net_->LogPath(kCl));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // `sevex submit` as an analyst runs it, with `json` in a file named `name`.
  static Answer Submit(const std::string& name, const std::string& json) {
    const fs::path file = *dir_ / name;
    std::ofstream(file, std::ios::trunc) << json;
    return SubmitFile(file);
  }
  static Answer SubmitFile(const fs::path& file) {
    const fs::path err = *dir_ / "submit.err";
    auto [code, out] =
        sevex::testing::Shell(absl::StrCat("'", SEVEX_BINARY, "' submit --config '", net_->ConfigPath(kCl),
                                           "' '", file.string(), "' 2>'", err.string(), "'"));
    std::ifstream in(err);
    std::stringstream text;
    text << in.rdbuf();
    return {code, text.str()};
  }
  static size_t OwnStored() {
    auto r = net_->Inbox(kCl, /*own=*/true);
    return r.ok() ? static_cast<size_t>(r->inbox_size()) : 0;
  }
  static std::string Notice(const std::string& id, const std::string& marking,
                            const std::string& attributes = R"("victim_tier": "large")",
                            const std::string& extra = "") {
    return absl::StrCat(R"({"id": ")", id, R"(", "title": "t", "marking": )", marking, R"(, "attributes": {)",
                        attributes, "}", extra, "}");
  }

  static fs::path* dir_;
  static LocalNetwork* net_;
};

fs::path* NodeSubmitTest::dir_ = nullptr;
LocalNetwork* NodeSubmitTest::net_ = nullptr;

constexpr char kClear[] = R"({"tlp": "CLEAR"})";

TEST_F(NodeSubmitTest, TheShippedNoticeOfAnotherOriginIsRefusedWithTheOrigin) {
  const Answer a = SubmitFile(fs::path(SEVEX_SOURCE_DIR) / "examples/notices/eu-dns-outage.json");
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("eu-dns-outage.json: origin 'eu.hub' is not this node (cl.csirt)"));
  EXPECT_EQ(OwnStored(), 0u);
}

TEST_F(NodeSubmitTest, ANoticeWithoutTlpIsRefused) {
  const Answer a = Submit("no-tlp.json", Notice("no-tlp-1", "{}"));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("no-tlp.json: marking.tlp is required"));
}

TEST_F(NodeSubmitTest, AmberWithoutRecipientsIsRefused) {
  const Answer a = Submit("amber.json", Notice("amber-1", R"({"tlp": "AMBER"})"));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("amber.json: TLP:AMBER needs marking.recipients"));
}

TEST_F(NodeSubmitTest, AnUnknownAttributeIsRefusedByName) {
  const Answer a = Submit("attr.json", Notice("attr-1", kClear, R"("no_such_attribute": 3)"));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("attr.json"));
  EXPECT_THAT(a.err, HasSubstr("no_such_attribute"));
}

TEST_F(NodeSubmitTest, ABadIdIsRefused) {
  for (const std::string& id :
       std::vector<std::string>{"has space", std::string(129, 'a'), "semi;colon", "quo\\\"te"}) {
    const Answer a = Submit("id.json", Notice(id, kClear));
    EXPECT_EQ(a.exit_code, 2) << id << ": " << a.err;
    EXPECT_THAT(a.err, HasSubstr("id.json: id '")) << id;
    EXPECT_THAT(a.err, HasSubstr("must be 1–128 letters")) << id;
  }
}

TEST_F(NodeSubmitTest, ARevisionPastTheHighestIsRefusedAndTheHighestCannotWrap) {
  Answer a =
      Submit("rev.json", Notice("rev-1", kClear, R"("victim_tier": "large")", R"(, "revision": 4294967295)"));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("rev.json: revision 4294967295 is above the highest, 2147483647"));

  a = Submit("rev.json", Notice("rev-2", kClear, R"("victim_tier": "large")", R"(, "revision": 2147483647)"));
  EXPECT_EQ(a.exit_code, 0) << a.err;
  a = Submit("rev.json", Notice("rev-2", kClear, R"("victim_tier": "large")", R"(, "revision": 2147483647)"));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("revision 2147483647 is the highest: submit a new notice"));
  EXPECT_THAT(a.err, Not(HasSubstr("the next revision is")));
}

TEST_F(NodeSubmitTest, ARevisionAlreadySubmittedNamesTheNextOne) {
  ASSERT_EQ(Submit("dup.json", Notice("dup-1", kClear)).exit_code, 0);
  const Answer a = Submit("dup.json", Notice("dup-1", kClear));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("notice dup-1 revision 1 is already submitted; the next revision is 2"));
}

TEST_F(NodeSubmitTest, ARetractionOfNothingIsRefused) {
  const Answer a =
      Submit("retract.json", Notice("never-1", kClear, "", R"(, "retracted": true, "revision": 2)"));
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("notice never-1 is a retraction of a notice this node never submitted"));
}

TEST_F(NodeSubmitTest, JunkIsRefusedWithWhere) {
  for (const std::string& junk :
       std::vector<std::string>{"", "{", "[]", "null", "{\"attributes\": 5}", "\x01\x02\xff"}) {
    const Answer a = Submit("junk.json", junk);
    EXPECT_EQ(a.exit_code, 2) << "'" << junk << "': " << a.err;
    EXPECT_THAT(a.err, HasSubstr("junk.json")) << junk;
  }
}

TEST_F(NodeSubmitTest, OneBadNoticeRefusesTheWholeBatchAndStoresNothingOfIt) {
  const size_t before = OwnStored();
  const std::string batch = absl::StrCat("[", Notice("batch-1", kClear), ",", Notice("batch-2", kClear), ",",
                                         Notice("batch-3", R"({"tlp": "RED"})"), "]");
  const Answer a = Submit("batch.json", batch);
  EXPECT_EQ(a.exit_code, 2) << a.err;
  EXPECT_THAT(a.err, HasSubstr("batch.json (notice 3): TLP:RED needs marking.recipients"));
  EXPECT_EQ(OwnStored(), before) << "part of a refused batch was stored";

  // A revision conflict inside the batch, found only on the node, refuses it whole too.
  const std::string twice = absl::StrCat("[", Notice("twice-1", kClear), ",", Notice("twice-1", kClear), "]");
  const Answer b = Submit("twice.json", twice);
  EXPECT_EQ(b.exit_code, 2) << b.err;
  EXPECT_THAT(b.err, HasSubstr("notice twice-1 revision 1 is already submitted"));
  EXPECT_EQ(OwnStored(), before) << "part of a refused batch was stored";

  // The same batch, corrected, is taken whole and delivered.
  const std::string good =
      absl::StrCat("[", Notice("batch-1", kClear), ",", Notice("batch-2", kClear), ",",
                   Notice("batch-3", R"({"tlp": "RED", "recipients": ["uk.ncsc"]})"), "]");
  const Answer c = Submit("good.json", good);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(OwnStored(), before + 3);
  EXPECT_TRUE(sevex::testing::WaitFor([] {
    auto r = net_->Inbox(kUk);
    if (!r.ok()) return false;
    int n = 0;
    for (const auto& e : r->inbox()) n += e.notice().id().rfind("batch-", 0) == 0 ? 1 : 0;
    return n == 3;
  })) << "uk.ncsc did not receive the corrected batch";
}

// Issue 22: a title is text from a peer. One that clears the screen and draws a fake inbox line
// is shown escaped, on its own line, both to its receiver (`sevex inbox` at uk.ncsc) and at its
// origin (`inbox --own`); no byte of it reaches the terminal as a control.
TEST_F(NodeSubmitTest, ATitleThatWouldDriveTheTerminalIsShownEscaped) {
  const std::string json =
      R"({"id": "esc-1", "title": "\u001b[2J\u001b[Hcalm\n2026-01-01T00:00:00Z  uk.ncsc/fake rev 1  TLP:CLEAR\u202e",)"
      R"( "marking": {"tlp": "CLEAR"}, "attributes": {"victim_tier": "large"}})";
  ASSERT_EQ(Submit("esc.json", json).exit_code, 0);
  ASSERT_TRUE(sevex::testing::WaitFor([&] {
    auto r = net_->Inbox(kUk);
    if (!r.ok()) return false;
    for (const auto& e : r->inbox()) {
      if (e.notice().id() == "esc-1") return true;
    }
    return false;
  })) << "uk.ncsc never received esc-1";
  const std::string shown =
      R"(  \x1b[2J\x1b[Hcalm\n2026-01-01T00:00:00Z  uk.ncsc/fake rev 1  TLP:CLEAR\u202e)";
  for (const auto& [node, own] : {std::pair{kUk, ""}, std::pair{kCl, " --own"}}) {
    auto [code, out] = sevex::testing::Shell(
        absl::StrCat("'", SEVEX_BINARY, "' inbox --config '", net_->ConfigPath(node), "'", own));
    SCOPED_TRACE(absl::StrCat(node, own, ":\n", out));
    EXPECT_EQ(code, 0);
    EXPECT_EQ(out.find('\x1b'), std::string::npos);
    EXPECT_EQ(out.find("\xe2\x80\xae"), std::string::npos);
    EXPECT_THAT(out, HasSubstr(absl::StrCat(shown, "\n")));
    EXPECT_THAT(out, Not(HasSubstr("\n2026-01-01T00:00:00Z  uk.ncsc/fake")));
  }
}

}  // namespace
}  // namespace sevex::node
