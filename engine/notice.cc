#include "engine/notice.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sevex::engine {
const std::vector<std::string>& RsitClasses() {
  static const auto* classes = new std::vector<std::string>{
      "abusive-content", "malicious-code", "information-gathering", "intrusion-attempts",
      "intrusions", "availability", "information-content-security", "fraud", "vulnerable",
      "other", "test"};
  return *classes;
}

absl::StatusOr<std::vector<v1::Notice>> NoticeReader::Parse(absl::string_view text, absl::string_view where) {
  if (text.size() > kMaxNoticeJsonBytes * 64) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": input is ", text.size(), " bytes; at most ",
                                                   kMaxNoticeJsonBytes * 64, " are read at once"));
  }
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": no notice in the input"));
  std::vector<v1::Notice> out;
  if (trimmed.front() == '[') {
    const absl::Status s = json_.ReadArray(trimmed, [&out](size_t) { return &out.emplace_back(); });
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
    return out;
  }
  // One object, or JSON lines: one object per non-empty line.
  const absl::Status whole = json_.Read(trimmed, &out.emplace_back());
  if (whole.ok()) return out;
  out.clear();
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (line.size() > kMaxNoticeJsonBytes) {
      return absl::InvalidArgumentError(absl::StrCat(where, ":", line_no, ": notice is larger than ", kMaxNoticeJsonBytes, " bytes"));
    }
    const absl::Status s = json_.Read(line, &out.emplace_back());
    if (!s.ok()) {
      // A single document that does not parse: report it as one.
      if (out.size() == 1 && line.size() + 2 >= trimmed.size()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", whole.message()));
      }
      return absl::InvalidArgumentError(absl::StrCat(where, ":", line_no, ": ", s.message()));
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::Notice>> ParseNotices(absl::string_view text, absl::string_view where) {
  NoticeReader reader;
  return reader.Parse(text, where);
}

bool IsNoticeId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == ':')) {
      return false;
    }
  }
  return true;
}

namespace {

absl::StatusOr<AttributeSet> Check(const AttributeRegistry& registry, const v1::Notice& notice, bool exchange) {
  std::vector<std::string> errors;
  // An id is a key in every node's store and in receipts; offline (classify, a policy diff's
  // corpus) it is only a label, and a corpus from another system keeps its own ids. Quoted with
  // its bytes escaped: it is what someone else wrote, and it goes to a terminal.
  if (exchange && !notice.id().empty() && !IsNoticeId(notice.id())) {
    errors.push_back(absl::StrCat("id '", absl::CHexEscape(notice.id().substr(0, 160)),
                                  notice.id().size() > 160 ? "…" : "",
                                  "' must be 1–128 letters, digits, '-', '.', '_' or ':' (a UUID)"));
  }
  const auto tlp = notice.marking().tlp();
  if (exchange && tlp == v1::Marking::TLP_UNSPECIFIED) {
    errors.push_back("marking.tlp is required (CLEAR, GREEN, AMBER, AMBER_STRICT or RED)");
  }
  const char* named = tlp == v1::Marking::AMBER          ? "TLP:AMBER"
                      : tlp == v1::Marking::AMBER_STRICT ? "TLP:AMBER+STRICT"
                      : tlp == v1::Marking::RED          ? "TLP:RED"
                                                         : nullptr;
  if (named != nullptr && notice.marking().recipients().empty()) {
    errors.push_back(absl::StrCat(named, " needs marking.recipients (the node ids it may reach)"));
  }
  if (named == nullptr && !notice.marking().recipients().empty()) {
    errors.push_back("marking.recipients applies to AMBER, AMBER_STRICT and RED only");
  }
  const auto& c = notice.classification().rsit_class();
  if (!c.empty()) {
    const auto& classes = RsitClasses();
    if (std::find(classes.begin(), classes.end(), c) == classes.end()) {
      errors.push_back(absl::StrCat("classification.rsit_class '", c, "' is not an RSIT class (one of: ",
                                    absl::StrJoin(classes, ", "), ")"));
    }
  }
  absl::StatusOr<AttributeSet> attrs = BindAttributes(registry, notice.attributes());
  if (!attrs.ok()) errors.emplace_back(attrs.status().message());
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return attrs;
}

}  // namespace

absl::StatusOr<AttributeSet> CheckNotice(const AttributeRegistry& registry, const v1::Notice& notice) {
  return Check(registry, notice, /*exchange=*/false);
}

absl::StatusOr<AttributeSet> CheckNoticeForExchange(const AttributeRegistry& registry, const v1::Notice& notice) {
  return Check(registry, notice, /*exchange=*/true);
}

}  // namespace sevex::engine
