// Crash test: a stream of notices from cl.csirt to uk.ncsc (direct) and to au.asd (through
// hub.oas), while the sender, a receiver or the hub is killed with SIGKILL at random moments and
// restarted. Afterwards every notice is in every intended inbox exactly once.
//
// The kills are scheduled by progress, not by the clock: the seed picks after which batches the
// nodes die, so a slow build (a sanitizer's) and a fast one run the same schedule, and the test
// asserts every kill at every size. SEVEX_CRASH_NOTICES sets the stream's length (default
// 10,000, at least 250); SEVEX_CRASH_SEED the seed, which the test prints.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <numeric>
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
  const int total = std::max(EnvInt("SEVEX_CRASH_NOTICES", 10000), 250);
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

  // The schedule: after which batch each kill comes, drawn from the seed. Every round kills
  // sender, receivers and hub once each, in a random order.
  constexpr int kBatch = 50;
  const int batches = (total + kBatch - 1) / kBatch;
  std::mt19937 rng(seed);
  const int planned = std::clamp(batches / 4, 4, 12);
  std::vector<int> after_batch;
  {
    std::vector<int> all(batches - 1);
    std::iota(all.begin(), all.end(), 1);  // never before the first batch or after the last
    std::shuffle(all.begin(), all.end(), rng);
    after_batch.assign(all.begin(), all.begin() + planned);
    std::sort(after_batch.begin(), after_batch.end());
  }
  std::vector<std::string> victims = {kCl, kUk, kAu, kHub};
  std::vector<std::pair<std::string, int>> schedule;  // victim, milliseconds down
  for (int k = 0; k < planned; ++k) {
    if (k % victims.size() == 0) std::shuffle(victims.begin(), victims.end(), rng);
    schedule.emplace_back(victims[k % victims.size()], std::uniform_int_distribution<int>(0, 300)(rng));
  }
  std::cout << "kills after batches " << absl::StrJoin(after_batch, ",") << " of " << batches << "\n";

  // The analyst: batches of 50, each retried until the node says it is stored. A batch the
  // node made durable just before it was killed comes back as "already submitted".
  std::mutex mu;
  std::condition_variable progressed;
  int done_batches = 0;
  std::atomic<int> retries{0};
  std::atomic<bool> give_up{false};
  std::thread analyst([&] {
    for (int first = 0; first < total && !give_up; first += kBatch) {
      const std::string json = Batch(first, std::min(kBatch, total - first));
      while (!give_up) {
        auto r = net.Submit(kCl, json);
        if (r.ok() || absl::IsAlreadyExists(r.status())) break;
        ++retries;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // paces the retries
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        ++done_batches;
      }
      progressed.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(15));  // paces the load: a stream, not one burst
    }
  });

  // The chaos: once the stream has reached a kill's batch, kill that node with SIGKILL and
  // restart it after its time down.
  std::set<std::string> killed;
  int kills = 0;
  for (int k = 0; k < planned; ++k) {
    {
      std::unique_lock<std::mutex> lock(mu);
      progressed.wait(lock, [&] { return done_batches >= after_batch[k]; });
    }
    const auto& [victim, down_ms] = schedule[k];
    net.Kill(victim);
    ++kills;
    killed.insert(victim);
    std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));  // the time it stays down
    if (absl::Status s = net.Start(victim); !s.ok()) {
      ADD_FAILURE() << victim << " did not start again: " << s;
      give_up = true;
      break;
    }
  }
  analyst.join();
  ASSERT_FALSE(give_up);
  std::cout << kills << " kills (" << absl::StrJoin(killed, ", ") << "), " << retries << " submissions retried\n";
  EXPECT_EQ(kills, planned);
  EXPECT_EQ(killed.size(), victims.size()) << "sender, receivers and hub each killed at least once";

  for (const char* node : {kUk, kAu, kHub}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (Stored(net, node) < static_cast<uint64_t>(total) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polls, up to the deadline
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
    if (undelivered > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polls
  } while (undelivered > 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(undelivered, 0) << "receipts not (yet) delivered at the origin";

  EXPECT_TRUE(net.StopAll().ok());
  created->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sevex::node
