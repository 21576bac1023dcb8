// scenario_grid.h — a coherent corpus of fully described notices for cross-scheme tests.
//
// Schemes read different attributes (AU a matrix of impact x victim, NCISS five impact
// categories, NIS2 money and users…). Comparing them needs notices in which those attributes
// tell one story. The grid enumerates the axes most schemes share — impact_kind (6) x
// victim_tier (6) x harm to people (none, health damage, one death, five deaths) x essential
// service interrupted — harm and interruption only for compromises and worse, since an attempt
// that compromises nothing harms no one — and derives every other attribute from
// them by the fixed rules in scenario_grid.cc (documented in docs/translation-error-bar.md).
// Every scheme can decide every scenario exactly.
#ifndef SEVEX_TESTS_SCENARIO_GRID_H_
#define SEVEX_TESTS_SCENARIO_GRID_H_

#include <string>
#include <vector>

#include "sevex/v1/notice.pb.h"

namespace sevex::testing {

struct Scenario {
  std::string name;  // "extensive_compromise/national/death/essential"
  v1::Notice notice;
};

std::vector<Scenario> ScenarioGrid();

}  // namespace sevex::testing

#endif  // SEVEX_TESTS_SCENARIO_GRID_H_
