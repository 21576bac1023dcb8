#include "engine/notice.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"

namespace sevex::engine {
namespace {

absl::StatusOr<v1::Notice> ParseOne(absl::string_view json, absl::string_view where) {
  v1::Notice notice;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &notice, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not a valid notice: ", status.message().ToString()));
  }
  return notice;
}

}  // namespace

const std::vector<std::string>& RsitClasses() {
  static const auto* classes = new std::vector<std::string>{
      "abusive-content", "malicious-code", "information-gathering", "intrusion-attempts",
      "intrusions", "availability", "information-content-security", "fraud", "vulnerable",
      "other", "test"};
  return *classes;
}

absl::StatusOr<std::vector<v1::Notice>> ParseNotices(absl::string_view text, absl::string_view where) {
  if (text.size() > kMaxNoticeJsonBytes * 64) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": input is ", text.size(), " bytes; at most ",
                                                   kMaxNoticeJsonBytes * 64, " are read at once"));
  }
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": no notice in the input"));
  std::vector<v1::Notice> out;
  if (trimmed.front() == '[') {
    // An array: parse it as a ListValue first, then each element as a notice.
    google::protobuf::ListValue list;
    const auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(trimmed.data(), trimmed.size()), &list);
    if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": not a JSON array of notices: ", status.message().ToString()));
    for (int i = 0; i < list.values_size(); ++i) {
      std::string element;
      (void)google::protobuf::util::MessageToJsonString(list.values(i), &element);
      auto n = ParseOne(element, absl::StrCat(where, "[", i, "]"));
      if (!n.ok()) return n.status();
      out.push_back(std::move(n).value());
    }
    return out;
  }
  // One object, or JSON lines.
  auto whole = ParseOne(trimmed, where);
  if (whole.ok()) {
    out.push_back(std::move(whole).value());
    return out;
  }
  int line_no = 0;
  int objects = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    ++objects;
    if (line.size() > kMaxNoticeJsonBytes) {
      return absl::InvalidArgumentError(absl::StrCat(where, ":", line_no, ": notice is larger than ", kMaxNoticeJsonBytes, " bytes"));
    }
    auto n = ParseOne(line, absl::StrCat(where, ":", line_no));
    if (!n.ok()) return objects == 1 ? whole.status() : n.status();
    out.push_back(std::move(n).value());
  }
  return out;
}

absl::StatusOr<AttributeSet> CheckNotice(const AttributeRegistry& registry, const v1::Notice& notice) {
  std::vector<std::string> errors;
  const auto& c = notice.classification().rsit_class();
  if (!c.empty()) {
    const auto& classes = RsitClasses();
    if (std::find(classes.begin(), classes.end(), c) == classes.end()) {
      errors.push_back(absl::StrCat("classification.rsit_class '", c, "' is not an RSIT class (one of: ",
                                    absl::StrJoin(classes, ", "), ")"));
    }
  }
  const auto tlp = notice.marking().tlp();
  const bool named = tlp == v1::Marking::AMBER || tlp == v1::Marking::AMBER_STRICT || tlp == v1::Marking::RED;
  if (tlp == v1::Marking::RED && notice.marking().recipients().empty()) {
    errors.push_back("marking TLP:RED needs `recipients`: the named recipients");
  }
  if (!named && !notice.marking().recipients().empty()) {
    errors.push_back("marking.recipients applies to AMBER, AMBER_STRICT and RED only");
  }
  absl::StatusOr<AttributeSet> attrs = BindAttributes(registry, notice.attributes());
  if (!attrs.ok()) errors.emplace_back(attrs.status().message());
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return attrs;
}

}  // namespace sevex::engine
