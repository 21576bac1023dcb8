// Where a notice may go (node/routing.h): TLP 2.0 markings enforced at the origin, at each hub
// and at each receiving node, with the origin's distribution rules and a hub's relay rules.
#include "node/routing.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sevex::node {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

using Tlp = v1::Marking::Tlp;

// A refusal of `recipient` with `code`.
::testing::Matcher<Refusal> Refused(const std::string& recipient, const std::string& code) {
  return AllOf(Field("recipient", &Refusal::recipient, recipient), Field("code", &Refusal::code, code));
}

v1::Marking Mark(Tlp tlp, std::vector<std::string> recipients = {}) {
  v1::Marking m;
  m.set_tlp(tlp);
  for (auto& r : recipients) m.add_recipients(std::move(r));
  return m;
}

v1::PeerConfig* AddPeer(v1::NodeConfig* c, const std::string& id) {
  v1::PeerConfig* p = c->add_peers();
  p->set_node_id(id);
  return p;
}

v1::PeerConfig* AddHub(v1::NodeConfig* c, const std::string& id, const std::vector<std::string>& reaches) {
  v1::PeerConfig* p = AddPeer(c, id);
  p->set_relay(true);
  for (const auto& r : reaches) p->add_reaches(r);
  return p;
}

void AddDistribution(v1::NodeConfig* c, const std::vector<std::string>& to, const std::vector<Tlp>& tlp = {}) {
  v1::DistributionRule* r = c->add_distribution();
  for (const auto& t : to) r->add_to(t);
  for (Tlp t : tlp) r->add_tlp(t);
}

void AddRelayRule(v1::NodeConfig* c, const std::vector<std::string>& from, const std::vector<std::string>& to) {
  v1::RelayRule* r = c->mutable_relay()->add_rules();
  for (const auto& f : from) r->add_from(f);
  for (const auto& t : to) r->add_to(t);
}

// The origin cl.csirt: two direct peers and a hub eu.hub that reaches de.bsi and fr.anssi.
v1::NodeConfig Origin() {
  v1::NodeConfig c;
  c.set_node_id("cl.csirt");
  AddPeer(&c, "uk.ncsc");
  AddPeer(&c, "au.asd");
  AddHub(&c, "eu.hub", {"de.bsi", "fr.anssi"});
  return c;
}

// The hub eu.hub: peers with the origin cl.csirt, a second hub br.hub, and three members.
v1::NodeConfig Hub() {
  v1::NodeConfig c;
  c.set_node_id("eu.hub");
  AddPeer(&c, "cl.csirt");
  AddHub(&c, "br.hub", {"ar.cert"});
  AddPeer(&c, "uk.ncsc");
  AddPeer(&c, "de.bsi");
  AddPeer(&c, "fr.anssi");
  c.mutable_relay();
  return c;
}

// A member de.bsi that is not a hub.
v1::NodeConfig Member() {
  v1::NodeConfig c;
  c.set_node_id("de.bsi");
  AddPeer(&c, "cl.csirt");
  AddHub(&c, "eu.hub", {"uk.ncsc"});
  return c;
}

// ----------------------------------------------------------------------------------------------
// At the origin: CLEAR and GREEN by distribution rules.

TEST(PlanFromOrigin, ClearWithNoRulesGoesToEveryPeerAndEveryNodeAHubReaches) {
  const Plan plan = PlanFromOrigin(Origin(), Mark(v1::Marking::CLEAR), {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("au.asd", "au.asd"),
                                                    Pair("eu.hub", "eu.hub"), Pair("de.bsi", "eu.hub"),
                                                    Pair("fr.anssi", "eu.hub")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "au.asd", "eu.hub"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, GreenWithNoRulesGoesToEveryPeerAndEveryNodeAHubReaches) {
  const Plan plan = PlanFromOrigin(Origin(), Mark(v1::Marking::GREEN), {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("au.asd", "au.asd"),
                                                    Pair("eu.hub", "eu.hub"), Pair("de.bsi", "eu.hub"),
                                                    Pair("fr.anssi", "eu.hub")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "au.asd", "eu.hub"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, NodeReachedByTwoHubsGoesOnceThroughTheFirst) {
  v1::NodeConfig c = Origin();
  AddHub(&c, "us.hub", {"fr.anssi", "jp.nisc"});
  const Plan plan = PlanFromOrigin(c, Mark(v1::Marking::GREEN), {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("au.asd", "au.asd"),
                                                    Pair("eu.hub", "eu.hub"), Pair("de.bsi", "eu.hub"),
                                                    Pair("fr.anssi", "eu.hub"), Pair("us.hub", "us.hub"),
                                                    Pair("jp.nisc", "us.hub")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "au.asd", "eu.hub", "us.hub"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, DistributionRulesRestrictClearAndGreen) {
  v1::NodeConfig c = Origin();
  AddDistribution(&c, {"uk.ncsc", "de.bsi"});
  for (Tlp tlp : {v1::Marking::CLEAR, v1::Marking::GREEN}) {
    SCOPED_TRACE(TlpName(tlp));
    const Plan plan = PlanFromOrigin(c, Mark(tlp), {});
    EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("de.bsi", "eu.hub")));
    EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "eu.hub"));
    EXPECT_THAT(plan.refused, IsEmpty());
  }
}

TEST(PlanFromOrigin, DistributionRuleWithStarGoesEverywhere) {
  v1::NodeConfig c = Origin();
  AddDistribution(&c, {"*"}, {v1::Marking::GREEN});
  const Plan plan = PlanFromOrigin(c, Mark(v1::Marking::GREEN), {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("au.asd", "au.asd"),
                                                    Pair("eu.hub", "eu.hub"), Pair("de.bsi", "eu.hub"),
                                                    Pair("fr.anssi", "eu.hub")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "au.asd", "eu.hub"));
}

TEST(PlanFromOrigin, RuleForClearDoesNotApplyToGreen) {
  v1::NodeConfig c = Origin();
  AddDistribution(&c, {"uk.ncsc"}, {v1::Marking::CLEAR});
  AddDistribution(&c, {"fr.anssi"});  // no tlp: CLEAR and GREEN

  const Plan clear = PlanFromOrigin(c, Mark(v1::Marking::CLEAR), {});
  EXPECT_THAT(clear.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("fr.anssi", "eu.hub")));
  EXPECT_THAT(clear.next_hops, UnorderedElementsAre("uk.ncsc", "eu.hub"));

  const Plan green = PlanFromOrigin(c, Mark(v1::Marking::GREEN), {});
  EXPECT_THAT(green.recipients, ElementsAre(Pair("fr.anssi", "eu.hub")));
  EXPECT_THAT(green.next_hops, ElementsAre("eu.hub"));
  EXPECT_THAT(green.refused, IsEmpty());
}

TEST(PlanFromOrigin, GreenGoesNowhereWhenRulesExistButNoneIsForGreen) {
  v1::NodeConfig c = Origin();
  AddDistribution(&c, {"uk.ncsc"}, {v1::Marking::CLEAR});
  const Plan green = PlanFromOrigin(c, Mark(v1::Marking::GREEN), {});
  EXPECT_THAT(green.recipients, IsEmpty());
  EXPECT_THAT(green.next_hops, IsEmpty());
  EXPECT_THAT(green.refused, IsEmpty());
}

TEST(PlanFromOrigin, DistributionToANodeNoHubReachesIsNoRoute) {
  v1::NodeConfig c = Origin();
  AddDistribution(&c, {"uk.ncsc", "xx.cert"});
  const Plan plan = PlanFromOrigin(c, Mark(v1::Marking::CLEAR), {});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("uk.ncsc", "uk.ncsc")));
  EXPECT_THAT(plan.next_hops, ElementsAre("uk.ncsc"));
  EXPECT_THAT(plan.refused, ElementsAre(Refused("xx.cert", "no_route")));
}

// ----------------------------------------------------------------------------------------------
// At the origin: AMBER, AMBER+STRICT and RED by named recipients.

TEST(PlanFromOrigin, AmberGoesToNamedRecipientsOnlyDirectOrViaAHub) {
  v1::NodeConfig c = Origin();
  AddDistribution(&c, {"*"});  // distribution rules do not widen AMBER
  const Plan plan = PlanFromOrigin(c, Mark(v1::Marking::AMBER, {"uk.ncsc", "de.bsi"}), {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("de.bsi", "eu.hub")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "eu.hub"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, AmberNamingTheOriginItselfSkipsIt) {
  const Plan plan = PlanFromOrigin(Origin(), Mark(v1::Marking::AMBER, {"cl.csirt", "au.asd"}), {});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("au.asd", "au.asd")));
  EXPECT_THAT(plan.next_hops, ElementsAre("au.asd"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, AmberStrictGoesOnlyDirectlyAndRefusesRecipientsBehindAHub) {
  const Plan plan = PlanFromOrigin(Origin(), Mark(v1::Marking::AMBER_STRICT, {"uk.ncsc", "de.bsi"}), {});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("uk.ncsc", "uk.ncsc")));
  EXPECT_THAT(plan.next_hops, ElementsAre("uk.ncsc"));
  ASSERT_THAT(plan.refused, ElementsAre(Refused("de.bsi", "marking_forbids_relay")));
  EXPECT_THAT(plan.refused[0].reason, HasSubstr("TLP:AMBER+STRICT is never relayed"));
}

TEST(PlanFromOrigin, AmberStrictToAHubThatIsNamedGoesDirectlyToTheHubOnly) {
  const Plan plan = PlanFromOrigin(Origin(), Mark(v1::Marking::AMBER_STRICT, {"eu.hub", "fr.anssi"}), {});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("eu.hub", "eu.hub")));
  EXPECT_THAT(plan.next_hops, ElementsAre("eu.hub"));
  EXPECT_THAT(plan.refused, ElementsAre(Refused("fr.anssi", "marking_forbids_relay")));
}

TEST(PlanFromOrigin, RedThroughAHubThatIsNotNamedIsRefused) {
  const Plan plan = PlanFromOrigin(Origin(), Mark(v1::Marking::RED, {"uk.ncsc", "de.bsi"}), {});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("uk.ncsc", "uk.ncsc")));
  EXPECT_THAT(plan.next_hops, ElementsAre("uk.ncsc"));
  ASSERT_THAT(plan.refused, ElementsAre(Refused("de.bsi", "marking_forbids_relay")));
  EXPECT_THAT(plan.refused[0].reason, HasSubstr("TLP:RED may pass only through a hub that is itself a named recipient"));
}

TEST(PlanFromOrigin, RedThroughAHubThatIsNamed) {
  const Plan plan = PlanFromOrigin(Origin(), Mark(v1::Marking::RED, {"de.bsi", "eu.hub"}), {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("de.bsi", "eu.hub"), Pair("eu.hub", "eu.hub")));
  EXPECT_THAT(plan.next_hops, ElementsAre("eu.hub"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, RedPicksTheNamedHubAmongSeveralThatReachTheRecipient) {
  v1::NodeConfig c = Origin();
  AddHub(&c, "us.hub", {"fr.anssi"});
  const Plan plan = PlanFromOrigin(c, Mark(v1::Marking::RED, {"fr.anssi", "us.hub"}), {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("fr.anssi", "us.hub"), Pair("us.hub", "us.hub")));
  EXPECT_THAT(plan.next_hops, ElementsAre("us.hub"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, UnknownRecipientIsNoRoute) {
  for (Tlp tlp : {v1::Marking::AMBER, v1::Marking::AMBER_STRICT, v1::Marking::RED}) {
    SCOPED_TRACE(TlpName(tlp));
    const Plan plan = PlanFromOrigin(Origin(), Mark(tlp, {"xx.cert", "au.asd"}), {});
    EXPECT_THAT(plan.recipients, ElementsAre(Pair("au.asd", "au.asd")));
    EXPECT_THAT(plan.next_hops, ElementsAre("au.asd"));
    ASSERT_THAT(plan.refused, ElementsAre(Refused("xx.cert", "no_route")));
    EXPECT_THAT(plan.refused[0].reason, HasSubstr("xx.cert is not a peer and no hub reaches it"));
  }
}

// ----------------------------------------------------------------------------------------------
// At the origin: peers holding an earlier revision.

TEST(PlanFromOrigin, HoldingPeersGetTheRevisionOfAGreenNoticeEvenOutsideTheRules) {
  v1::NodeConfig c = Origin();
  AddDistribution(&c, {"uk.ncsc"});
  const Plan plan = PlanFromOrigin(c, Mark(v1::Marking::GREEN), {"au.asd", "uk.ncsc"});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("uk.ncsc", "uk.ncsc")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "au.asd"));  // each once
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanFromOrigin, HoldingPeersGetAnAmberRevisionWhenNamedOrAHub) {
  const Plan plan =
      PlanFromOrigin(Origin(), Mark(v1::Marking::AMBER, {"uk.ncsc"}), {"au.asd", "eu.hub", "gone.node"});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("uk.ncsc", "uk.ncsc")));
  // au.asd is no longer named; eu.hub is a conduit for AMBER; gone.node is no longer a peer.
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "eu.hub"));
}

TEST(PlanFromOrigin, HoldingPeersGetARedOrStrictRevisionOnlyWhenNamed) {
  for (Tlp tlp : {v1::Marking::AMBER_STRICT, v1::Marking::RED}) {
    SCOPED_TRACE(TlpName(tlp));
    const Plan plan = PlanFromOrigin(Origin(), Mark(tlp, {"uk.ncsc"}), {"au.asd", "eu.hub"});
    EXPECT_THAT(plan.recipients, ElementsAre(Pair("uk.ncsc", "uk.ncsc")));
    EXPECT_THAT(plan.next_hops, ElementsAre("uk.ncsc"));
  }
  const Plan named = PlanFromOrigin(Origin(), Mark(v1::Marking::RED, {"uk.ncsc"}), {"au.asd"});
  EXPECT_THAT(named.next_hops, ElementsAre("uk.ncsc"));
  const Plan named_holder = PlanFromOrigin(Origin(), Mark(v1::Marking::RED, {"eu.hub"}), {"eu.hub"});
  EXPECT_THAT(named_holder.next_hops, ElementsAre("eu.hub"));
}

// ----------------------------------------------------------------------------------------------
// At a hub.

TEST(PlanRelay, NeverSendsBackToTheOriginOrAnyoneOnTheRoute) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {}, {"*"});
  const Plan plan = PlanRelay(c, Mark(v1::Marking::CLEAR), "cl.csirt", {"cl.csirt", "br.hub"}, {});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("de.bsi", "de.bsi"),
                                                    Pair("fr.anssi", "fr.anssi")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "de.bsi", "fr.anssi"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanRelay, NeverSendsBackEvenToHoldersOrNamedRecipientsOnTheRoute) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {"*"}, {"*"});
  const Plan green =
      PlanRelay(c, Mark(v1::Marking::GREEN), "cl.csirt", {"cl.csirt", "uk.ncsc"}, {"cl.csirt", "uk.ncsc"});
  EXPECT_THAT(green.next_hops, UnorderedElementsAre("br.hub", "de.bsi", "fr.anssi"));
  const Plan amber = PlanRelay(c, Mark(v1::Marking::AMBER, {"cl.csirt", "uk.ncsc", "de.bsi"}), "cl.csirt",
                               {"cl.csirt", "uk.ncsc"}, {});
  EXPECT_THAT(amber.recipients, ElementsAre(Pair("de.bsi", "de.bsi")));
  EXPECT_THAT(amber.next_hops, ElementsAre("de.bsi"));
  EXPECT_THAT(amber.refused, IsEmpty());
}

TEST(PlanRelay, RelayRulesSelectByOriginAndPeer) {
  v1::NodeConfig c = Hub();
  c.add_origins()->set_node_id("au.asd");
  AddRelayRule(&c, {"cl.csirt"}, {"de.bsi"});
  AddRelayRule(&c, {"au.asd"}, {"fr.anssi", "uk.ncsc"});

  const Plan from_cl = PlanRelay(c, Mark(v1::Marking::GREEN), "cl.csirt", {"cl.csirt"}, {});
  EXPECT_THAT(from_cl.recipients, ElementsAre(Pair("de.bsi", "de.bsi")));
  EXPECT_THAT(from_cl.next_hops, ElementsAre("de.bsi"));

  const Plan from_au = PlanRelay(c, Mark(v1::Marking::GREEN), "au.asd", {"au.asd", "br.hub"}, {});
  EXPECT_THAT(from_au.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("fr.anssi", "fr.anssi")));
  EXPECT_THAT(from_au.next_hops, UnorderedElementsAre("uk.ncsc", "fr.anssi"));

  const Plan from_other = PlanRelay(c, Mark(v1::Marking::CLEAR), "jp.nisc", {"jp.nisc", "br.hub"}, {});
  EXPECT_THAT(from_other.recipients, IsEmpty());
  EXPECT_THAT(from_other.next_hops, IsEmpty());
  EXPECT_THAT(from_other.refused, IsEmpty());
}

TEST(PlanRelay, ServesOnlyTheRecipientsTheSenderAskedFor) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {"*"}, {"*"});
  // The origin reaches uk.ncsc itself and asked the hub for de.bsi only (and the hub itself).
  const Plan plan = PlanRelay(c, Mark(v1::Marking::GREEN), "cl.csirt", {"cl.csirt"}, {}, {"de.bsi", "eu.hub"});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("de.bsi", "de.bsi")));
  EXPECT_THAT(plan.next_hops, ElementsAre("de.bsi"));
  // Asked for the hub alone: it forwards to nobody.
  EXPECT_THAT(PlanRelay(c, Mark(v1::Marking::GREEN), "cl.csirt", {"cl.csirt"}, {}, {"eu.hub"}).next_hops, IsEmpty());
  // A named recipient the origin serves another way is neither forwarded nor refused here.
  const Plan amber = PlanRelay(c, Mark(v1::Marking::AMBER, {"de.bsi", "jp.nisc"}), "cl.csirt", {"cl.csirt"}, {},
                               {"de.bsi", "eu.hub"});
  EXPECT_THAT(amber.next_hops, ElementsAre("de.bsi"));
  EXPECT_THAT(amber.refused, IsEmpty());
  // Asked for nothing in particular: its rules decide.
  EXPECT_THAT(PlanRelay(c, Mark(v1::Marking::GREEN), "cl.csirt", {"cl.csirt"}, {}).next_hops.size(), Gt(1u));
}

TEST(PlanRelay, RuleFromStarMatchesAnyOrigin) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {"*"}, {"uk.ncsc"});
  const Plan plan = PlanRelay(c, Mark(v1::Marking::CLEAR), "jp.nisc", {"jp.nisc", "br.hub"}, {});
  EXPECT_THAT(plan.next_hops, ElementsAre("uk.ncsc"));
}

TEST(PlanRelay, GreenRevisionGoesToHoldersTheRulesNoLongerSelect) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {}, {"de.bsi"});
  const Plan plan = PlanRelay(c, Mark(v1::Marking::GREEN), "cl.csirt", {"cl.csirt"}, {"fr.anssi"});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("de.bsi", "de.bsi"), Pair("fr.anssi", "fr.anssi")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("de.bsi", "fr.anssi"));
}

TEST(PlanRelay, AmberGoesOnlyToNamedPeers) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {"*"}, {"*"});
  const Plan plan =
      PlanRelay(c, Mark(v1::Marking::AMBER, {"uk.ncsc", "fr.anssi"}), "cl.csirt", {"cl.csirt"}, {"de.bsi"});
  EXPECT_THAT(plan.recipients, UnorderedElementsAre(Pair("uk.ncsc", "uk.ncsc"), Pair("fr.anssi", "fr.anssi")));
  EXPECT_THAT(plan.next_hops, UnorderedElementsAre("uk.ncsc", "fr.anssi"));  // not de.bsi, though holding
  EXPECT_THAT(plan.refused, IsEmpty());
}

TEST(PlanRelay, AmberToANamedPeerTheRulesDoNotSelectIsNoRoute) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {"cl.csirt"}, {"de.bsi"});
  const Plan plan = PlanRelay(c, Mark(v1::Marking::AMBER, {"de.bsi", "uk.ncsc"}), "cl.csirt", {"cl.csirt"}, {});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("de.bsi", "de.bsi")));
  EXPECT_THAT(plan.next_hops, ElementsAre("de.bsi"));
  ASSERT_THAT(plan.refused, ElementsAre(Refused("uk.ncsc", "no_route")));
  EXPECT_THAT(plan.refused[0].reason, HasSubstr("the relay rules of eu.hub do not forward cl.csirt's notices to uk.ncsc"));
}

TEST(PlanRelay, AmberToANamedRecipientThatIsNotAPeerOfTheHubIsNoRoute) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {}, {"*"});
  const Plan plan =
      PlanRelay(c, Mark(v1::Marking::AMBER, {"eu.hub", "de.bsi", "ar.cert"}), "cl.csirt", {"cl.csirt"}, {});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("de.bsi", "de.bsi")));
  EXPECT_THAT(plan.next_hops, ElementsAre("de.bsi"));
  // ar.cert is reached by br.hub, but a hub does not route through another hub's `reaches`.
  ASSERT_THAT(plan.refused, ElementsAre(Refused("ar.cert", "no_route")));
  EXPECT_THAT(plan.refused[0].reason, HasSubstr("ar.cert is not a peer of the hub eu.hub"));
}

TEST(PlanRelay, AmberStrictIsNeverRelayedOnward) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {"*"}, {"*"});
  const Plan plan =
      PlanRelay(c, Mark(v1::Marking::AMBER_STRICT, {"eu.hub", "de.bsi", "uk.ncsc"}), "cl.csirt", {"cl.csirt"}, {});
  EXPECT_THAT(plan.next_hops, IsEmpty());
  EXPECT_THAT(plan.recipients, IsEmpty());
  EXPECT_THAT(plan.refused, UnorderedElementsAre(Refused("uk.ncsc", "marking_forbids_relay"),
                                                 Refused("de.bsi", "marking_forbids_relay")));
}

TEST(PlanRelay, RedGoesToNamedPeersOnly) {
  v1::NodeConfig c = Hub();
  AddRelayRule(&c, {}, {"*"});
  const Plan plan = PlanRelay(c, Mark(v1::Marking::RED, {"eu.hub", "de.bsi"}), "cl.csirt", {"cl.csirt"}, {"uk.ncsc"});
  EXPECT_THAT(plan.recipients, ElementsAre(Pair("de.bsi", "de.bsi")));
  EXPECT_THAT(plan.next_hops, ElementsAre("de.bsi"));
  EXPECT_THAT(plan.refused, IsEmpty());
}

// ----------------------------------------------------------------------------------------------
// At a receiving node.

TEST(MayReceive, ClearAndGreenFromAnyone) {
  for (Tlp tlp : {v1::Marking::CLEAR, v1::Marking::GREEN}) {
    EXPECT_TRUE(MayReceive(Member(), Mark(tlp), "cl.csirt", "cl.csirt").ok());
    EXPECT_TRUE(MayReceive(Member(), Mark(tlp), "cl.csirt", "eu.hub").ok());
  }
}

TEST(MayReceive, AmberOnlyWhenNamedOrAsAHubConduit) {
  EXPECT_TRUE(MayReceive(Member(), Mark(v1::Marking::AMBER, {"de.bsi"}), "cl.csirt", "eu.hub").ok());
  const absl::Status s = MayReceive(Member(), Mark(v1::Marking::AMBER, {"uk.ncsc"}), "cl.csirt", "cl.csirt");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "TLP:AMBER and de.bsi is not a named recipient");
  // A hub may take an AMBER notice it is not named in, to pass it on.
  EXPECT_TRUE(MayReceive(Hub(), Mark(v1::Marking::AMBER, {"de.bsi"}), "cl.csirt", "cl.csirt").ok());
}

TEST(MayReceive, AmberStrictOnlyFromTheOriginItselfAndOnlyWhenNamed) {
  EXPECT_TRUE(MayReceive(Member(), Mark(v1::Marking::AMBER_STRICT, {"de.bsi"}), "cl.csirt", "cl.csirt").ok());

  const absl::Status relayed = MayReceive(Member(), Mark(v1::Marking::AMBER_STRICT, {"de.bsi"}), "cl.csirt", "eu.hub");
  EXPECT_EQ(relayed.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(relayed.message(), "TLP:AMBER+STRICT arrived through eu.hub, but it is never relayed");

  const absl::Status unnamed = MayReceive(Member(), Mark(v1::Marking::AMBER_STRICT, {"uk.ncsc"}), "cl.csirt", "cl.csirt");
  EXPECT_EQ(unnamed.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(unnamed.message(), "TLP:AMBER+STRICT and de.bsi is not a named recipient");

  // Not even a hub may take it as a conduit.
  const absl::Status hub = MayReceive(Hub(), Mark(v1::Marking::AMBER_STRICT, {"de.bsi"}), "cl.csirt", "cl.csirt");
  EXPECT_EQ(hub.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(hub.message(), "TLP:AMBER+STRICT and eu.hub is not a named recipient");
}

TEST(MayReceive, RedOnlyWhenNamedEvenAtAHub) {
  EXPECT_TRUE(MayReceive(Member(), Mark(v1::Marking::RED, {"de.bsi", "eu.hub"}), "cl.csirt", "eu.hub").ok());
  EXPECT_TRUE(MayReceive(Hub(), Mark(v1::Marking::RED, {"de.bsi", "eu.hub"}), "cl.csirt", "cl.csirt").ok());

  const absl::Status member = MayReceive(Member(), Mark(v1::Marking::RED, {"uk.ncsc"}), "cl.csirt", "cl.csirt");
  EXPECT_EQ(member.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(member.message(), "TLP:RED and de.bsi is not a named recipient");

  const absl::Status hub = MayReceive(Hub(), Mark(v1::Marking::RED, {"de.bsi"}), "cl.csirt", "cl.csirt");
  EXPECT_EQ(hub.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(hub.message(), "TLP:RED and eu.hub is not a named recipient");
}

TEST(MayReceive, NoMarkingIsRefused) {
  const absl::Status s = MayReceive(Member(), v1::Marking(), "cl.csirt", "cl.csirt");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "the notice carries no TLP marking");
  EXPECT_EQ(MayReceive(Hub(), v1::Marking(), "cl.csirt", "cl.csirt").code(), absl::StatusCode::kPermissionDenied);
}

TEST(TlpName, NamesEachMarking) {
  EXPECT_EQ(TlpName(v1::Marking::CLEAR), "TLP:CLEAR");
  EXPECT_EQ(TlpName(v1::Marking::GREEN), "TLP:GREEN");
  EXPECT_EQ(TlpName(v1::Marking::AMBER), "TLP:AMBER");
  EXPECT_EQ(TlpName(v1::Marking::AMBER_STRICT), "TLP:AMBER+STRICT");
  EXPECT_EQ(TlpName(v1::Marking::RED), "TLP:RED");
  EXPECT_EQ(TlpName(v1::Marking::TLP_UNSPECIFIED), "no TLP marking");
}

}  // namespace
}  // namespace sevex::node
