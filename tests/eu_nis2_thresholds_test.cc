// eu-nis2 against Commission Implementing Regulation (EU) 2024/2690, Art. 3-14: every threshold
// at, just below and just above its boundary, including the "whichever is lower" (Art. 3(1)(a))
// and "whichever is smaller" (X users, Art. 7-13; Art. 14) forms. Each case starts from a quiet
// notice that carries every attribute the policy reads, so every verdict must also be exact.
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/assess.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex {
namespace {

using testing::Attributes;
using testing::Shipped;

struct Case {
  const char* name;      // names the article
  const char* entity;    // entity_type
  std::map<std::string, std::string> set;  // attribute -> JSON value, over the quiet notice
  const char* expected;  // "significant" or "not_significant"
};

std::string Json(const Case& c) {
  std::map<std::string, std::string> a = {
      {"scheduled_maintenance", "false"}, {"direct_loss_eur", "0"}, {"annual_turnover_eur", "100000000"},
      {"trade_secrets_exfiltrated", "false"}, {"deaths", "0"}, {"considerable_health_damage", "false"},
      {"malicious_unauthorised_access", "false"}, {"recurring_incidents_6_months", "1"}, {"recurring_loss_eur", "0"},
      {"unavailable_minutes", "0"}, {"unavailable_minutes_week", "0"}, {"degraded_minutes", "0"},
      {"avg_response_seconds", "0"}, {"users_affected", "0"}, {"union_users_total", "10000000"},
      {"dns_names_incorrect", "0"}, {"dns_names_total", "1000000"},
      {"it_asset_integrity_or_confidentiality_affected", "false"}, {"suspected_malicious", "false"},
      {"misconfiguration", "false"}, {"physical_access_compromised", "false"}};
  a["entity_type"] = absl::StrCat("\"", c.entity, "\"");
  for (const auto& [k, v] : c.set) a[k] = v;
  return absl::StrCat("{", absl::StrJoin(a, ", ", [](std::string* out, const auto& kv) {
                        absl::StrAppend(out, "\"", kv.first, "\": ", kv.second);
                      }), "}");
}

class CirThresholdTest : public ::testing::TestWithParam<Case> {};

TEST_P(CirThresholdTest, Decides) {
  const Case& c = GetParam();
  auto attrs = Attributes(Json(c));
  ASSERT_TRUE(attrs.ok()) << attrs.status();
  const auto* eu = Shipped().Find("eu-nis2");
  const engine::Verdict v = eu->Assess(*attrs);
  EXPECT_EQ(eu->level(v.level).id(), c.expected) << Json(c);
  EXPECT_TRUE(v.exact()) << "a fully described notice must be decided exactly: " << Json(c);
}


INSTANTIATE_TEST_SUITE_P(
    Art3to14, CirThresholdTest,
    ::testing::Values(
        Case{"quiet_notice", "cloud", {}, "not_significant"},
        // Art. 3(1)(a): loss above EUR 500 000 or 5 % of turnover, whichever is lower.
        Case{"art3_1a_5pct_limb_at", "other", {{"annual_turnover_eur", "4000000"}, {"direct_loss_eur", "200000"}}, "not_significant"},
        Case{"art3_1a_5pct_limb_below", "other", {{"annual_turnover_eur", "4000000"}, {"direct_loss_eur", "199999"}}, "not_significant"},
        Case{"art3_1a_5pct_limb_above", "other", {{"annual_turnover_eur", "4000000"}, {"direct_loss_eur", "200001"}}, "significant"},
        Case{"art3_1a_500k_limb_at", "other", {{"annual_turnover_eur", "20000000"}, {"direct_loss_eur", "500000"}}, "not_significant"},
        Case{"art3_1a_500k_limb_above", "other", {{"annual_turnover_eur", "20000000"}, {"direct_loss_eur", "500001"}}, "significant"},
        Case{"art3_1a_500k_limb_below_5pct", "other", {{"annual_turnover_eur", "20000000"}, {"direct_loss_eur", "999999"}}, "significant"},
        // Art. 3(1)(b)-(e).
        Case{"art3_1b_trade_secrets", "other", {{"trade_secrets_exfiltrated", "true"}}, "significant"},
        Case{"art3_1c_one_death", "other", {{"deaths", "1"}}, "significant"},
        Case{"art3_1d_health", "other", {{"considerable_health_damage", "true"}}, "significant"},
        Case{"art3_1e_malicious_access", "other", {{"malicious_unauthorised_access", "true"}}, "significant"},
        // Art. 3(1)(f) and Art. 4: two or more in six months, same root cause, together meeting (a).
        Case{"art4_two_incidents_above", "other", {{"recurring_incidents_6_months", "2"}, {"recurring_loss_eur", "500001"}}, "significant"},
        Case{"art4_two_incidents_at", "other", {{"recurring_incidents_6_months", "2"}, {"recurring_loss_eur", "500000"}}, "not_significant"},
        Case{"art4_one_incident", "other", {{"recurring_incidents_6_months", "1"}, {"recurring_loss_eur", "900000"}}, "not_significant"},
        Case{"art4_5pct_limb", "other", {{"annual_turnover_eur", "4000000"}, {"recurring_incidents_6_months", "3"}, {"recurring_loss_eur", "200001"}}, "significant"},
        // Art. 3(2): scheduled maintenance is not an incident.
        Case{"art3_2_maintenance", "dns", {{"scheduled_maintenance", "true"}, {"unavailable_minutes", "600"}}, "not_significant"},
        // Art. 5: DNS service providers.
        Case{"art5a_30min", "dns", {{"unavailable_minutes", "30"}}, "not_significant"},
        Case{"art5a_31min", "dns", {{"unavailable_minutes", "31"}}, "significant"},
        Case{"art5b_slow_at_10s", "dns", {{"avg_response_seconds", "10"}, {"degraded_minutes", "120"}}, "not_significant"},
        Case{"art5b_slow_for_60min", "dns", {{"avg_response_seconds", "12"}, {"degraded_minutes", "60"}}, "not_significant"},
        Case{"art5b_slow_above_both", "dns", {{"avg_response_seconds", "10.5"}, {"degraded_minutes", "61"}}, "significant"},
        Case{"art5c_compromised", "dns", {{"it_asset_integrity_or_confidentiality_affected", "true"}}, "significant"},
        Case{"art5c_misconfig_999_names_le_1pct", "dns", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"misconfiguration", "true"}, {"dns_names_incorrect", "999"}}, "not_significant"},
        Case{"art5c_misconfig_1000_names", "dns", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"misconfiguration", "true"}, {"dns_names_incorrect", "1000"}}, "significant"},
        Case{"art5c_misconfig_over_1pct", "dns", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"misconfiguration", "true"}, {"dns_names_incorrect", "501"}, {"dns_names_total", "50000"}}, "significant"},
        Case{"art5c_misconfig_exactly_1pct", "dns", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"misconfiguration", "true"}, {"dns_names_incorrect", "500"}, {"dns_names_total", "50000"}}, "not_significant"},
        // Art. 6: TLD name registries.
        Case{"art6a_any_unavailability", "tld", {{"unavailable_minutes", "1"}}, "significant"},
        Case{"art6b_slow", "tld", {{"avg_response_seconds", "11"}, {"degraded_minutes", "61"}}, "significant"},
        Case{"art6c_compromised", "tld", {{"it_asset_integrity_or_confidentiality_affected", "true"}}, "significant"},
        // Art. 7: cloud. X = min(5 % of Union users, 1 000 000).
        Case{"art7a_30min", "cloud", {{"unavailable_minutes", "30"}}, "not_significant"},
        Case{"art7a_31min", "cloud", {{"unavailable_minutes", "31"}}, "significant"},
        Case{"art7b_x_is_5pct_at", "cloud", {{"degraded_minutes", "61"}, {"users_affected", "500000"}}, "not_significant"},
        Case{"art7b_x_is_5pct_above", "cloud", {{"degraded_minutes", "61"}, {"users_affected", "500001"}}, "significant"},
        Case{"art7b_x_is_1m_at", "cloud", {{"degraded_minutes", "61"}, {"union_users_total", "40000000"}, {"users_affected", "1000000"}}, "not_significant"},
        Case{"art7b_x_is_1m_above", "cloud", {{"degraded_minutes", "61"}, {"union_users_total", "40000000"}, {"users_affected", "1000001"}}, "significant"},
        Case{"art7b_only_60min", "cloud", {{"degraded_minutes", "60"}, {"users_affected", "2000000"}}, "not_significant"},
        Case{"art7c_malicious", "cloud", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"suspected_malicious", "true"}}, "significant"},
        Case{"art7d_users_at_x", "cloud", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"users_affected", "500000"}}, "not_significant"},
        Case{"art7d_users_above_x", "cloud", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"users_affected", "500001"}}, "significant"},
        // Art. 8: data centres.
        Case{"art8a_any_unavailability", "data_centre", {{"unavailable_minutes", "1"}}, "significant"},
        Case{"art8b_limited_60min", "data_centre", {{"degraded_minutes", "60"}}, "not_significant"},
        Case{"art8b_limited_61min", "data_centre", {{"degraded_minutes", "61"}}, "significant"},
        Case{"art8c_malicious", "data_centre", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"suspected_malicious", "true"}}, "significant"},
        Case{"art8c_not_malicious", "data_centre", {{"it_asset_integrity_or_confidentiality_affected", "true"}}, "not_significant"},
        Case{"art8d_physical", "data_centre", {{"physical_access_compromised", "true"}}, "significant"},
        // Art. 9 and 10: CDN, managed (security) service providers.
        Case{"art9a_cdn_31min", "cdn", {{"unavailable_minutes", "31"}}, "significant"},
        Case{"art9b_cdn_users", "cdn", {{"degraded_minutes", "61"}, {"users_affected", "500001"}}, "significant"},
        Case{"art10a_msp_30min", "msp", {{"unavailable_minutes", "30"}}, "not_significant"},
        Case{"art10c_msp_malicious", "msp", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"suspected_malicious", "true"}}, "significant"},
        // Art. 11-13: marketplaces, search engines, social networks.
        Case{"art11a_unavailable_x_at", "marketplace", {{"unavailable_minutes", "5"}, {"users_affected", "500000"}}, "not_significant"},
        Case{"art11a_unavailable_x_above", "marketplace", {{"unavailable_minutes", "5"}, {"users_affected", "500001"}}, "significant"},
        Case{"art12b_limited_x_above", "search_engine", {{"degraded_minutes", "1"}, {"users_affected", "500001"}}, "significant"},
        Case{"art13c_malicious", "social_network", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"suspected_malicious", "true"}}, "significant"},
        Case{"art13d_users_above_x", "social_network", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"union_users_total", "40000000"}, {"users_affected", "1000001"}}, "significant"},
        // Art. 14: trust service providers.
        Case{"art14a_20min", "trust_service", {{"unavailable_minutes", "20"}}, "not_significant"},
        Case{"art14a_21min", "trust_service", {{"unavailable_minutes", "21"}}, "significant"},
        Case{"art14b_week_60min", "trust_service", {{"unavailable_minutes_week", "60"}}, "not_significant"},
        Case{"art14b_week_61min", "trust_service", {{"unavailable_minutes_week", "61"}}, "significant"},
        Case{"art14c_1pct_is_smaller_at", "trust_service", {{"degraded_minutes", "5"}, {"users_affected", "100000"}}, "not_significant"},
        Case{"art14c_1pct_is_smaller_above", "trust_service", {{"degraded_minutes", "5"}, {"users_affected", "100001"}}, "significant"},
        Case{"art14c_200k_is_smaller_at", "trust_service", {{"degraded_minutes", "5"}, {"union_users_total", "100000000"}, {"users_affected", "200000"}}, "not_significant"},
        Case{"art14c_200k_is_smaller_above", "trust_service", {{"degraded_minutes", "5"}, {"union_users_total", "100000000"}, {"users_affected", "200001"}}, "significant"},
        Case{"art14d_physical", "trust_service", {{"physical_access_compromised", "true"}}, "significant"},
        Case{"art14e_100_is_smaller_at", "trust_service", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"users_affected", "100"}}, "not_significant"},
        Case{"art14e_100_is_smaller_above", "trust_service", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"users_affected", "101"}}, "significant"},
        Case{"art14e_0_1pct_is_smaller_at", "trust_service", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"union_users_total", "50000"}, {"users_affected", "50"}}, "not_significant"},
        Case{"art14e_0_1pct_is_smaller_above", "trust_service", {{"it_asset_integrity_or_confidentiality_affected", "true"}, {"union_users_total", "50000"}, {"users_affected", "51"}}, "significant"},
        // Entity thresholds apply to their entities only.
        Case{"other_entity_long_outage", "other", {{"unavailable_minutes", "600"}}, "not_significant"}),
    [](const auto& info) { return std::string(info.param.name); });

// "Whichever is lower" still decides when the turnover is unknown and the EUR 500 000 limb is met.
TEST(CirAbsentAttributesTest, LossAbove500kIsSignificantWithoutTurnover) {
  auto attrs = Attributes(R"({"direct_loss_eur": 500001})");
  ASSERT_TRUE(attrs.ok());
  const auto* eu = Shipped().Find("eu-nis2");
  const auto v = eu->Assess(*attrs);
  EXPECT_EQ(eu->level(v.level).id(), "significant");
  EXPECT_TRUE(v.exact());
}

TEST(CirAbsentAttributesTest, LowerLossWithoutTurnoverIsUndecided) {
  auto attrs = Attributes(R"({"direct_loss_eur": 400000})");
  ASSERT_TRUE(attrs.ok());
  const auto* eu = Shipped().Find("eu-nis2");
  const auto a = engine::AssessNotice(Shipped(), *eu, *attrs, nullptr);
  EXPECT_EQ(a.level(), "not_significant");
  EXPECT_FALSE(a.exact());
  EXPECT_EQ(a.possible_levels_size(), 2);
  EXPECT_NE(std::find(a.missing_attributes().begin(), a.missing_attributes().end(), "annual_turnover_eur"),
            a.missing_attributes().end());
  // The rule that needed the turnover did not fire, and the explanation says so.
  bool saw_unknown_loss_rule = false;
  for (const auto& s : a.explanation()) {
    if (s.step() == "rule art3_1a_financial_loss") {
      EXPECT_EQ(s.outcome(), v1::ExplanationStep::UNKNOWN);
      saw_unknown_loss_rule = true;
    }
  }
  EXPECT_TRUE(saw_unknown_loss_rule);
}

// NIS2 Art. 23(4): early warning 24 h, notification 72 h, final report one month after the
// notification (calendar month, Regulation 1182/71: 31 January + 1 month = 28 February).
TEST(CirClocksTest, DeadlinesIncludingTheCalendarMonth) {
  const v1::Notice n = testing::NoticeFromJson(
      R"({"detected_at": "2027-01-28T10:00:00Z", "attributes": {"entity_type": "dns", "unavailable_minutes": 45}})");
  auto attrs = engine::BindAttributes(Shipped().registry(), n.attributes());
  ASSERT_TRUE(attrs.ok());
  const auto a = engine::AssessNotice(Shipped(), *Shipped().Find("eu-nis2"), *attrs, &n);
  ASSERT_EQ(a.level(), "significant");
  ASSERT_EQ(a.reporting_size(), 3);
  EXPECT_EQ(a.reporting(0).report(), "early warning");
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(a.reporting(0).deadline()), "2027-01-29T10:00:00Z");
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(a.reporting(1).deadline()), "2027-01-31T10:00:00Z");
  EXPECT_EQ(a.reporting(2).relative_to(), "incident notification");
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(a.reporting(2).deadline()), "2027-02-28T10:00:00Z");
}

// Regression (found with notice_reader_fuzzer): a deadline after 9999-12-31 cannot be held in a
// Timestamp, and protobuf's Timestamp arithmetic aborted the process (any `sevex classify` or a
// node's submission with such a detected_at). Such a deadline is left out; the report is still
// owed, and earlier deadlines that fit are kept.
TEST(CirClocksTest, DeadlinePastYear9999IsLeftOutNotACrash) {
  const v1::Notice n = testing::NoticeFromJson(
      R"({"detected_at": "9999-12-30T10:00:00Z", "attributes": {"entity_type": "dns", "unavailable_minutes": 45}})");
  auto attrs = engine::BindAttributes(Shipped().registry(), n.attributes());
  ASSERT_TRUE(attrs.ok());
  const auto a = engine::AssessNotice(Shipped(), *Shipped().Find("eu-nis2"), *attrs, &n);
  ASSERT_EQ(a.reporting_size(), 3);
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(a.reporting(0).deadline()), "9999-12-31T10:00:00Z");
  EXPECT_FALSE(a.reporting(1).has_deadline());  // 72 h: 10000-01-02
  EXPECT_FALSE(a.reporting(2).has_deadline());  // one month after that

  // The fuzzer's input, under every shipped scheme.
  const v1::Notice fuzzed = testing::NoticeFromJson(
      R"({"detected_at": "9999-12-31T23:59:59Z", "attributes": {"victim_tier": "national", "impact_kind": "extensive_compromise"}})");
  auto fuzzed_attrs = engine::BindAttributes(Shipped().registry(), fuzzed.attributes());
  ASSERT_TRUE(fuzzed_attrs.ok());
  for (const auto& policy : Shipped().policies()) {
    const auto b = engine::AssessNotice(Shipped(), *policy, *fuzzed_attrs, &fuzzed);
    for (const auto& r : b.reporting()) EXPECT_FALSE(r.has_deadline()) << policy->id() << ": " << r.report();
  }
}

}  // namespace
}  // namespace sevex
