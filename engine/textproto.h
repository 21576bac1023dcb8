// textproto.h — reading policy data files (textproto) with locations for every field.
//
//   ASSIGN_OR_RETURN(auto file, TextProtoFile::Parse(text, "schemes/au-asd.textproto", &policy));
//   SourceLocation at = file.Locate(file.root(), policy, "level", 2);
#ifndef SEVEX_ENGINE_TEXTPROTO_H_
#define SEVEX_ENGINE_TEXTPROTO_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "engine/source_location.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

namespace sevex::engine {

// A parsed textproto file and the location of each field in it. Not copyable (the tree is
// owned); move-only.
class TextProtoFile {
 public:
  using Tree = google::protobuf::TextFormat::ParseInfoTree;

  // Parses `text` into `out`. Syntax errors, unknown fields and wrong value types come back as
  // InvalidArgument with every error as "file:line:col: message" on its own line.
  static absl::StatusOr<TextProtoFile> Parse(absl::string_view text, std::string file,
                                             google::protobuf::Message* out);

  const std::string& file() const { return file_; }
  const Tree* root() const { return tree_.get(); }

  // The tree of the `index`-th value of message field `field` of `msg` (index -1 for a
  // singular field), or nullptr.
  const Tree* Nested(const Tree* tree, const google::protobuf::Message& msg,
                     absl::string_view field, int index = -1) const;

  // Where field `field` of `msg` starts (index -1 for a singular field). Falls back to the
  // file alone when the tree does not know.
  SourceLocation Locate(const Tree* tree, const google::protobuf::Message& msg,
                        absl::string_view field, int index = -1) const;

  // Where the first character of string field `field`'s value `value` stands, so that an error
  // at offset k of the value points at column + k. Falls back to Locate() when the value is not
  // written as one plain literal on one line.
  SourceLocation LocateStringContent(const Tree* tree, const google::protobuf::Message& msg,
                                     absl::string_view field, int index,
                                     absl::string_view value) const;

 private:
  TextProtoFile() = default;
  std::string file_;
  std::vector<std::string> lines_;
  std::unique_ptr<Tree> tree_;
};

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_TEXTPROTO_H_
