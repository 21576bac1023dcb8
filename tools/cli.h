// cli.h — the small, explicit argument parser and shared plumbing of the `sevex` command.
//
// Each subcommand declares its options; `--help` on any of them prints its usage. Exit codes:
// 0 success, 2 bad input (the message says what and where), 1 internal failure.
#ifndef SEVEX_TOOLS_CLI_H_
#define SEVEX_TOOLS_CLI_H_

#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/catalog.h"
#include "google/protobuf/message.h"

namespace sevex::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

struct Option {
  std::string name;        // without the leading "--"
  std::string value_name;  // empty for a flag
  std::string help;
  bool hidden = false;  // not in --help: the node's test seams
};

struct Command {
  std::string name;      // "classify", "policy check"
  std::string synopsis;  // "--scheme ID [--format json|text] [FILE|-]"
  std::string summary;   // one line
  std::string details;   // more lines, may be empty
  std::vector<Option> options;
  int max_positional = 0;  // -1: any number
};

class Args {
 public:
  bool help = false;
  std::vector<std::string> positional;
  bool Has(absl::string_view name) const { return values_.contains(name); }
  std::string Get(absl::string_view name, absl::string_view fallback = "") const;
  void Set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }

 private:
  absl::flat_hash_map<std::string, std::string> values_;
};

// Parses argv (after the subcommand words). Unknown options and missing values are errors.
absl::StatusOr<Args> ParseArgs(const Command& command, const std::vector<std::string>& argv);
std::string Usage(const Command& command);

// Prints `status` to stderr as "sevex <command>: <message>" and returns its exit code.
int Fail(absl::string_view command, const absl::Status& status);
int ExitCodeFor(const absl::Status& status);

// The policy set: --policies DIR, else $SEVEX_POLICIES, else the copy embedded in the binary.
absl::StatusOr<engine::Catalog> LoadCatalog(const Args& args);
inline const Option kPoliciesOption{"policies", "DIR",
                                    "policy directory (default: $SEVEX_POLICIES, else the embedded copy)"};
inline const Option kFormatOption{"format", "json|text", "output format (default: text)"};

// Reads FILE, or standard input for "-" or no argument; bounded.
absl::StatusOr<std::string> ReadInput(const std::vector<std::string>& positional, std::string* where);

// The output format named by --format: "json" or "text".
absl::StatusOr<std::string> OutputFormat(const Args& args);

// Proto → JSON with proto field names; `pretty` adds indentation.
std::string ToJson(const google::protobuf::Message& message, bool pretty);

}  // namespace sevex::cli

#endif  // SEVEX_TOOLS_CLI_H_
