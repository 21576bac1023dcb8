#include "node/routing.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/names.h"

namespace sevex::node {

namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}
bool Contains(const std::vector<std::string>& list, const std::string& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

const v1::PeerConfig* FindPeer(const v1::NodeConfig& config, const std::string& id) {
  for (const auto& p : config.peers()) {
    if (p.node_id() == id) return &p;
  }
  return nullptr;
}

bool Named(const v1::Marking& marking, const std::string& id) { return Contains(marking.recipients(), id); }

void AddHop(Plan* plan, const std::string& recipient, const std::string& hop) {
  if (!Contains(plan->next_hops, hop)) plan->next_hops.push_back(hop);
  plan->recipients.emplace_back(recipient, hop);
}

// Final recipients of an own notice.
std::vector<std::string> Finals(const v1::NodeConfig& config, const v1::Marking& marking) {
  std::vector<std::string> out;
  auto add = [&](const std::string& id) {
    if (id != config.node_id() && !Contains(out, id)) out.push_back(id);
  };
  const v1::Marking::Tlp tlp = marking.tlp();
  if (tlp == v1::Marking::CLEAR || tlp == v1::Marking::GREEN) {
    bool any_rule = false;
    for (const auto& rule : config.distribution()) {
      const bool applies = rule.tlp().empty() || std::find(rule.tlp().begin(), rule.tlp().end(), tlp) != rule.tlp().end();
      if (!applies) continue;
      any_rule = true;
      for (const std::string& to : rule.to()) {
        if (to != "*") {
          add(to);
          continue;
        }
        for (const auto& p : config.peers()) {
          add(p.node_id());
          for (const auto& r : p.reaches()) add(r);
        }
      }
    }
    if (!any_rule && config.distribution().empty()) {
      for (const auto& p : config.peers()) {
        add(p.node_id());
        for (const auto& r : p.reaches()) add(r);
      }
    }
  } else {
    for (const auto& r : marking.recipients()) add(r);
  }
  return out;
}

}  // namespace

std::string TlpName(v1::Marking::Tlp tlp) {
  const absl::string_view name = base::TlpName(tlp);
  return name.empty() ? "no TLP marking" : absl::StrCat("TLP:", name);
}

Plan PlanFromOrigin(const v1::NodeConfig& config, const v1::Marking& marking, const std::vector<std::string>& holding) {
  Plan plan;
  const v1::Marking::Tlp tlp = marking.tlp();
  for (const std::string& f : Finals(config, marking)) {
    if (FindPeer(config, f) != nullptr) {
      AddHop(&plan, f, f);
      continue;
    }
    const v1::PeerConfig* hub = nullptr;
    bool hub_exists = false;
    for (const auto& p : config.peers()) {
      if (!p.relay() || !Contains(p.reaches(), f)) continue;
      hub_exists = true;
      if (tlp == v1::Marking::RED && !Named(marking, p.node_id())) continue;
      hub = &p;
      break;
    }
    if (hub_exists && tlp == v1::Marking::AMBER_STRICT) {
      plan.refused.push_back({f, "marking_forbids_relay",
                              absl::StrCat(TlpName(tlp), " is never relayed, and ", f, " is reached only through a hub")});
    } else if (hub_exists && hub == nullptr) {
      plan.refused.push_back({f, "marking_forbids_relay",
                              absl::StrCat(TlpName(tlp), " may pass only through a hub that is itself a named recipient")});
    } else if (hub != nullptr) {
      AddHop(&plan, f, hub->node_id());
    } else {
      plan.refused.push_back({f, "no_route", absl::StrCat(f, " is not a peer and no hub reaches it")});
    }
  }
  // Whoever had an earlier revision gets this one, if the marking still lets it.
  for (const std::string& h : holding) {
    if (Contains(plan.next_hops, h)) continue;
    const v1::PeerConfig* p = FindPeer(config, h);
    if (p == nullptr) continue;
    const bool allowed = tlp == v1::Marking::CLEAR || tlp == v1::Marking::GREEN || Named(marking, h) ||
                         (tlp == v1::Marking::AMBER && p->relay());
    if (allowed) plan.next_hops.push_back(h);
  }
  return plan;
}

Plan PlanRelay(const v1::NodeConfig& config, const v1::Marking& marking, const std::string& origin,
               const std::vector<std::string>& route, const std::vector<std::string>& holding,
               const std::vector<std::string>& only) {
  Plan plan;
  const v1::Marking::Tlp tlp = marking.tlp();
  auto selected = [&](const std::string& peer) {
    for (const auto& rule : config.relay().rules()) {
      const bool from = rule.from().empty() || Contains(rule.from(), "*") || Contains(rule.from(), origin);
      const bool to = Contains(rule.to(), "*") || Contains(rule.to(), peer);
      if (from && to) return true;
    }
    return false;
  };
  const bool clear_or_green = tlp == v1::Marking::CLEAR || tlp == v1::Marking::GREEN;
  for (const auto& p : config.peers()) {
    const std::string& id = p.node_id();
    if (id == origin || Contains(route, id)) continue;
    if (!only.empty() && !Contains(only, id)) continue;  // the origin serves it another way
    const bool wanted = clear_or_green ? selected(id) || Contains(holding, id) : Named(marking, id);
    if (!wanted) continue;
    if (tlp == v1::Marking::AMBER_STRICT) {
      plan.refused.push_back({id, "marking_forbids_relay", "TLP:AMBER+STRICT is never relayed onward"});
    } else if (!clear_or_green && !selected(id) && !Contains(holding, id)) {
      plan.refused.push_back({id, "no_route", absl::StrCat("the relay rules of ", config.node_id(), " do not forward ",
                                                           origin, "'s notices to ", id)});
    } else {
      AddHop(&plan, id, id);
    }
  }
  if (!clear_or_green) {
    for (const auto& r : marking.recipients()) {
      if (r == config.node_id() || r == origin || Contains(route, r) || FindPeer(config, r) != nullptr) continue;
      if (!only.empty() && !Contains(only, r)) continue;  // not asked of this hub
      plan.refused.push_back({r, "no_route", absl::StrCat(r, " is not a peer of the hub ", config.node_id())});
    }
  }
  return plan;
}

absl::Status MayReceive(const v1::NodeConfig& config, const v1::Marking& marking, const std::string& origin,
                        const std::string& sender) {
  const std::string& self = config.node_id();
  const bool hub = config.has_relay();
  switch (marking.tlp()) {
    case v1::Marking::CLEAR:
    case v1::Marking::GREEN:
      return absl::OkStatus();
    case v1::Marking::AMBER:
      if (Named(marking, self) || hub) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat("TLP:AMBER and ", self, " is not a named recipient"));
    case v1::Marking::AMBER_STRICT:
      if (!Named(marking, self)) {
        return absl::PermissionDeniedError(absl::StrCat("TLP:AMBER+STRICT and ", self, " is not a named recipient"));
      }
      if (sender != origin) {
        return absl::PermissionDeniedError(
            absl::StrCat("TLP:AMBER+STRICT arrived through ", sender, ", but it is never relayed"));
      }
      return absl::OkStatus();
    case v1::Marking::RED:
      if (Named(marking, self)) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat("TLP:RED and ", self, " is not a named recipient"));
    default:
      return absl::PermissionDeniedError("the notice carries no TLP marking");
  }
}

}  // namespace sevex::node
