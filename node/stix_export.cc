#include "node/stix_export.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/names.h"

namespace sevex::node {

namespace {

// Objects sevex derives from node ids (identities, the extension definition) have no natural
// creation time; a fixed one keeps every export of them byte-identical.
constexpr char kDerivedObjectTime[] = "2024-01-01T00:00:00.000Z";
// The TLP 2.0 marking definitions were published with this creation time.
constexpr char kTlp2Created[] = "2022-10-01T00:00:00.000Z";

std::string StixTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

bool HasTime(const google::protobuf::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// When this revision was written: created_at, else when this node received it.
absl::Time RevisionTime(const v1::InboxEntry& e) {
  if (HasTime(e.notice().created_at())) return FromProto(e.notice().created_at());
  return absl::FromUnixMillis(e.received_at_ms());
}

absl::StatusOr<std::array<unsigned char, 16>> ParseUuid(absl::string_view text) {
  std::array<unsigned char, 16> out{};
  size_t k = 0;
  int half = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '-' && (i == 8 || i == 13 || i == 18 || i == 23)) continue;
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a UUID"));
    if (half < 0) {
      half = v;
    } else {
      if (k >= 16) return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a UUID"));
      out[k++] = static_cast<unsigned char>(half << 4 | v);
      half = -1;
    }
  }
  if (k != 16 || half >= 0 || text.size() != 36)
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a UUID"));
  return out;
}

// Ids derived in the sevex namespace; the namespace constant is well-formed, so this cannot fail.
std::string Derived(absl::string_view prefix, absl::string_view name) {
  absl::StatusOr<std::string> u = UuidV5(kSevexUuidNamespace, name);
  return absl::StrCat(prefix, "--", u.ok() ? *u : std::string());
}

std::string IdentityId(absl::string_view node_id) {
  return Derived("identity", absl::StrCat("node:", node_id));
}
std::string SevexIdentityId() { return Derived("identity", "sevex"); }
std::string IncidentId(absl::string_view origin, absl::string_view id) {
  return Derived("incident", absl::StrCat("notice:", origin, "/", id));
}

JsonValue NodeIdentity(const std::string& node_id, absl::string_view role) {
  return JsonValue::Object()
      .Add("type", "identity")
      .Add("spec_version", "2.1")
      .Add("id", IdentityId(node_id))
      .Add("created", kDerivedObjectTime)
      .Add("modified", kDerivedObjectTime)
      .Add("name", node_id)
      .Add("description", absl::StrCat("sevex national node ", node_id, " (", role, ")"))
      .Add("identity_class", "organization")
      .Add("sectors", JsonValue::Array().Push("government-national"));
}

JsonValue SevexIdentity() {
  return JsonValue::Object()
      .Add("type", "identity")
      .Add("spec_version", "2.1")
      .Add("id", SevexIdentityId())
      .Add("created", kDerivedObjectTime)
      .Add("modified", kDerivedObjectTime)
      .Add("name", "sevex")
      .Add("description", "sevex, the cross-border incident severity exchange engine")
      .Add("identity_class", "system");
}

JsonValue SevexExtensionDefinition() {
  return JsonValue::Object()
      .Add("type", "extension-definition")
      .Add("spec_version", "2.1")
      .Add("id", kSevexAssessmentExtension)
      .Add("created_by_ref", SevexIdentityId())
      .Add("created", kDerivedObjectTime)
      .Add("modified", kDerivedObjectTime)
      .Add("name", "sevex national severity assessment")
      .Add("description",
           "The notice's assessment under its origin's national severity scheme, its placement on the shared "
           "0-100 axis, and the exporting node's translation into its own national scheme.")
      .Add("schema",
           "sevex docs/export.md, 'The sevex assessment extension': origin_assessment {scheme, level, "
           "level_name, "
           "exact, shared_band, shared_low, shared_high, shared_point, policy_version, policy_hash}, "
           "translation "
           "{scheme, level, levels, method (reassessed|interval), from_scheme, from_level, shared_band, "
           "shared_low, "
           "shared_high, reason}, and the notice's origin, id, revision, TLP and named recipients.")
      .Add("version", "1.0")
      .Add("extension_types", JsonValue::Array().Push("property-extension"));
}

void AddPlacement(JsonValue* o, const v1::SharedPlacement& p) {
  if (!p.band().empty()) o->Add("shared_band", p.band());
  if (!p.band_high().empty() && p.band_high() != p.band()) o->Add("shared_band_high", p.band_high());
  if (p.has_low()) o->Add("shared_low", p.low());
  if (p.has_high()) o->Add("shared_high", p.high());
  if (p.has_point()) o->Add("shared_point", p.point());
}

JsonValue AssessmentJson(const v1::Assessment& a) {
  JsonValue o = JsonValue::Object();
  o.Add("scheme", a.scheme()).Add("level", a.level());
  if (!a.level_name().empty()) o.Add("level_name", a.level_name());
  o.Add("exact", a.exact());
  AddPlacement(&o, a.shared());
  if (!a.policy_version().empty()) o.Add("policy_version", a.policy_version());
  if (!a.policy_hash().empty()) o.Add("policy_hash", a.policy_hash());
  return o;
}

const char* MethodText(v1::Translation::Method m) {
  return m == v1::Translation::reassessed ? "reassessed"
         : m == v1::Translation::interval ? "interval"
                                          : "none";
}

JsonValue TranslationJson(const v1::Translation& t) {
  JsonValue o = JsonValue::Object();
  o.Add("scheme", t.scheme()).Add("level", t.level());
  if (!t.levels().empty()) {
    JsonValue levels = JsonValue::Array();
    for (const auto& l : t.levels()) levels.Push(l);
    o.Add("levels", std::move(levels));
  }
  o.Add("method", MethodText(t.method()));
  if (!t.from_scheme().empty()) o.Add("from_scheme", t.from_scheme());
  if (!t.from_level().empty()) o.Add("from_level", t.from_level());
  AddPlacement(&o, t.shared());
  if (!t.reason().empty()) o.Add("reason", t.reason());
  return o;
}

// The Incident Core Extension's 0–100 criticality is the shared axis itself (schemes.md §1):
// the scheme's point score where it gives one, else the low end of the level's interval — the
// criticality the level guarantees. Absent when the origin's assessment has no placement.
std::optional<int> Criticality(const v1::Assessment& a) {
  if (a.shared().has_point()) return std::clamp(static_cast<int>(std::lround(a.shared().point())), 0, 100);
  if (a.shared().has_low()) return std::clamp(a.shared().low(), 0, 100);
  return std::nullopt;
}

// Incident Core Extension `determination`: an unsuccessful attempt failed; any other impact the
// notice states happened; without impact_kind the notice does not say, so "suspected".
std::string Determination(const v1::Notice& n) {
  auto it = n.attributes().find("impact_kind");
  if (it == n.attributes().end() || it->second.kind_case() != google::protobuf::Value::kStringValue)
    return "suspected";
  return it->second.string_value() == "unsuccessful_attempt" ? "failed-attempt" : "successful-attempt";
}

// The revisions of one notice this node holds, lowest first.
struct NoticeRevisions {
  std::vector<const v1::InboxEntry*> revisions;
  const v1::InboxEntry& latest() const { return *revisions.back(); }
  // The latest revision that carries content (a retraction carries none), or nullptr.
  const v1::InboxEntry* content() const {
    for (auto it = revisions.rbegin(); it != revisions.rend(); ++it) {
      if (!(*it)->notice().retracted()) return *it;
    }
    return nullptr;
  }
};

absl::StatusOr<std::vector<NoticeRevisions>> Group(const std::vector<v1::InboxEntry>& entries) {
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::vector<NoticeRevisions> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const v1::Notice& n = entries[i].notice();
    if (n.origin().empty() || n.id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("inbox entry ", i, ": a notice without origin or id"));
    }
    if (n.marking().tlp() == v1::Marking::TLP_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("notice ", n.origin(), "/", n.id(), " rev ", n.revision(), ": no TLP marking"));
    }
    auto [it, fresh] = index.try_emplace({n.origin(), n.id()}, out.size());
    if (fresh) out.emplace_back();
    out[it->second].revisions.push_back(&entries[i]);
  }
  for (auto& g : out) {
    std::stable_sort(g.revisions.begin(), g.revisions.end(),
                     [](const v1::InboxEntry* a, const v1::InboxEntry* b) {
                       return a->notice().revision() < b->notice().revision();
                     });
  }
  std::stable_sort(out.begin(), out.end(), [](const NoticeRevisions& a, const NoticeRevisions& b) {
    const auto first = [](const NoticeRevisions& g) {
      int64_t t = g.revisions.front()->received_at_ms();
      for (const auto* e : g.revisions) t = std::min(t, e->received_at_ms());
      return t;
    };
    return first(a) < first(b);
  });
  return out;
}

JsonValue SevexExtension(const NoticeRevisions& g, const ExportSource& source) {
  const v1::InboxEntry& latest = g.latest();
  const v1::InboxEntry* content = g.content();
  const v1::Notice& n = latest.notice();
  JsonValue x = JsonValue::Object();
  x.Add("extension_type", "property-extension")
      .Add("origin", n.origin())
      .Add("notice_id", n.id())
      .Add("revision", n.revision())
      .Add("retracted", n.retracted())
      .Add("tlp", base::TlpName(n.marking().tlp()));
  if (!n.marking().recipients().empty()) {
    JsonValue r = JsonValue::Array();
    for (const auto& id : n.marking().recipients()) r.Push(id);
    x.Add("recipients", std::move(r));
  }
  if (content != nullptr) {
    const v1::Notice& c = content->notice();
    if (!c.classification().rsit_class().empty()) x.Add("rsit_class", c.classification().rsit_class());
    if (!c.classification().rsit_type().empty()) x.Add("rsit_type", c.classification().rsit_type());
    if (!c.origin_assessment().scheme().empty())
      x.Add("origin_assessment", AssessmentJson(c.origin_assessment()));
    if (!content->translation().scheme().empty())
      x.Add("translation", TranslationJson(content->translation()));
    if (content != &latest) x.Add("assessed_revision", c.revision());
  }
  x.Add("received_from", latest.received_from())
      .Add("received_at", StixTime(absl::FromUnixMillis(latest.received_at_ms())))
      .Add("exported_by", source.node_id);
  return x;
}

JsonValue Incident(const NoticeRevisions& g, const ExportSource& source) {
  const v1::InboxEntry& latest = g.latest();
  const v1::InboxEntry* content = g.content();
  const v1::Notice& n = latest.notice();
  absl::Time created = RevisionTime(*g.revisions.front());
  for (const auto* e : g.revisions) created = std::min(created, RevisionTime(*e));
  const absl::Time modified = std::max(created, RevisionTime(latest));

  JsonValue o = JsonValue::Object();
  o.Add("type", "incident")
      .Add("spec_version", "2.1")
      .Add("id", IncidentId(n.origin(), n.id()))
      .Add("created_by_ref", IdentityId(n.origin()))
      .Add("created", StixTime(created))
      .Add("modified", StixTime(modified));
  const std::string title = content != nullptr ? content->notice().title() : "";
  o.Add("name", title.empty() ? absl::StrCat("sevex notice ", n.origin(), "/", n.id()) : title);
  if (content != nullptr && !content->notice().summary().empty())
    o.Add("description", content->notice().summary());
  if (n.retracted()) o.Add("revoked", true);
  if (content != nullptr && !content->notice().classification().rsit_class().empty()) {
    const auto& cl = content->notice().classification();
    o.Add("labels", JsonValue::Array().Push(absl::StrCat("rsit:", cl.rsit_class(),
                                                         cl.rsit_type().empty() ? "" : "/", cl.rsit_type())));
  }
  o.Add("external_references",
        JsonValue::Array().Push(
            JsonValue::Object()
                .Add("source_name", "sevex")
                .Add("external_id", absl::StrCat(n.origin(), "/", n.id()))
                .Add("description", absl::StrCat("sevex notice, revision ", n.revision()))));
  o.Add("object_marking_refs", JsonValue::Array().Push(TlpMarkingId(n.marking().tlp())));

  JsonValue core = JsonValue::Object();
  core.Add("extension_type", "property-extension");
  if (content != nullptr) {
    if (auto c = Criticality(content->notice().origin_assessment())) core.Add("criticality", *c);
  }
  core.Add("determination", content != nullptr ? Determination(content->notice()) : "suspected")
      .Add("investigation_status", n.retracted() ? "closed" : "open");
  o.Add("extensions", JsonValue::Object()
                          .Add(kIncidentCoreExtension, std::move(core))
                          .Add(kSevexAssessmentExtension, SevexExtension(g, source)));
  return o;
}

}  // namespace

absl::StatusOr<std::string> UuidV5(absl::string_view namespace_uuid, absl::string_view name) {
  absl::StatusOr<std::array<unsigned char, 16>> ns = ParseUuid(namespace_uuid);
  if (!ns.ok()) return ns.status();
  std::string input(reinterpret_cast<const char*>(ns->data()), ns->size());
  input.append(name.data(), name.size());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr) != 1 || len < 16) {
    return absl::InternalError("SHA-1 failed");
  }
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    absl::StrAppendFormat(&out, "%02x", digest[i]);
  }
  return out;
}

std::string TlpMarkingId(v1::Marking::Tlp tlp) {
  switch (tlp) {
    case v1::Marking::CLEAR:
      return "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
    case v1::Marking::GREEN:
      return "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    case v1::Marking::AMBER:
      return "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    case v1::Marking::AMBER_STRICT:
      return "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
    case v1::Marking::RED:
      return "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
    default:
      return "";
  }
}

JsonValue TlpMarkingDefinition(v1::Marking::Tlp tlp) {
  return JsonValue::Object()
      .Add("type", "marking-definition")
      .Add("spec_version", "2.1")
      .Add("id", TlpMarkingId(tlp))
      .Add("created", kTlp2Created)
      .Add("name", absl::StrCat("TLP:", base::TlpName(tlp)))
      .Add("extensions",
           JsonValue::Object().Add(kTlp2Extension, JsonValue::Object()
                                                       .Add("extension_type", "property-extension")
                                                       .Add("tlp_2_0", base::TlpNameLower(tlp))));
}

absl::StatusOr<JsonValue> StixBundle(const std::vector<v1::InboxEntry>& entries, const ExportSource& source) {
  absl::StatusOr<std::vector<NoticeRevisions>> groups = Group(entries);
  if (!groups.ok()) return groups.status();
  std::set<int> tlps;
  std::vector<std::string> origins;
  for (const auto& g : *groups) {
    tlps.insert(g.latest().notice().marking().tlp());
    if (std::find(origins.begin(), origins.end(), g.latest().notice().origin()) == origins.end()) {
      origins.push_back(g.latest().notice().origin());
    }
  }
  JsonValue objects = JsonValue::Array();
  for (int t : tlps) objects.Push(TlpMarkingDefinition(static_cast<v1::Marking::Tlp>(t)));
  objects.Push(SevexIdentity());
  objects.Push(SevexExtensionDefinition());
  if (std::find(origins.begin(), origins.end(), source.node_id) == origins.end()) {
    objects.Push(NodeIdentity(source.node_id, absl::StrCat("exporting node, scheme ", source.scheme)));
  }
  for (const auto& o : origins) objects.Push(NodeIdentity(o, "origin of notices"));
  std::string seed = "bundle";
  for (const auto& g : *groups) {
    JsonValue incident = Incident(g, source);
    absl::StrAppend(&seed, "|", incident.Find("id")->Write(), "@", incident.Find("modified")->Write());
    objects.Push(std::move(incident));
  }
  JsonValue bundle = JsonValue::Object();
  bundle.Add("type", "bundle").Add("id", Derived("bundle", absl::StrCat(seed, "|by:", source.node_id)));
  bundle.Add("objects", std::move(objects));
  return bundle;
}

absl::StatusOr<std::vector<JsonValue>> JsonLines(const std::vector<v1::InboxEntry>& entries,
                                                 const ExportSource& source) {
  absl::StatusOr<std::vector<NoticeRevisions>> groups = Group(entries);
  if (!groups.ok()) return groups.status();
  std::vector<JsonValue> out;
  for (const auto& g : *groups) {
    const v1::InboxEntry& latest = g.latest();
    const v1::InboxEntry* content = g.content();
    const v1::Notice& n = latest.notice();
    JsonValue o = JsonValue::Object();
    o.Add("origin", n.origin())
        .Add("id", n.id())
        .Add("revision", n.revision())
        .Add("retracted", n.retracted());
    o.Add("tlp", base::TlpName(n.marking().tlp()));
    JsonValue recipients = JsonValue::Array();
    for (const auto& r : n.marking().recipients()) recipients.Push(r);
    o.Add("recipients", std::move(recipients));
    if (content != nullptr) {
      const v1::Notice& c = content->notice();
      o.Add("title", c.title());
      if (!c.classification().rsit_class().empty()) {
        o.Add("rsit_class", c.classification().rsit_class()).Add("rsit_type", c.classification().rsit_type());
      }
      if (HasTime(c.detected_at())) o.Add("detected_at", StixTime(FromProto(c.detected_at())));
      const v1::Assessment& a = c.origin_assessment();
      o.Add("origin_scheme", a.scheme()).Add("origin_level", a.level());
      if (!a.shared().band().empty()) o.Add("shared_band", a.shared().band());
      if (a.shared().has_low()) o.Add("shared_low", a.shared().low());
      if (a.shared().has_high()) o.Add("shared_high", a.shared().high());
      if (auto crit = Criticality(a)) o.Add("criticality", *crit);
      const v1::Translation& t = content->translation();
      o.Add("scheme", t.scheme().empty() ? source.scheme : t.scheme()).Add("level", t.level());
      o.Add("method", MethodText(t.method()));
    }
    o.Add("received_from", latest.received_from());
    o.Add("received_at", StixTime(absl::FromUnixMillis(latest.received_at_ms())));
    o.Add("stix_id", IncidentId(n.origin(), n.id()));
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace sevex::node
