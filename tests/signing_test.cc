// node/signing: Ed25519 origin signatures over RFC 6962 Merkle batches — the tree against an
// independent recursive definition and the Certificate Transparency vectors, inclusion proofs,
// tampering, the root cache, and key files (modes, no overwrite, refusal of other key types).
#include "node/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// RFC 6962 §2.1 written out literally, independent of signing.cc.

std::string Sha256(const std::string& data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

size_t SplitPoint(size_t n) {  // the largest power of two smaller than n (n > 1)
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::vector<std::string> Slice(const std::vector<std::string>& d, size_t from, size_t to) {
  return std::vector<std::string>(d.begin() + from, d.begin() + to);
}

// MTH(D[n]) over the entries themselves.
std::string RefMth(const std::vector<std::string>& d) {
  const size_t n = d.size();
  if (n == 0) return Sha256("");
  if (n == 1) return Sha256(std::string(1, '\x00') + d[0]);
  const size_t k = SplitPoint(n);
  return Sha256(std::string(1, '\x01') + RefMth(Slice(d, 0, k)) + RefMth(Slice(d, k, n)));
}

// PATH(m, D[n]).
std::vector<std::string> RefPath(size_t m, const std::vector<std::string>& d) {
  const size_t n = d.size();
  if (n <= 1) return {};
  const size_t k = SplitPoint(n);
  std::vector<std::string> path;
  if (m < k) {
    path = RefPath(m, Slice(d, 0, k));
    path.push_back(RefMth(Slice(d, k, n)));
  } else {
    path = RefPath(m - k, Slice(d, k, n));
    path.push_back(RefMth(Slice(d, 0, k)));
  }
  return path;
}

std::vector<std::string> Entries(size_t n) {
  std::vector<std::string> d;
  for (size_t i = 0; i < n; ++i) d.push_back(absl::StrCat("entry ", i, std::string(i % 5, 'x')));
  return d;
}

std::vector<std::string> LeafHashes(const std::vector<std::string>& d) {
  std::vector<std::string> hashes;
  for (const std::string& e : d) hashes.push_back(LeafHash(e));
  return hashes;
}

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

// ---------------------------------------------------------------------------------------------
// Merkle tree.

TEST(MerkleTest, LeafHashIsSha256OfZeroAndData) {
  EXPECT_EQ(LeafHash("abc"), Sha256(std::string("\x00" "abc", 4)));
  EXPECT_EQ(Hex(LeafHash("")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

// The Certificate Transparency reference vectors (merkle_tree_test.cc): roots of the first n of
// eight entries.
TEST(MerkleTest, RootsMatchCertificateTransparencyVectors) {
  const std::vector<std::string> entries = {
      std::string(),
      std::string("\x00", 1),
      "\x10",
      "\x20\x21",
      "\x30\x31",
      "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
  };
  const std::vector<std::string> roots = {
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  for (size_t n = 0; n <= entries.size(); ++n) {
    EXPECT_EQ(Hex(MerkleRoot(LeafHashes(Slice(entries, 0, n)))), roots[n]) << "n = " << n;
  }
}

TEST(MerkleTest, RootAndPathsMatchTheRecursiveDefinition) {
  for (size_t n = 0; n <= 70; ++n) {
    const std::vector<std::string> d = Entries(n);
    const std::vector<std::string> leaves = LeafHashes(d);
    ASSERT_EQ(MerkleRoot(leaves), RefMth(d)) << "n = " << n;
    for (size_t m = 0; m < n; ++m) ASSERT_EQ(AuditPath(leaves, m), RefPath(m, d)) << "leaf " << m << " of " << n;
  }
}

TEST(MerkleTest, EveryPathReproducesTheRootForSizes1To17) {
  for (uint32_t n = 1; n <= 17; ++n) {
    const std::vector<std::string> leaves = LeafHashes(Entries(n));
    const std::string root = MerkleRoot(leaves);
    for (uint32_t m = 0; m < n; ++m) {
      absl::StatusOr<std::string> got = RootFromPath(leaves[m], m, n, AuditPath(leaves, m));
      ASSERT_TRUE(got.ok()) << got.status() << " leaf " << m << " of " << n;
      EXPECT_EQ(*got, root) << "leaf " << m << " of " << n;
      // The same path at another index implies another root (or no root at all).
      for (uint32_t other = 0; other < n; ++other) {
        if (other == m) continue;
        absl::StatusOr<std::string> wrong = RootFromPath(leaves[m], other, n, AuditPath(leaves, m));
        if (wrong.ok()) {
          EXPECT_NE(*wrong, root) << "leaf " << m << " as " << other << " of " << n;
        }
      }
    }
  }
}

TEST(MerkleTest, RootFromPathRefusesWhatDoesNotFit) {
  const std::vector<std::string> leaves = LeafHashes(Entries(6));
  const std::vector<std::string> path = AuditPath(leaves, 2);
  ASSERT_EQ(path.size(), 3u);
  EXPECT_TRUE(RootFromPath(leaves[2], 2, 6, path).ok());

  EXPECT_EQ(RootFromPath(leaves[2], 6, 6, path).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RootFromPath(leaves[2], 0, 0, {}).status().code(), absl::StatusCode::kInvalidArgument);

  std::vector<std::string> longer = path;
  longer.push_back(leaves[0]);
  EXPECT_THAT(RootFromPath(leaves[2], 2, 6, longer).status().message(), HasSubstr("too long"));
  std::vector<std::string> shorter(path.begin(), path.end() - 1);
  EXPECT_THAT(RootFromPath(leaves[2], 2, 6, shorter).status().message(), HasSubstr("too short"));
  EXPECT_EQ(RootFromPath(leaves[0], 0, 1, {leaves[1]}).status().code(), absl::StatusCode::kInvalidArgument);

  std::vector<std::string> bad_element = path;
  bad_element[1].pop_back();
  EXPECT_EQ(RootFromPath(leaves[2], 2, 6, bad_element).status().code(), absl::StatusCode::kInvalidArgument);
  bad_element[1] += "xy";
  EXPECT_EQ(RootFromPath(leaves[2], 2, 6, bad_element).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(RootFromPath("short", 2, 6, path).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MerkleTest, AuditPathOutOfRangeIsEmpty) {
  EXPECT_TRUE(AuditPath({}, 0).empty());
  EXPECT_TRUE(AuditPath(LeafHashes(Entries(3)), 3).empty());
  EXPECT_TRUE(AuditPath(LeafHashes(Entries(1)), 0).empty());
}

// ---------------------------------------------------------------------------------------------
// Keys and batches.

class SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sevex-signing-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  // A fresh key pair "<name>.key" / "<name>.pub" in the test's directory.
  void NewPair(const std::string& name, SigningKey* signing, VerifyKey* verify) {
    ASSERT_TRUE(WriteSigningKeyPair(PathOf(name + ".key"), PathOf(name + ".pub")).ok());
    absl::StatusOr<SigningKey> s = SigningKey::Load(PathOf(name + ".key"));
    ASSERT_TRUE(s.ok()) << s.status();
    absl::StatusOr<VerifyKey> v = VerifyKey::Load(PathOf(name + ".pub"));
    ASSERT_TRUE(v.ok()) << v.status();
    *signing = *s;
    *verify = *v;
  }

  void WriteFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.good());
  }

  std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static mode_t Mode(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
  }

  // An ECDSA P-256 key, written as "<name>.key" (PKCS#8) and "<name>.pub".
  void WriteP256Pair(const std::string& name) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    ASSERT_NE(key, nullptr);
    BIO* priv = BIO_new(BIO_s_mem());
    BIO* pub = BIO_new(BIO_s_mem());
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
    ASSERT_EQ(PEM_write_bio_PUBKEY(pub, key), 1);
    char* data = nullptr;
    long len = BIO_get_mem_data(priv, &data);
    WriteFile(PathOf(name + ".key"), std::string(data, static_cast<size_t>(len)));
    len = BIO_get_mem_data(pub, &data);
    WriteFile(PathOf(name + ".pub"), std::string(data, static_cast<size_t>(len)));
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(key);
  }

  fs::path dir_;
};

std::vector<std::string> Notices(size_t n) {
  std::vector<std::string> notices;
  for (size_t i = 0; i < n; ++i) notices.push_back(absl::StrCat("serialised notice #", i));
  return notices;
}

TEST_F(SigningTest, BatchRoundTrip) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  const std::vector<std::string> notices = Notices(7);
  const std::vector<v1::SignedNotice> envelopes = SignBatch(signing, notices);
  ASSERT_EQ(envelopes.size(), notices.size());
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const v1::SignedNotice& e = envelopes[i];
    EXPECT_EQ(e.notice(), notices[i]);
    EXPECT_EQ(e.leaf_index(), i);
    EXPECT_EQ(e.tree_size(), notices.size());
    EXPECT_EQ(e.root_signature().size(), 64u);
    EXPECT_EQ(e.root_signature(), envelopes[0].root_signature());
    const std::vector<std::string> path(e.path().begin(), e.path().end());
    EXPECT_EQ(path, AuditPath(LeafHashes(notices), i));
    EXPECT_TRUE(VerifyEnvelope(verify, "cl.csirt", e, nullptr).ok());
  }
  // The signature is over the prefix and the root, as the protocol says.
  const std::string root = MerkleRoot(LeafHashes(notices));
  EXPECT_TRUE(verify.Verify(absl::StrCat(kBatchSignaturePrefix, root), envelopes[0].root_signature()));
  EXPECT_FALSE(verify.Verify(root, envelopes[0].root_signature()));

  RootCache cache;
  for (const v1::SignedNotice& e : envelopes) EXPECT_TRUE(VerifyEnvelope(verify, "cl.csirt", e, &cache).ok());
  for (const v1::SignedNotice& e : envelopes) EXPECT_TRUE(VerifyEnvelope(verify, "cl.csirt", e, &cache).ok());
}

TEST_F(SigningTest, SingleNoticeAndEmptyBatch) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  EXPECT_TRUE(SignBatch(signing, {}).empty());
  const std::vector<v1::SignedNotice> one = SignBatch(signing, {"only"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].path_size(), 0);
  EXPECT_EQ(one[0].tree_size(), 1u);
  EXPECT_TRUE(VerifyEnvelope(verify, "cl.csirt", one[0], nullptr).ok());
}

TEST_F(SigningTest, WrongKeyFails) {
  SigningKey signing, other_signing;
  VerifyKey verify, other_verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  ASSERT_NO_FATAL_FAILURE(NewPair("other", &other_signing, &other_verify));
  const std::vector<v1::SignedNotice> envelopes = SignBatch(signing, Notices(3));
  const absl::Status status = VerifyEnvelope(other_verify, "cl.csirt", envelopes[1], nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("the origin signature of cl.csirt does not verify"));
}

TEST_F(SigningTest, FlippedNoticeByteFails) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  std::vector<v1::SignedNotice> envelopes = SignBatch(signing, Notices(5));
  std::string notice = envelopes[3].notice();
  for (size_t i = 0; i < notice.size(); ++i) {
    v1::SignedNotice e = envelopes[3];
    std::string tampered = notice;
    tampered[i] ^= 0x01;
    e.set_notice(tampered);
    EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", e, nullptr).code(), absl::StatusCode::kUnauthenticated) << i;
  }
}

TEST_F(SigningTest, FlippedSignatureByteFails) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  const std::vector<v1::SignedNotice> envelopes = SignBatch(signing, Notices(4));
  for (size_t i = 0; i < 64; ++i) {
    v1::SignedNotice e = envelopes[0];
    e.mutable_root_signature()->at(i) ^= 0x80;
    EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", e, nullptr).code(), absl::StatusCode::kUnauthenticated) << i;
  }
  v1::SignedNotice truncated = envelopes[0];
  truncated.mutable_root_signature()->pop_back();
  const absl::Status status = VerifyEnvelope(verify, "cl.csirt", truncated, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("63 bytes"));
}

TEST_F(SigningTest, ModifiedPathElementFails) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  const std::vector<v1::SignedNotice> envelopes = SignBatch(signing, Notices(9));
  for (int p = 0; p < envelopes[4].path_size(); ++p) {
    v1::SignedNotice e = envelopes[4];
    e.mutable_path(p)->at(7) ^= 0x04;
    EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", e, nullptr).code(), absl::StatusCode::kUnauthenticated) << p;
  }
  v1::SignedNotice dropped = envelopes[4];
  dropped.mutable_path()->RemoveLast();
  EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", dropped, nullptr).code(), absl::StatusCode::kUnauthenticated);
  v1::SignedNotice extra = envelopes[4];
  extra.add_path(std::string(32, 'a'));
  EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", extra, nullptr).code(), absl::StatusCode::kUnauthenticated);
  v1::SignedNotice short_element = envelopes[4];
  short_element.mutable_path(0)->pop_back();
  EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", short_element, nullptr).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(SigningTest, WrongLeafIndexFails) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  const std::vector<v1::SignedNotice> envelopes = SignBatch(signing, Notices(8));
  for (uint32_t index = 0; index < 8; ++index) {
    if (index == 5) continue;
    v1::SignedNotice e = envelopes[5];
    e.set_leaf_index(index);
    EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", e, nullptr).code(), absl::StatusCode::kUnauthenticated) << index;
  }
  v1::SignedNotice resized = envelopes[5];
  resized.set_tree_size(9);
  EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", resized, nullptr).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(SigningTest, MalformedEnvelopesAreUnauthenticated) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  const v1::SignedNotice good = SignBatch(signing, Notices(3))[2];

  v1::SignedNotice e = good;
  e.set_tree_size(0);
  EXPECT_THAT(VerifyEnvelope(verify, "cl.csirt", e, nullptr).message(), HasSubstr("tree size 0"));
  e.set_tree_size(1'000'001);
  e.set_leaf_index(1'000'000);
  EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", e, nullptr).code(), absl::StatusCode::kUnauthenticated);
  e = good;
  e.set_leaf_index(3);
  EXPECT_THAT(VerifyEnvelope(verify, "cl.csirt", e, nullptr).message(), HasSubstr("leaf 3 of a tree of 3"));
  e = good;
  for (int i = 0; i < 65; ++i) e.add_path(std::string(32, 'p'));
  const absl::Status too_long = VerifyEnvelope(verify, "cl.csirt", e, nullptr);
  EXPECT_EQ(too_long.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(too_long.message(), HasSubstr("cl.csirt"));
  e = good;
  e.clear_root_signature();
  EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", e, nullptr).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(SigningTest, CacheHitStillRejectsATamperedNotice) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  const std::vector<v1::SignedNotice> envelopes = SignBatch(signing, Notices(4));
  RootCache cache;
  ASSERT_TRUE(VerifyEnvelope(verify, "cl.csirt", envelopes[0], &cache).ok());
  // The root is cached now; a tampered notice implies another root, which is not.
  v1::SignedNotice tampered = envelopes[1];
  tampered.set_notice(tampered.notice() + "!");
  EXPECT_EQ(VerifyEnvelope(verify, "cl.csirt", tampered, &cache).code(), absl::StatusCode::kUnauthenticated);
  // The same root and signature under another origin is not a hit either.
  SigningKey other_signing;
  VerifyKey other_verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("other", &other_signing, &other_verify));
  EXPECT_EQ(VerifyEnvelope(other_verify, "other.csirt", envelopes[0], &cache).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(VerifyEnvelope(verify, "cl.csirt", envelopes[2], &cache).ok());
}

TEST(RootCacheTest, BoundedAndPerOrigin) {
  RootCache cache(2);
  cache.Insert("a", "r1");
  cache.Insert("a", "r2");
  EXPECT_TRUE(cache.Contains("a", "r1"));
  EXPECT_TRUE(cache.Contains("a", "r2"));
  EXPECT_FALSE(cache.Contains("b", "r1"));
  cache.Insert("a", "r2");  // already there: no eviction
  EXPECT_TRUE(cache.Contains("a", "r1"));
  cache.Insert("a", "r3");  // full: cleared, then inserted
  EXPECT_TRUE(cache.Contains("a", "r3"));
  EXPECT_FALSE(cache.Contains("a", "r1"));
}

TEST(RootCacheTest, ConcurrentUse) {
  RootCache cache(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 1000; ++i) {
        const std::string root = absl::StrCat(t, "/", i);
        cache.Insert("o", root);
        (void)cache.Contains("o", root);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  cache.Insert("o", "last");
  EXPECT_TRUE(cache.Contains("o", "last"));
}

TEST_F(SigningTest, KeyFileModes) {
  ASSERT_TRUE(WriteSigningKeyPair(PathOf("cl.key"), PathOf("cl.pub")).ok());
  EXPECT_EQ(Mode(PathOf("cl.key")), 0600u);
  EXPECT_EQ(Mode(PathOf("cl.pub")), 0644u);
  EXPECT_THAT(ReadFile(PathOf("cl.key")), HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(ReadFile(PathOf("cl.pub")), HasSubstr("-----BEGIN PUBLIC KEY-----"));
}

TEST_F(SigningTest, KeyFileModesIgnoreTheUmask) {
  const mode_t old = ::umask(0077);
  const absl::Status status = WriteSigningKeyPair(PathOf("cl.key"), PathOf("cl.pub"));
  ::umask(old);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Mode(PathOf("cl.key")), 0600u);
  EXPECT_EQ(Mode(PathOf("cl.pub")), 0644u);
}

TEST_F(SigningTest, WriteSigningKeyPairRefusesToOverwrite) {
  ASSERT_TRUE(WriteSigningKeyPair(PathOf("cl.key"), PathOf("cl.pub")).ok());
  const std::string key_before = ReadFile(PathOf("cl.key"));
  const std::string pub_before = ReadFile(PathOf("cl.pub"));

  absl::Status status = WriteSigningKeyPair(PathOf("cl.key"), PathOf("new.pub"));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr(PathOf("cl.key") + " exists; refusing to overwrite a key"));
  EXPECT_FALSE(fs::exists(PathOf("new.pub")));

  status = WriteSigningKeyPair(PathOf("new.key"), PathOf("cl.pub"));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr(PathOf("cl.pub")));
  EXPECT_FALSE(fs::exists(PathOf("new.key")));  // no half pair left behind

  EXPECT_EQ(ReadFile(PathOf("cl.key")), key_before);
  EXPECT_EQ(ReadFile(PathOf("cl.pub")), pub_before);
  EXPECT_FALSE(WriteSigningKeyPair(PathOf("same"), PathOf("same")).ok());
}

TEST_F(SigningTest, WriteSigningKeyPairNamesAnUnwritablePath) {
  const std::string missing = PathOf("no-such-dir/cl.key");
  const absl::Status status = WriteSigningKeyPair(missing, PathOf("cl.pub"));
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(missing));
}

TEST_F(SigningTest, LoadRefusesOtherKeyTypesNamingTheFile) {
  ASSERT_NO_FATAL_FAILURE(WriteP256Pair("ec"));
  const absl::StatusOr<SigningKey> signing = SigningKey::Load(PathOf("ec.key"));
  ASSERT_FALSE(signing.ok());
  EXPECT_THAT(signing.status().message(), HasSubstr(PathOf("ec.key")));
  EXPECT_THAT(signing.status().message(), HasSubstr("not Ed25519"));
  const absl::StatusOr<VerifyKey> verify = VerifyKey::Load(PathOf("ec.pub"));
  ASSERT_FALSE(verify.ok());
  EXPECT_THAT(verify.status().message(), HasSubstr(PathOf("ec.pub")));
  EXPECT_THAT(verify.status().message(), HasSubstr("not Ed25519"));
}

TEST_F(SigningTest, LoadRefusesGarbageNamingTheFile) {
  WriteFile(PathOf("garbage.key"), "this is not a key\n-----BEGIN PRIVATE KEY-----\nAAAA\n");
  const absl::StatusOr<SigningKey> signing = SigningKey::Load(PathOf("garbage.key"));
  ASSERT_FALSE(signing.ok());
  EXPECT_EQ(signing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(signing.status().message(), HasSubstr(PathOf("garbage.key")));

  const absl::StatusOr<VerifyKey> verify = VerifyKey::Load(PathOf("garbage.key"));
  ASSERT_FALSE(verify.ok());
  EXPECT_THAT(verify.status().message(), HasSubstr(PathOf("garbage.key")));

  // A public key is not a signing key, nor a private key a verify key.
  ASSERT_TRUE(WriteSigningKeyPair(PathOf("cl.key"), PathOf("cl.pub")).ok());
  EXPECT_THAT(SigningKey::Load(PathOf("cl.pub")).status().message(), HasSubstr(PathOf("cl.pub")));
  EXPECT_THAT(VerifyKey::Load(PathOf("cl.key")).status().message(), HasSubstr(PathOf("cl.key")));

  EXPECT_THAT(SigningKey::FromPem("", "<inline>").status().message(), HasSubstr("<inline>"));
}

TEST_F(SigningTest, LoadRefusesLargeMissingAndNonRegularFiles) {
  ASSERT_TRUE(WriteSigningKeyPair(PathOf("cl.key"), PathOf("cl.pub")).ok());
  WriteFile(PathOf("big.key"), ReadFile(PathOf("cl.key")) + std::string(70 * 1024, '\n'));
  absl::StatusOr<SigningKey> big = SigningKey::Load(PathOf("big.key"));
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr(PathOf("big.key")));
  EXPECT_THAT(big.status().message(), HasSubstr("64 KiB"));

  absl::StatusOr<VerifyKey> missing = VerifyKey::Load(PathOf("missing.pub"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(PathOf("missing.pub")));

  absl::StatusOr<SigningKey> dir = SigningKey::Load(dir_.string());
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(), HasSubstr(dir_.string()));
}

TEST_F(SigningTest, PublicKeyPemRoundTrips) {
  SigningKey signing;
  VerifyKey verify;
  ASSERT_NO_FATAL_FAILURE(NewPair("cl", &signing, &verify));
  const std::string pem = signing.PublicKeyPem();
  EXPECT_EQ(pem, ReadFile(PathOf("cl.pub")));
  absl::StatusOr<VerifyKey> from_pem = VerifyKey::FromPem(pem, "PublicKeyPem()");
  ASSERT_TRUE(from_pem.ok()) << from_pem.status();
  const std::string signature = signing.Sign("message");
  ASSERT_EQ(signature.size(), 64u);
  EXPECT_EQ(signature, signing.Sign("message"));  // Ed25519 is deterministic
  EXPECT_TRUE(from_pem->Verify("message", signature));
  EXPECT_FALSE(from_pem->Verify("messagE", signature));
  EXPECT_FALSE(from_pem->Verify("message", signature.substr(1)));

  const std::vector<v1::SignedNotice> envelopes = SignBatch(signing, Notices(3));
  EXPECT_TRUE(VerifyEnvelope(*from_pem, "cl.csirt", envelopes[2], nullptr).ok());
}

TEST(KeyDefaultsTest, DefaultConstructedKeysNeitherSignNorVerify) {
  SigningKey signing;
  EXPECT_EQ(signing.Sign("x"), "");
  EXPECT_EQ(signing.PublicKeyPem(), "");
  VerifyKey verify;
  EXPECT_FALSE(verify.Verify("x", std::string(64, '\0')));
}

}  // namespace
}  // namespace sevex::node
