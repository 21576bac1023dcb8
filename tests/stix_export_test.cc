// The STIX 2.1 and JSON-lines exports of a node's inbox (node/stix_export.h): derived ids,
// TLP 2.0 markings, the extensions, no `severity` property, and JSON escaping.
#include "node/stix_export.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace sevex::node {
namespace {

using ::testing::HasSubstr;

v1::InboxEntry Entry(const std::string& origin, const std::string& id, uint32_t revision,
                     v1::Marking::Tlp tlp, int64_t created_s = 1763800000) {
  v1::InboxEntry e;
  v1::Notice* n = e.mutable_notice();
  n->set_origin(origin);
  n->set_id(id);
  n->set_revision(revision);
  n->set_title(absl::StrCat("Outage ", revision));
  n->set_summary("Resolvers down for 40 minutes.");
  n->mutable_classification()->set_rsit_class("availability");
  n->mutable_classification()->set_rsit_type("outage");
  n->mutable_created_at()->set_seconds(created_s + revision * 60);
  n->mutable_marking()->set_tlp(tlp);
  if (tlp >= v1::Marking::AMBER) n->mutable_marking()->add_recipients("uk.ncsc");
  (*n->mutable_attributes())["impact_kind"].set_string_value("sustained_disruption");
  v1::Assessment* a = n->mutable_origin_assessment();
  a->set_scheme("au-asd");
  a->set_level("C2");
  a->set_exact(true);
  a->mutable_shared()->set_band("S4");
  a->mutable_shared()->set_low(70);
  a->mutable_shared()->set_high(89);
  v1::Translation* t = e.mutable_translation();
  t->set_scheme("uk-ncsc");
  t->set_level("CAT2");
  t->set_method(v1::Translation::reassessed);
  e.set_received_from(origin);
  e.set_received_at_ms((created_s + revision * 60 + 1) * 1000);
  return e;
}

const ExportSource kUk{"uk.ncsc", "uk-ncsc"};

// Parses `text` as JSON: a failure fails the test.
google::protobuf::Value Parse(const std::string& text) {
  google::protobuf::Value v;
  auto s = google::protobuf::util::JsonStringToMessage(text, &v);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << text;
  return v;
}

void Keys(const google::protobuf::Value& v, std::set<std::string>* keys) {
  if (v.has_struct_value()) {
    for (const auto& [k, x] : v.struct_value().fields()) {
      keys->insert(k);
      Keys(x, keys);
    }
  } else if (v.has_list_value()) {
    for (const auto& x : v.list_value().values()) Keys(x, keys);
  }
}

const google::protobuf::Struct* Object(const google::protobuf::Value& bundle, const std::string& type,
                                       int nth = 0) {
  for (const auto& o : bundle.struct_value().fields().at("objects").list_value().values()) {
    if (o.struct_value().fields().at("type").string_value() == type && nth-- == 0) return &o.struct_value();
  }
  return nullptr;
}

TEST(UuidV5, MatchesTheRfc4122Construction) {
  // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
  auto u = UuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(*u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_FALSE(UuidV5("not-a-uuid", "x").ok());
  EXPECT_FALSE(UuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c", "x").ok());
}

TEST(StixBundle, IdsAreStableAcrossExportsAndRevisions) {
  const std::vector<v1::InboxEntry> one = {Entry("au.asd", "n-1", 1, v1::Marking::GREEN)};
  const std::vector<v1::InboxEntry> two = {Entry("au.asd", "n-1", 1, v1::Marking::GREEN),
                                           Entry("au.asd", "n-1", 2, v1::Marking::GREEN)};
  auto a = StixBundle(one, kUk);
  auto b = StixBundle(one, kUk);
  auto c = StixBundle(two, kUk);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->Write(), b->Write());
  const auto va = Parse(a->Write()), vc = Parse(c->Write());
  const auto* ia = Object(va, "incident");
  const auto* ic = Object(vc, "incident");
  ASSERT_NE(ia, nullptr);
  ASSERT_NE(ic, nullptr);
  EXPECT_EQ(Object(vc, "incident", 1), nullptr) << "two revisions are one incident";
  // A revision is a new version of the same object: same id, later modified, same created.
  EXPECT_EQ(ia->fields().at("id").string_value(), ic->fields().at("id").string_value());
  EXPECT_EQ(ia->fields().at("created").string_value(), ic->fields().at("created").string_value());
  EXPECT_LT(ia->fields().at("modified").string_value(), ic->fields().at("modified").string_value());
  EXPECT_EQ(ic->fields().at("name").string_value(), "Outage 2");
  // Another notice, another id.
  auto d = StixBundle({Entry("au.asd", "n-2", 1, v1::Marking::GREEN)}, kUk);
  ASSERT_TRUE(d.ok());
  const auto vd = Parse(d->Write());
  EXPECT_NE(Object(vd, "incident")->fields().at("id").string_value(), ia->fields().at("id").string_value());
  EXPECT_THAT(ia->fields().at("id").string_value(),
              ::testing::MatchesRegex(
                  "incident--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
}

TEST(StixBundle, MarksEachIncidentWithItsOfficialTlp2Marking) {
  const std::pair<v1::Marking::Tlp, std::string> cases[] = {
      {v1::Marking::CLEAR, "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"},
      {v1::Marking::GREEN, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"},
      {v1::Marking::AMBER, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"},
      {v1::Marking::AMBER_STRICT, "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"},
      {v1::Marking::RED, "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}};
  const char* names[] = {"clear", "green", "amber", "amber+strict", "red"};
  int i = 0;
  for (const auto& [tlp, id] : cases) {
    EXPECT_EQ(TlpMarkingId(tlp), id);
    auto b = StixBundle({Entry("au.asd", "n-1", 1, tlp)}, kUk);
    ASSERT_TRUE(b.ok());
    const auto v = Parse(b->Write());
    const auto* incident = Object(v, "incident");
    ASSERT_NE(incident, nullptr);
    ASSERT_EQ(incident->fields().at("object_marking_refs").list_value().values_size(), 1);
    EXPECT_EQ(incident->fields().at("object_marking_refs").list_value().values(0).string_value(), id);
    const auto* marking = Object(v, "marking-definition");
    ASSERT_NE(marking, nullptr);
    EXPECT_EQ(marking->fields().at("id").string_value(), id);
    EXPECT_EQ(marking->fields().at("created").string_value(), "2022-10-01T00:00:00.000Z");
    const auto& ext =
        marking->fields().at("extensions").struct_value().fields().at(kTlp2Extension).struct_value();
    EXPECT_EQ(ext.fields().at("tlp_2_0").string_value(), names[i++]);
    EXPECT_EQ(Object(v, "marking-definition", 1), nullptr) << "only the markings in use";
  }
  EXPECT_EQ(TlpMarkingId(v1::Marking::TLP_UNSPECIFIED), "");
}

TEST(StixBundle, CarriesBothAssessmentsInExtensionsAndNeverASeverityProperty) {
  auto b = StixBundle({Entry("au.asd", "n-1", 1, v1::Marking::AMBER)}, kUk);
  ASSERT_TRUE(b.ok());
  const auto v = Parse(b->Write());
  std::set<std::string> keys;
  Keys(v, &keys);
  EXPECT_FALSE(keys.contains("severity"));
  const auto* incident = Object(v, "incident");
  ASSERT_NE(incident, nullptr);
  const auto& exts = incident->fields().at("extensions").struct_value().fields();
  const auto& core = exts.at(kIncidentCoreExtension).struct_value().fields();
  EXPECT_EQ(core.at("extension_type").string_value(), "property-extension");
  EXPECT_EQ(core.at("criticality").number_value(), 70) << "the low end of C2's interval on the shared axis";
  EXPECT_EQ(core.at("determination").string_value(), "successful-attempt");
  EXPECT_EQ(core.at("investigation_status").string_value(), "open");
  const auto& sevex = exts.at(kSevexAssessmentExtension).struct_value().fields();
  EXPECT_EQ(sevex.at("origin_assessment").struct_value().fields().at("level").string_value(), "C2");
  EXPECT_EQ(sevex.at("translation").struct_value().fields().at("level").string_value(), "CAT2");
  EXPECT_EQ(sevex.at("translation").struct_value().fields().at("method").string_value(), "reassessed");
  EXPECT_EQ(sevex.at("tlp").string_value(), "AMBER");
  EXPECT_EQ(sevex.at("recipients").list_value().values(0).string_value(), "uk.ncsc");
  // The extension is defined in the bundle, and identities for the origin and the exporter.
  ASSERT_NE(Object(v, "extension-definition"), nullptr);
  EXPECT_EQ(Object(v, "extension-definition")->fields().at("id").string_value(), kSevexAssessmentExtension);
  std::set<std::string> identities;
  for (int i = 0; const auto* id = Object(v, "identity", i); ++i)
    identities.insert(id->fields().at("name").string_value());
  EXPECT_EQ(identities, (std::set<std::string>{"sevex", "uk.ncsc", "au.asd"}));
}

TEST(StixBundle, PointScoresAndUnsuccessfulAttemptsMapToCriticalityAndDetermination) {
  v1::InboxEntry e = Entry("us.cisa", "n-1", 1, v1::Marking::GREEN);
  e.mutable_notice()->mutable_origin_assessment()->mutable_shared()->set_point(42.6);
  (*e.mutable_notice()->mutable_attributes())["impact_kind"].set_string_value("unsuccessful_attempt");
  auto b = StixBundle({e}, kUk);
  ASSERT_TRUE(b.ok());
  const auto parsed = Parse(b->Write());
  const auto& core = Object(parsed, "incident")
                         ->fields()
                         .at("extensions")
                         .struct_value()
                         .fields()
                         .at(kIncidentCoreExtension)
                         .struct_value()
                         .fields();
  EXPECT_EQ(core.at("criticality").number_value(), 43);
  EXPECT_EQ(core.at("determination").string_value(), "failed-attempt");
  e.mutable_notice()->mutable_attributes()->erase("impact_kind");
  b = StixBundle({e}, kUk);
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(b->Write(), HasSubstr("\"determination\":\"suspected\""));
}

TEST(StixBundle, ARetractionRevokesTheIncidentAndKeepsTheLastContent) {
  v1::InboxEntry retraction;
  retraction.mutable_notice()->set_origin("au.asd");
  retraction.mutable_notice()->set_id("n-1");
  retraction.mutable_notice()->set_revision(2);
  retraction.mutable_notice()->set_retracted(true);
  retraction.mutable_notice()->mutable_marking()->set_tlp(v1::Marking::GREEN);
  retraction.mutable_notice()->mutable_created_at()->set_seconds(1763900000);
  retraction.set_received_from("eu.hub");
  auto b = StixBundle({retraction, Entry("au.asd", "n-1", 1, v1::Marking::GREEN)}, kUk);
  ASSERT_TRUE(b.ok());
  const auto parsed = Parse(b->Write());
  const auto* incident = Object(parsed, "incident");
  ASSERT_NE(incident, nullptr);
  EXPECT_TRUE(incident->fields().at("revoked").bool_value());
  EXPECT_EQ(incident->fields().at("name").string_value(), "Outage 1");
  const auto& exts = incident->fields().at("extensions").struct_value().fields();
  EXPECT_EQ(exts.at(kIncidentCoreExtension).struct_value().fields().at("investigation_status").string_value(),
            "closed");
  const auto& sevex = exts.at(kSevexAssessmentExtension).struct_value().fields();
  EXPECT_EQ(sevex.at("revision").number_value(), 2);
  EXPECT_TRUE(sevex.at("retracted").bool_value());
  EXPECT_EQ(sevex.at("assessed_revision").number_value(), 1);
}

TEST(StixBundle, EscapesTextAndReplacesInvalidUtf8) {
  v1::InboxEntry e = Entry("cl.csirt", "n-1", 1, v1::Marking::CLEAR);
  const std::string title = "Región \"Norte\" \\ línea\nnueva\ttab \x01 end";
  e.mutable_notice()->set_title(title);
  e.mutable_notice()->set_summary(std::string("bad byte \xff here"));
  auto b = StixBundle({e}, kUk);
  ASSERT_TRUE(b.ok());
  const std::string text = b->Write(2);
  EXPECT_THAT(text, HasSubstr("\\u0001"));
  const auto parsed = Parse(text);
  const auto* incident = Object(parsed, "incident");
  ASSERT_NE(incident, nullptr);
  EXPECT_EQ(incident->fields().at("name").string_value(), title);
  EXPECT_EQ(incident->fields().at("description").string_value(), "bad byte \xEF\xBF\xBD here");
  EXPECT_EQ(JsonQuote("\xE2\x82"), "\"\\ufffd\\ufffd\"") << "a truncated sequence";
  EXPECT_EQ(JsonQuote("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"") << "a surrogate";
  EXPECT_EQ(JsonQuote("\xC0\xAF"), "\"\\ufffd\\ufffd\"") << "an overlong form";
}

TEST(StixBundle, RefusesEntriesWithoutMarkingOrIdentity) {
  v1::InboxEntry e = Entry("au.asd", "n-9", 3, v1::Marking::GREEN);
  e.mutable_notice()->mutable_marking()->set_tlp(v1::Marking::TLP_UNSPECIFIED);
  auto b = StixBundle({e}, kUk);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(std::string(b.status().message()), HasSubstr("au.asd/n-9 rev 3"));
  e = Entry("", "n-9", 1, v1::Marking::GREEN);
  EXPECT_FALSE(StixBundle({e}, kUk).ok());
  EXPECT_FALSE(JsonLines({e}, kUk).ok());
}

TEST(JsonLines, OneFlatObjectPerNoticeAtItsLatestRevision) {
  auto lines =
      JsonLines({Entry("au.asd", "n-1", 1, v1::Marking::GREEN), Entry("uk.x", "n-2", 1, v1::Marking::RED),
                 Entry("au.asd", "n-1", 2, v1::Marking::GREEN)},
                kUk);
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 2u);
  const auto first = Parse((*lines)[0].Write());
  const auto& f = first.struct_value().fields();
  EXPECT_EQ((*lines)[0].Write().find('\n'), std::string::npos);
  EXPECT_EQ(f.at("origin").string_value(), "au.asd");
  EXPECT_EQ(f.at("revision").number_value(), 2);
  EXPECT_EQ(f.at("origin_level").string_value(), "C2");
  EXPECT_EQ(f.at("level").string_value(), "CAT2");
  EXPECT_EQ(f.at("criticality").number_value(), 70);
  EXPECT_EQ(f.at("tlp").string_value(), "GREEN");
  EXPECT_THAT(f.at("stix_id").string_value(), ::testing::StartsWith("incident--"));
  EXPECT_EQ(Parse((*lines)[1].Write()).struct_value().fields().at("tlp").string_value(), "RED");
}

}  // namespace
}  // namespace sevex::node
