// sevex — the command of the sevex severity-exchange engine.
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "tools/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: sevex <command> [options]   (sevex <command> --help for each)\n"
    "\n"
    "Incident severity across national schemes.\n"
    "\n"
    "commands:\n"
    "  classify     assess notices under a national scheme\n"
    "  translate    express a level or a notice in another scheme\n"
    "  policy       check scheme policies\n"
    "  attributes   list the attribute registry notices are written in\n"
    "  pki          a development certificate authority and node certificates\n"
    "  node         run a national node\n"
    "  submit       submit notices to the local node\n"
    "  inbox        what the local node received, in its own scheme\n"
    "  outbox       per peer: what waits to be delivered\n"
    "  status       the local node's identity, counts and peers\n"
    "  export       the local node's inbox as STIX 2.1 or JSON lines\n"
    "  demo         five national nodes on 127.0.0.1 exchange scripted incidents\n"
    "  bench        measure: transport and node throughput and latency\n"
    "\n"
    "exit codes: 0 success, 2 bad input (the message says what and where), 1 internal failure\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? sevex::cli::kExitBadInput : sevex::cli::kExitOk;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "classify") return sevex::cli::RunClassify(rest);
  if (command == "translate") return sevex::cli::RunTranslate(rest);
  if (command == "policy") return sevex::cli::RunPolicy(rest);
  if (command == "attributes") return sevex::cli::RunAttributes(rest);
  if (command == "pki") return sevex::cli::RunPki(rest);
  if (command == "bench") return sevex::cli::RunBench(rest);
  if (command == "node") return sevex::cli::RunNode(rest);
  if (command == "submit") return sevex::cli::RunSubmit(rest);
  if (command == "inbox") return sevex::cli::RunInbox(rest);
  if (command == "outbox") return sevex::cli::RunOutbox(rest);
  if (command == "status") return sevex::cli::RunStatus(rest);
  if (command == "export") return sevex::cli::RunExport(rest);
  if (command == "demo") return sevex::cli::RunDemo(rest);
  std::cerr << "sevex: unknown command '" << command << "'\n\n" << kUsage;
  return sevex::cli::kExitBadInput;
}
