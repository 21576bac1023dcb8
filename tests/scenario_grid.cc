#include "scenario_grid.h"

#include "absl/strings/str_cat.h"

namespace sevex::testing {
namespace {

const char* const kImpact[] = {"unsuccessful_attempt", "low_level_attack", "coordinated_low_level_attack",
                               "isolated_compromise", "extensive_compromise", "sustained_disruption"};
const char* const kVictim[] = {"individual", "small", "medium", "large", "national", "strategic"};
const char* const kHarm[] = {"none", "health", "death", "deaths"};

// NCISS options by impact_kind index (see docs/translation-error-bar.md).
const char* const kFunctional[] = {"no_impact", "no_impact_to_services", "minimal_impact_non_critical",
                                   "significant_impact_non_critical", "significant_impact_critical",
                                   "denial_critical_or_loss_of_control"};
const char* const kInformation[] = {"no_impact", "suspected_not_identified", "suspected_not_identified",
                                    "proprietary_information_breach", "critical_systems_data_breach",
                                    "destruction_critical_system"};
const char* const kRecoverability[] = {"regular", "regular", "regular", "supplemented", "extended", "extended"};
const char* const kObserved[] = {"prepare", "engage", "engage", "presence", "presence", "effect"};

void Set(v1::Notice& n, const std::string& name, double v) { (*n.mutable_attributes())[name].set_number_value(v); }
void Set(v1::Notice& n, const std::string& name, bool v) { (*n.mutable_attributes())[name].set_bool_value(v); }
void Set(v1::Notice& n, const std::string& name, const char* v) { (*n.mutable_attributes())[name].set_string_value(v); }

}  // namespace

std::vector<Scenario> ScenarioGrid() {
  std::vector<Scenario> out;
  // Money scales: loss grows with impact and victim size; turnover with victim size.
  constexpr double kLossBase[] = {0, 1e3, 5e3, 5e4, 2e5, 1e6};
  constexpr double kLossScale[] = {0.01, 0.1, 0.5, 1, 3, 5};
  constexpr double kTurnover[] = {5e4, 2e6, 2e7, 5e8, 5e9, 5e10};
  constexpr double kPeople[] = {10, 1e3, 1e4, 1e5, 2e6, 2e7};
  for (int i = 0; i < 6; ++i) {
    for (int v = 0; v < 6; ++v) {
      for (int h = 0; h < 4; ++h) {
        for (int e = 0; e < 2; ++e) {
          const bool compromise = i >= 3;
          // Attempts and attacks that compromise nothing interrupt no service and harm no one.
          if ((e == 1 || h > 0) && !compromise) continue;
          Scenario s;
          s.name = absl::StrCat(kImpact[i], "/", kVictim[v], "/", kHarm[h], e ? "/essential" : "");
          v1::Notice& n = s.notice;
          n.set_id(absl::StrCat("grid-", out.size()));
          n.set_title(s.name);
          Set(n, "impact_kind", kImpact[i]);
          Set(n, "victim_tier", kVictim[v]);
          Set(n, "deaths", h == 2 ? 1.0 : h == 3 ? 5.0 : 0.0);
          Set(n, "considerable_health_damage", h >= 1);
          Set(n, "essential_service_interrupted", e == 1);
          // Money and people.
          const double loss = kLossBase[i] * kLossScale[v];
          Set(n, "direct_loss_eur", loss);
          Set(n, "annual_turnover_eur", kTurnover[v]);
          Set(n, "recurring_incidents_6_months", 1.0);
          Set(n, "recurring_loss_eur", loss);
          Set(n, "personal_records_affected", i >= 4 ? kPeople[v] : i == 3 ? kPeople[v] / 10 : 0.0);
          Set(n, "states_affected", (v == 5 && i >= 4) ? 2.0 : 1.0);
          // What happened to systems.
          Set(n, "entity_type", "other");
          Set(n, "scheduled_maintenance", false);
          Set(n, "trade_secrets_exfiltrated", i >= 4 && v >= 3);
          Set(n, "malicious_unauthorised_access", compromise);
          Set(n, "unauthorised_access", compromise);
          Set(n, "suspected_malicious", i >= 1);
          Set(n, "it_asset_integrity_or_confidentiality_affected", compromise);
          Set(n, "personal_data_systems_affected", compromise && v >= 2);
          Set(n, "unavailable_minutes", i == 5 ? 600.0 : 0.0);
          Set(n, "degraded_minutes", i >= 4 ? 120.0 : 0.0);
          // Who must report.
          Set(n, "vital_operator", v >= 4);
          Set(n, "critical_infrastructure_operator", v >= 4);
          Set(n, "central_government_body", false);
          // NCISS categories.
          Set(n, "functional_impact", kFunctional[i]);
          Set(n, "information_impact", kInformation[i]);
          Set(n, "recoverability", kRecoverability[i]);
          Set(n, "observed_activity", kObserved[i]);
          Set(n, "activity_location", i == 0   ? "unsuccessful"
                                      : v >= 4 ? (compromise ? "critical_systems" : "critical_system_dmz")
                                               : (compromise ? "business_network" : "business_dmz"));
          out.push_back(std::move(s));
        }
      }
    }
  }
  return out;
}

}  // namespace sevex::testing
