#include "engine/textproto.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/tokenizer.h"

namespace sevex::engine {
namespace {

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectErrors(const std::string& file) : file_(file) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    SourceLocation at{file_, line + 1, column + 1};
    errors_.push_back(absl::StrCat(at.ToString(), ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  const std::string& file_;
  std::vector<std::string> errors_;
};

const google::protobuf::FieldDescriptor* FieldOf(const google::protobuf::Message& msg,
                                                 absl::string_view field) {
  return msg.GetDescriptor()->FindFieldByName(std::string(field));
}

}  // namespace

absl::StatusOr<TextProtoFile> TextProtoFile::Parse(absl::string_view text, std::string file,
                                                   google::protobuf::Message* out) {
  TextProtoFile parsed;
  parsed.file_ = std::move(file);
  parsed.tree_ = std::make_unique<Tree>();
  for (absl::string_view line : absl::StrSplit(text, '\n')) parsed.lines_.emplace_back(line);

  CollectErrors errors(parsed.file_);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(parsed.tree_.get());
  google::protobuf::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  if (!parser.Parse(&input, out) || !errors.errors().empty()) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(parsed.file_, ": cannot parse"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  return parsed;
}

const TextProtoFile::Tree* TextProtoFile::Nested(const Tree* tree,
                                                 const google::protobuf::Message& msg,
                                                 absl::string_view field, int index) const {
  const auto* fd = FieldOf(msg, field);
  if (tree == nullptr || fd == nullptr) return nullptr;
  return tree->GetTreeForNested(fd, index);
}

SourceLocation TextProtoFile::Locate(const Tree* tree, const google::protobuf::Message& msg,
                                     absl::string_view field, int index) const {
  const auto* fd = FieldOf(msg, field);
  if (tree == nullptr || fd == nullptr) return SourceLocation{file_, 0, 0};
  const auto loc = tree->GetLocation(fd, index);
  if (loc.line < 0) return SourceLocation{file_, 0, 0};
  return SourceLocation{file_, loc.line + 1, loc.column + 1};
}

SourceLocation TextProtoFile::LocateStringContent(const Tree* tree,
                                                  const google::protobuf::Message& msg,
                                                  absl::string_view field, int index,
                                                  absl::string_view value) const {
  SourceLocation at = Locate(tree, msg, field, index);
  if (at.line <= 0 || at.line > static_cast<int>(lines_.size())) return at;
  // The recorded location may be the field name or the value; find the literal after it.
  const std::string& line = lines_[at.line - 1];
  for (char quote : {'"', '\''}) {
    const std::string literal = absl::StrCat(std::string(1, quote), value, std::string(1, quote));
    const size_t pos = line.find(literal, static_cast<size_t>(at.column - 1));
    if (pos != std::string::npos) {
      at.column = static_cast<int>(pos) + 2;
      return at;
    }
  }
  return at;
}

}  // namespace sevex::engine
