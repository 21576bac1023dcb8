// embedded_policies.h — the shipped policy set (this folder), compiled into the binary.
//
//   ASSIGN_OR_RETURN(auto catalog, engine::Catalog::Load(policies::Embedded(), "embedded"));
#ifndef SEVEX_POLICIES_EMBEDDED_POLICIES_H_
#define SEVEX_POLICIES_EMBEDDED_POLICIES_H_

#include <vector>

#include "engine/catalog.h"

namespace sevex::policies {

// Every *.textproto below policies/, by path relative to it; built at compile time.
const std::vector<engine::PolicyFile>& Embedded();

}  // namespace sevex::policies

#endif  // SEVEX_POLICIES_EMBEDDED_POLICIES_H_
