#include "tools/cli.h"

#include <cstdlib>
#include <iostream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "embedded_policies.h"
#include "google/protobuf/util/json_util.h"

namespace sevex::cli {

std::string Args::Get(absl::string_view name, absl::string_view fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string(fallback) : it->second;
}

std::string Usage(const Command& command) {
  std::string out = absl::StrCat("usage: sevex ", command.name, " ", command.synopsis, "\n\n", command.summary, "\n");
  if (!command.details.empty()) absl::StrAppend(&out, "\n", command.details, "\n");
  if (!command.options.empty()) absl::StrAppend(&out, "\noptions:\n");
  for (const Option& o : command.options) {
    if (o.hidden) continue;
    std::string left = absl::StrCat("  --", o.name, o.value_name.empty() ? "" : absl::StrCat(" ", o.value_name));
    if (left.size() < 28) left.resize(28, ' ');
    absl::StrAppend(&out, left, " ", o.help, "\n");
  }
  absl::StrAppend(&out, "  --help                       this text\n");
  return out;
}

absl::StatusOr<Args> ParseArgs(const Command& command, const std::vector<std::string>& argv) {
  Args args;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a == "-" || !absl::StartsWith(a, "--")) {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help") {
      args.help = true;
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const Option* spec = nullptr;
    for (const Option& o : command.options) {
      if (o.name == name) spec = &o;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name, " (see sevex ", command.name, " --help)"));
    }
    if (spec->value_name.empty()) {
      if (value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      args.Set(name, "true");
      continue;
    }
    if (!value) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value: ", spec->value_name));
      }
      value = argv[++i];
    }
    args.Set(name, *value);
  }
  if (command.max_positional >= 0 && static_cast<int>(args.positional.size()) > command.max_positional) {
    return absl::InvalidArgumentError(absl::StrCat("too many arguments (see sevex ", command.name, " --help)"));
  }
  return args;
}

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return kExitBadInput;
    default:
      return kExitInternal;
  }
}

int Fail(absl::string_view command, const absl::Status& status) {
  std::cerr << "sevex " << command << ": " << status.message() << "\n";
  return ExitCodeFor(status);
}

absl::StatusOr<engine::Catalog> LoadCatalog(const Args& args) {
  std::string dir = args.Get("policies");
  if (dir.empty()) {
    if (const char* env = std::getenv("SEVEX_POLICIES"); env != nullptr && *env != '\0') dir = env;
  }
  if (dir.empty()) return engine::Catalog::Load(policies::Embedded(), "embedded:policies");
  auto files = engine::ReadPolicyDirectory(dir);
  if (!files.ok()) return files.status();
  return engine::Catalog::Load(*files, dir);
}

absl::StatusOr<std::string> ReadInput(const std::vector<std::string>& positional, std::string* where) {
  constexpr size_t kMaxInput = 64 << 20;
  if (positional.empty() || positional[0] == "-") {
    *where = "<stdin>";
    std::string text;
    char buf[65536];
    while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
      text.append(buf, std::cin.gcount());
      if (text.size() > kMaxInput) {
        return absl::InvalidArgumentError(absl::StrCat("<stdin>: more than ", kMaxInput, " bytes"));
      }
    }
    return text;
  }
  *where = positional[0];
  return engine::ReadFileBounded(positional[0], kMaxInput);
}

absl::StatusOr<std::string> OutputFormat(const Args& args) {
  const std::string f = args.Get("format", "text");
  if (f != "json" && f != "text") {
    return absl::InvalidArgumentError(absl::StrCat("--format ", f, ": expected json or text"));
  }
  return f;
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!pretty) return out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace sevex::cli
