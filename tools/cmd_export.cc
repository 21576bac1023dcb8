// sevex export — a node's inbox as STIX 2.1 or JSON lines, for MISP, OpenCTI and log shippers.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "node/api.h"
#include "node/config.h"
#include "node/stix_export.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace sevex::cli {

namespace {

const Command kExport{
    "export",
    "[--socket PATH | --config FILE] [--format stix|jsonl] [--id ORIGIN/ID] [--out FILE|-]",
    "Write the notices a node received as a STIX 2.1 bundle or as JSON lines.",
    "stix: one bundle with an incident per notice (its latest revision; a retraction revokes it),\n"
    "with the Incident Core Extension (criticality = the shared 0-100 score), the origin's and this\n"
    "node's assessments in the sevex extension, identities and TLP 2.0 marking definitions.\n"
    "jsonl: one flat JSON object per notice. --id ORIGIN/ID: that notice only. Ids are derived\n"
    "(UUIDv5), so exporting again gives the same objects. See docs/export.md.\n"
    "The node is found as for `sevex inbox`: --socket, else api_socket of --config, else $SEVEX_SOCKET.",
    {{"socket", "PATH", "the node's API socket (default: $SEVEX_SOCKET, else api_socket of --config)"},
     {"config", "FILE", "the node's configuration (textproto; docs/node.md)"},
     {"format", "stix|jsonl", "output format (default: stix)"},
     {"id", "ORIGIN/ID", "export one notice, e.g. cl.csirt/7b1e4c2a-5d3f-4a9e-b8c6-0f2d1e3a4b57"},
     {"out", "FILE|-", "write to FILE (default: standard output)"}},
    0};

}  // namespace

int RunExport(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kExport, argv);
  if (!args.ok()) return Fail(kExport.name, args.status());
  if (args->help) {
    std::cout << Usage(kExport);
    return kExitOk;
  }
  const std::string format = args->Get("format", "stix");
  if (format != "stix" && format != "jsonl") {
    return Fail(kExport.name,
                absl::InvalidArgumentError(absl::StrCat("--format '", format, "': use stix or jsonl")));
  }
  std::string origin, id;
  if (args->Has("id")) {
    const std::string want = args->Get("id");
    const size_t slash = want.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == want.size()) {
      return Fail(kExport.name, absl::InvalidArgumentError(absl::StrCat(
                                    "--id '", want, "': use ORIGIN/ID, e.g. cl.csirt/7b1e4c2a-…")));
    }
    origin = want.substr(0, slash);
    id = want.substr(slash + 1);
  }
  auto socket = SocketPath(*args);  // once: with --config, it reads and checks the configuration
  if (!socket.ok()) return Fail(kExport.name, socket.status());

  v1::ApiRequest status_request;
  status_request.mutable_status();
  auto status = CallNode(*socket, status_request);
  if (!status.ok()) return Fail(kExport.name, status.status());
  v1::ApiRequest inbox_request;
  inbox_request.mutable_inbox();
  auto inbox = CallNode(*socket, inbox_request);
  if (!inbox.ok()) return Fail(kExport.name, inbox.status());

  std::vector<v1::InboxEntry> entries;
  for (const auto& e : inbox->inbox()) {
    if (!origin.empty() && (e.notice().origin() != origin || e.notice().id() != id)) continue;
    entries.push_back(e);
  }
  if (!origin.empty() && entries.empty()) {
    return Fail(kExport.name,
                absl::NotFoundError(absl::StrCat("--id ", origin, "/", id, ": ", status->status().node_id(),
                                                 " has received no such notice (see sevex inbox)")));
  }
  const node::ExportSource source{status->status().node_id(), status->status().scheme()};
  std::string text;
  if (format == "stix") {
    auto bundle = node::StixBundle(entries, source);
    if (!bundle.ok()) return Fail(kExport.name, bundle.status());
    text = bundle->Write(2) + "\n";
  } else {
    auto lines = node::JsonLines(entries, source);
    if (!lines.ok()) return Fail(kExport.name, lines.status());
    for (const auto& l : *lines) absl::StrAppend(&text, l.Write(), "\n");
  }
  const std::string out = args->Get("out", "-");
  if (out == "-") {
    std::cout << text;
    return kExitOk;
  }
  std::ofstream file(out, std::ios::trunc);
  file << text;
  file.close();
  if (!file)
    return Fail(kExport.name, absl::InvalidArgumentError(absl::StrCat("--out ", out, ": cannot write")));
  return kExitOk;
}

}  // namespace sevex::cli
