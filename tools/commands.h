// commands.h — the subcommands of `sevex`. Each takes the words after its name and returns
// the process exit code.
#ifndef SEVEX_TOOLS_COMMANDS_H_
#define SEVEX_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sevex/v1/assessment.pb.h"
#include "sevex/v1/node.pb.h"
#include "tools/cli.h"

namespace sevex::cli {

int RunClassify(const std::vector<std::string>& argv);
int RunTranslate(const std::vector<std::string>& argv);
int RunPolicy(const std::vector<std::string>& argv);
int RunAttributes(const std::vector<std::string>& argv);
int RunPki(const std::vector<std::string>& argv);
int RunBench(const std::vector<std::string>& argv);
int RunNode(const std::vector<std::string>& argv);
int RunSubmit(const std::vector<std::string>& argv);
int RunInbox(const std::vector<std::string>& argv);
int RunOutbox(const std::vector<std::string>& argv);
int RunStatus(const std::vector<std::string>& argv);
int RunExport(const std::vector<std::string>& argv);
int RunDemo(const std::vector<std::string>& argv);

// The node's API socket for the node commands (submit, inbox, outbox, status, export): --socket,
// else api_socket of --config, else $SEVEX_SOCKET.
absl::StatusOr<std::string> SocketPath(const Args& args);

// One request to that node. A node that has not answered within $SEVEX_API_TIMEOUT seconds
// (default 60; for `submit --wait`, plus its wait) fails the call: a stopped or wedged node
// must not hang the operator's command.
absl::StatusOr<v1::ApiResponse> CallNode(const Args& args, const v1::ApiRequest& request);
// The same, to the node at `socket` (from SocketPath), for a command that makes several calls.
absl::StatusOr<v1::ApiResponse> CallNode(const std::string& socket, const v1::ApiRequest& request);

// Text renderings for people.
std::string AssessmentText(const v1::Assessment& a);
std::string TranslationText(const v1::Translation& t);

}  // namespace sevex::cli

#endif  // SEVEX_TOOLS_COMMANDS_H_
