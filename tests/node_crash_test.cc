// Crash test: a stream of notices from cl.csirt to uk.ncsc (direct) and to au.asd (through
// hub.oas), while the sender, a receiver or the hub is killed with SIGKILL at random moments and
// restarted. Afterwards every notice is in every intended inbox exactly once.
//
// SEVEX_CRASH_NOTICES sets the stream's length (default 10,000); SEVEX_CRASH_SEED the seed.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "node/local_network.h"

namespace sevex::node {
namespace {

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";
constexpr char kAu[] = "au.asd";
constexpr char kHub[] = "hub.oas";

int EnvInt(const char* name, int fallback) {
  int v = 0;
  const char* text = std::getenv(name);
  return text != nullptr && absl::SimpleAtoi(text, &v) && v > 0 ? v : fallback;
}

std::string Batch(int first, int count) {
  std::vector<std::string> notices;
  for (int i = first; i < first + count; ++i) {
    notices.push_back(absl::StrCat(R"({"id": "crash-)", i, R"(", "title": "notice )", i,
                                   R"(", "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},
      "marking": {"tlp": "GREEN"},
      "attributes": {"victim_tier": "national", "impact_kind": "extensive_compromise"}})"));
  }
  return absl::StrCat("[", absl::StrJoin(notices, ","), "]");
}

uint64_t Stored(const LocalNetwork& net, const std::string& node) {
  v1::ApiRequest request;
  request.mutable_status();
  auto r = net.Call(node, request);
  return r.ok() ? r->status().notices_stored() - r->status().own_notices() : 0;
}

TEST(NodeCrashTest, EveryNoticeInEveryIntendedInboxExactlyOnceDespiteKills) {
  const int total = EnvInt("SEVEX_CRASH_NOTICES", 10000);
  const unsigned seed = static_cast<unsigned>(EnvInt("SEVEX_CRASH_SEED", static_cast<int>(std::random_device{}() >> 1)));
  std::cout << "notices " << total << ", seed " << seed << " (SEVEX_CRASH_SEED reproduces the kill schedule)\n";
  const auto dir = std::filesystem::temp_directory_path() / absl::StrCat("sevex-crash-", ::getpid());
  std::filesystem::remove_all(dir);
  LocalNetwork::Spec spec;
  spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}, {kAu, "au-asd", false, ""},
                {kHub, "eu-nis2", true, ""}};
  spec.links = {{kCl, kUk}, {kCl, kHub}, {kAu, kHub}};
  auto created = LocalNetwork::Create(dir.string(), SEVEX_BINARY, spec);
  ASSERT_TRUE(created.ok()) << created.status();
  LocalNetwork& net = **created;
  ASSERT_TRUE(net.StartAll().ok());

  // The analyst: batches of 100, each retried until the node says it is stored. A batch the
  // node made durable just before it was killed comes back as "already submitted".
  constexpr int kBatch = 50;
  std::atomic<bool> submitting{true};
  std::atomic<int> retries{0};
  std::thread analyst([&] {
    for (int first = 0; first < total; first += kBatch) {
      const std::string json = Batch(first, std::min(kBatch, total - first));
      for (;;) {
        auto r = net.Submit(kCl, json);
        if (r.ok() || absl::IsAlreadyExists(r.status())) break;
        ++retries;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(15));  // a stream, not one burst
    }
    submitting = false;
  });

  // The chaos: while notices flow, kill a node at a random moment and restart it soon after;
  // each round kills sender, receivers and hub once each, in a random order.
  std::mt19937 rng(seed);
  std::vector<std::string> victims = {kCl, kUk, kAu, kHub};
  int kills = 0;
  std::set<std::string> killed;
  while (submitting) {
    if (kills % victims.size() == 0) std::shuffle(victims.begin(), victims.end(), rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng)));
    const std::string victim = victims[kills % victims.size()];
    net.Kill(victim);
    ++kills;
    killed.insert(victim);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
    ASSERT_TRUE(net.Start(victim).ok()) << victim;
  }
  analyst.join();
  std::cout << kills << " kills (" << absl::StrJoin(killed, ", ") << "), " << retries << " submissions retried\n";
  EXPECT_GE(kills, 4) << "the stream ended before sender, receivers and hub were each killed once";

  for (const char* node : {kUk, kAu, kHub}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (Stored(net, node) < static_cast<uint64_t>(total) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    auto inbox = net.Inbox(node);
    ASSERT_TRUE(inbox.ok()) << inbox.status();
    std::set<std::string> ids;
    for (const auto& e : inbox->inbox()) {
      EXPECT_EQ(e.notice().origin(), kCl);
      ids.insert(e.notice().id());
    }
    EXPECT_EQ(inbox->inbox_size(), total) << node << ": every notice, and each once";
    EXPECT_EQ(ids.size(), static_cast<size_t>(total)) << node;
  }
  // The origin knows: every recipient's receipt says delivered.
  auto own = net.Inbox(kCl, /*own=*/true);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->inbox_size(), total);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int undelivered = 0;
  do {
    own = net.Inbox(kCl, true);
    ASSERT_TRUE(own.ok());
    undelivered = 0;
    for (const auto& e : own->inbox()) {
      for (const auto& r : e.receipts()) undelivered += r.status() != v1::Receipt::DELIVERED;
      if (e.receipts_size() != 3) ++undelivered;
    }
    if (undelivered > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (undelivered > 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(undelivered, 0) << "receipts not (yet) delivered at the origin";

  EXPECT_TRUE(net.StopAll().ok());
  created->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sevex::node
