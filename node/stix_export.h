// stix_export.h — a node's inbox as STIX 2.1 and as JSON lines, for MISP, OpenCTI and log
// pipelines (docs/export.md).
//
//   ExportSource me{"uk.ncsc", "uk-ncsc"};
//   ASSIGN_OR_RETURN(JsonValue bundle, StixBundle(inbox_entries, me));
//   std::cout << bundle.Write(2);
//
// One notice (origin + id) becomes one `incident` object; its revisions are versions of that
// object (same id, later `modified`); a retraction revokes it (`revoked: true`). Ids are UUIDv5
// of the sevex namespace and the origin, the notice id (and for identities the node id), so a
// re-export gives the same ids. The incident carries:
//   - the Incident Core Extension (criticality = the origin's placement on the shared 0–100
//     axis, determination, investigation_status),
//   - the sevex assessment extension: the origin's assessment and this node's translation,
//   - the TLP 2.0 marking-definition of the notice's marking, by its official id.
// Never a property named `severity` (STIX 2.1 reserves it).
#ifndef SEVEX_NODE_STIX_EXPORT_H_
#define SEVEX_NODE_STIX_EXPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/json_value.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {

// Incident Core Extension (OASIS CTI, cti-stix-common-objects).
inline constexpr char kIncidentCoreExtension[] = "extension-definition--ef765651-680c-498d-9894-99799f2fa126";
// TLP 2.0 marking-definition extension (OASIS CTI).
inline constexpr char kTlp2Extension[] = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
// The sevex national-assessment extension, defined by an extension-definition in every bundle.
inline constexpr char kSevexAssessmentExtension[] =
    "extension-definition--4f0a6f1e-5c2b-5d8e-9a7c-3b1d2e4f6a80";
// The namespace of every UUIDv5 sevex derives.
inline constexpr char kSevexUuidNamespace[] = "b7d0c9a4-3e21-4f6b-8d5a-2c9e1f0a7b36";

// The node that produces the export: it is named as an identity, and its scheme is the one
// the translations are in.
struct ExportSource {
  std::string node_id;
  std::string scheme;
};

// RFC 4122 version 5 (SHA-1) UUID of `name` in the namespace `namespace_uuid` (text form);
// lower-case text. An ill-formed namespace is an error.
absl::StatusOr<std::string> UuidV5(absl::string_view namespace_uuid, absl::string_view name);

// The official STIX id of a TLP 2.0 marking, e.g. CLEAR -> "marking-definition--94868c89-…";
// empty for TLP_UNSPECIFIED.
std::string TlpMarkingId(v1::Marking::Tlp tlp);
// The TLP 2.0 marking-definition object itself, as OASIS publishes it.
JsonValue TlpMarkingDefinition(v1::Marking::Tlp tlp);

// One STIX 2.1 bundle for the notices in `entries` (inbox entries, any order, any number of
// revisions per notice; each notice exported at its latest revision). InvalidArgument when an
// entry has no origin or id, or no marking.
absl::StatusOr<JsonValue> StixBundle(const std::vector<v1::InboxEntry>& entries, const ExportSource& source);

// One flat JSON object per notice (its latest revision), in the order of first arrival.
absl::StatusOr<std::vector<JsonValue>> JsonLines(const std::vector<v1::InboxEntry>& entries,
                                                 const ExportSource& source);

}  // namespace sevex::node

#endif  // SEVEX_NODE_STIX_EXPORT_H_
