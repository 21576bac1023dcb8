// notice.h — reading and checking notices from JSON (untrusted input).
//
//   ASSIGN_OR_RETURN(std::vector<v1::Notice> notices, ParseNotices(text, "incident.json"));
//   ASSIGN_OR_RETURN(AttributeSet attrs, CheckNotice(catalog.registry(), notices[0]));
#ifndef SEVEX_ENGINE_NOTICE_H_
#define SEVEX_ENGINE_NOTICE_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "engine/attribute_set.h"
#include "engine/json_reader.h"
#include "engine/registry.h"
#include "sevex/v1/notice.pb.h"

namespace sevex::engine {

inline constexpr size_t kMaxNoticeJsonBytes = 1 << 20;
// The highest revision a notice may have: far beyond any real thread of revisions, and low
// enough that "the next revision" (one more) never wraps a uint32.
inline constexpr uint32_t kMaxRevision = 2147483647;  // 2^31 - 1

// Reads notices from JSON: one notice object, a JSON array of notices, or JSON lines (one
// object per line). Field names are the proto names (snake_case) or their lowerCamel JSON
// names; unknown fields are errors. Each error names `where`, the notice's position in an
// array or its line, and the field. Keeps its parser's buffers between calls: reuse one
// reader for a stream of inputs. Not thread-safe.
class NoticeReader {
 public:
  absl::StatusOr<std::vector<v1::Notice>> Parse(absl::string_view text, absl::string_view where);

 private:
  JsonReader json_;
};

// One-shot convenience over NoticeReader.
absl::StatusOr<std::vector<v1::Notice>> ParseNotices(absl::string_view text, absl::string_view where);

// Checks what the schema cannot, about the notice itself: the id's syntax when it has one (see
// IsNoticeId), the RSIT class, the marking's recipients (AMBER, AMBER+STRICT and RED name them;
// CLEAR and GREEN must not), attributes against the registry. Returns the bound attributes.
// `sevex classify` and a node's submission refuse a notice with these same words.
absl::StatusOr<AttributeSet> CheckNotice(const AttributeRegistry& registry, const v1::Notice& notice);

// CheckNotice, and what a notice needs to be exchanged: a TLP marking. (Origin, revision and
// the revision's place in the notice's history are checked by the node that takes it.)
absl::StatusOr<AttributeSet> CheckNoticeForExchange(const AttributeRegistry& registry, const v1::Notice& notice);

// A notice id: 1–128 letters, digits, '-', '.', '_' or ':' (a UUID is one).
bool IsNoticeId(absl::string_view id);

// The RSIT classes (TF-CSIRT / ENISA Reference Security Incident Taxonomy).
const std::vector<std::string>& RsitClasses();

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_NOTICE_H_
