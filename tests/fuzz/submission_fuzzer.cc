// submission_fuzzer — the node's own submission path (node/submitter.h): the input is the JSON
// of a local-API submission (`sevex submit FILE`), handed to a real Submitter of node cl.csirt
// (scheme cl-ds295; peers uk.ncsc and the hub hub.oas, which reaches au.asd) over a fresh
// in-memory store. The submitter parses (engine::ParseNotices), checks what the node checks
// before signing (the origin is this node, revision <= engine::kMaxRevision,
// engine::CheckNoticeForExchange: id syntax, TLP, recipients, RSIT class, attributes), assesses,
// signs the batch, routes by marking and commits. Each input is submitted twice.
//
// Oracle, first submission:
//   - it is answered exactly once, with an error or with every notice of the input submitted;
//   - refused: INVALID_ARGUMENT naming the submission ("notice.json…"), or ALREADY_EXISTS when
//     the input names one id twice (the second is not a higher revision of the first), and
//     nothing is stored;
//   - accepted: each notice is stored once, signed by the node's key (VerifyEnvelope), and the
//     signed notice is what a peer's checks accept: origin cl.csirt, an id of the exchange's
//     syntax (engine::IsNoticeId; one was made up when the input had none), revision 1 to
//     kMaxRevision, a TLP, recipients exactly when AMBER, AMBER_STRICT or RED, and
//     CheckNoticeForExchange passes; an assessment under cl-ds295 unless it is a retraction;
//     and its final recipients are among the marking's recipients when it names any.
// Second submission of the same text: when the first was accepted and any notice in it had an
// id, it is refused with ALREADY_EXISTS and stores nothing (revisions only increase); when no
// notice had an id, it is accepted again under new ids.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/catalog.h"
#include "engine/notice.h"
#include "node/clock.h"
#include "node/config.h"
#include "node/delivery.h"
#include "node/metrics.h"
#include "node/signing.h"
#include "node/submitter.h"
#include "policies/embedded_policies.h"
#include "store/memory_store.h"

namespace {

using sevex::v1::Marking;
namespace node = sevex::node;
namespace engine = sevex::engine;

constexpr char kSelf[] = "cl.csirt";
constexpr char kWhere[] = "notice.json";

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "submission_fuzzer: %s\n", why.c_str());
  std::abort();
}

class FixedClock final : public node::Clock {
 public:
  int64_t NowMs() const override { return 1'780'000'000'000; }
};

class DiscardingSink final : public node::ItemSink {
 public:
  void Enqueue(std::vector<sevex::store::OutboxItem>) override {}
};

std::string NewSigningKeyPem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

// What lives for the whole run: the catalog, the node's key and config, an io_context on a
// thread of its own.
struct World {
  World()
      : catalog(Load()),
        key(*node::SigningKey::FromPem(NewSigningKeyPem(), "fuzz key")),
        verify(*node::VerifyKey::FromPem(key.PublicKeyPem(), "fuzz key")),
        guard(boost::asio::make_work_guard(io)) {
    config.set_node_id(kSelf);
    config.set_scheme("cl-ds295");
    config.add_peers()->set_node_id("uk.ncsc");
    auto* hub = config.add_peers();
    hub->set_node_id("hub.oas");
    hub->set_relay(true);
    hub->add_reaches("au.asd");
    thread = std::thread([this] { io.run(); });
  }
  static engine::Catalog Load() {
    auto c = engine::Catalog::Load(sevex::policies::Embedded(), "embedded");
    if (!c.ok()) Fail(c.status().ToString());
    return *std::move(c);
  }

  engine::Catalog catalog;
  node::SigningKey key;
  node::VerifyKey verify;
  sevex::v1::NodeConfig config;
  FixedClock clock;
  DiscardingSink sink;
  node::Metrics metrics;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::thread thread;
};

World& TheWorld() {
  static World* world = new World();  // never destroyed: its thread runs until the process ends
  return *world;
}

// Submits `json`; the answer. `answers` counts the calls of the reply, checked once the
// submitter has stopped (a second call may come late).
sevex::v1::ApiResponse Submit(node::Submitter& submitter, absl::string_view json,
                              const std::shared_ptr<std::atomic<int>>& answers) {
  auto answer = std::make_shared<std::promise<sevex::v1::ApiResponse>>();
  std::future<sevex::v1::ApiResponse> f = answer->get_future();
  sevex::v1::SubmitRequest request;
  request.set_json(std::string(json));
  request.set_where(kWhere);
  auto calls = std::make_shared<std::atomic<int>>(0);  // of this submission's reply
  submitter.Submit(request, [answer, answers, calls](sevex::v1::ApiResponse r) {
    answers->fetch_add(1);
    if (calls->fetch_add(1) == 0) answer->set_value(std::move(r));
  });
  if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready)
    Fail("a submission was never answered");
  return f.get();
}

uint64_t StoredCount(sevex::store::MemoryStore& store) {
  auto n = store.NoticeCount(/*own_only=*/false);
  if (!n.ok()) Fail(n.status().ToString());
  return *n;
}

bool NeedsRecipients(Marking::Tlp tlp) {
  return tlp == Marking::AMBER || tlp == Marking::AMBER_STRICT || tlp == Marking::RED;
}

// Every accepted notice, as stored and signed.
void CheckAccepted(World& w, sevex::store::MemoryStore& store, const sevex::v1::ApiResponse& r) {
  for (const sevex::v1::Submitted& s : r.submitted()) {
    auto stored = store.Get(kSelf, s.id(), s.revision());
    if (!stored.ok() || !stored->has_value()) Fail(absl::StrCat("submitted but not stored: ", s.id()));
    sevex::v1::SignedNotice envelope;
    sevex::v1::Notice n;
    if (!envelope.ParseFromString((*stored)->envelope) || !n.ParseFromString(envelope.notice())) {
      Fail("a stored envelope does not parse");
    }
    node::RootCache cache;
    if (absl::Status v = node::VerifyEnvelope(w.verify, kSelf, envelope, &cache); !v.ok()) {
      Fail(absl::StrCat("a stored envelope does not verify: ", v.ToString()));
    }
    if (n.origin() != kSelf) Fail(absl::StrCat("origin '", n.origin(), "'"));
    if (n.id() != s.id() || n.revision() != s.revision()) Fail("the answer and the signed notice differ");
    if (!engine::IsNoticeId(n.id())) Fail(absl::StrCat("id '", n.id(), "' signed"));
    if (n.revision() < 1 || n.revision() > engine::kMaxRevision)
      Fail(absl::StrCat("revision ", n.revision()));
    const Marking::Tlp tlp = n.marking().tlp();
    if (tlp == Marking::TLP_UNSPECIFIED) Fail("signed without a TLP");
    if (NeedsRecipients(tlp) == n.marking().recipients().empty()) Fail("recipients do not fit the TLP");
    if (auto c = engine::CheckNoticeForExchange(w.catalog.registry(), n); !c.ok()) {
      Fail(absl::StrCat("signed a notice a peer refuses: ", c.status().ToString()));
    }
    if (!n.retracted() && n.origin_assessment().scheme() != "cl-ds295") Fail("not assessed under cl-ds295");
    if (NeedsRecipients(tlp)) {
      for (const std::string& to : s.recipients()) {
        const auto& named = n.marking().recipients();
        if (std::find(named.begin(), named.end(), to) == named.end()) {
          Fail(absl::StrCat("TLP ", Marking::Tlp_Name(tlp), " goes to ", to, ", whom it does not name"));
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = TheWorld();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // What the input holds, read as the submitter reads it: how many notices, and whether any
  // names its id.
  auto parsed = engine::ParseNotices(text, kWhere);
  const bool any_id = parsed.ok() && std::any_of(parsed->begin(), parsed->end(),
                                                 [](const sevex::v1::Notice& n) { return !n.id().empty(); });
  bool repeats_an_id = false;
  if (parsed.ok()) {
    std::set<std::string> seen;
    for (const sevex::v1::Notice& n : *parsed) {
      if (!n.id().empty() && !seen.insert(n.id()).second) repeats_an_id = true;
    }
  }

  std::unique_ptr<sevex::store::MemoryStore> store =
      sevex::store::OpenMemoryStore({.clock_ms = [] { return int64_t{1'780'000'000'000}; }});
  uint64_t ids = 0;
  auto submitter = std::make_unique<node::Submitter>(
      w.io, node::Submitter::Deps{w.config, w.catalog, *w.catalog.Find("cl-ds295"), w.key, *store, w.sink,
                                  w.metrics, w.clock, [&ids] { return absl::StrCat("generated-", ++ids); }});

  auto answers = std::make_shared<std::atomic<int>>(0);
  int submissions = 1;
  const sevex::v1::ApiResponse first = Submit(*submitter, text, answers);
  const uint64_t after_first = StoredCount(*store);
  if (!first.error().empty()) {
    const bool repeated_id_refused =
        repeats_an_id && first.error_code() == static_cast<uint32_t>(absl::StatusCode::kAlreadyExists);
    if (first.error_code() != static_cast<uint32_t>(absl::StatusCode::kInvalidArgument) &&
        !repeated_id_refused) {
      Fail(absl::StrCat("refused with code ", first.error_code(), ": ", first.error()));
    }
    if (!absl::StartsWith(first.error(), kWhere))
      Fail(absl::StrCat("refusal does not say where: ", first.error()));
    if (after_first != 0) Fail("a refused submission stored something");
    if (first.submitted_size() != 0) Fail("a refused submission lists notices");
  } else {
    if (!parsed.ok()) Fail("accepted what ParseNotices refuses");
    if (static_cast<size_t>(first.submitted_size()) != parsed->size()) Fail("not every notice was submitted");
    if (after_first != parsed->size()) Fail(absl::StrCat(after_first, " stored of ", parsed->size()));
    CheckAccepted(w, *store, first);

    ++submissions;
    const sevex::v1::ApiResponse second = Submit(*submitter, text, answers);
    const uint64_t after_second = StoredCount(*store);
    if (any_id) {
      if (second.error_code() != static_cast<uint32_t>(absl::StatusCode::kAlreadyExists)) {
        Fail(absl::StrCat("a notice submitted again was not refused as already submitted: ",
                          second.error_code(), " ", second.error()));
      }
      if (after_second != after_first) Fail("a submission refused the second time stored something");
    } else {
      if (!second.error().empty()) Fail(absl::StrCat("accepted once, refused again: ", second.error()));
      if (after_second != 2 * after_first) Fail("the second submission did not store as many");
      CheckAccepted(w, *store, second);
    }
  }

  std::promise<void> stopped;
  submitter->Stop([&stopped] { stopped.set_value(); });
  stopped.get_future().wait();
  store->Close();
  if (answers->load() != submissions) Fail("a submission was answered more than once");
  return 0;
}
