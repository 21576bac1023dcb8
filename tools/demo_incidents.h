// demo_incidents.h — the scripted incidents of `sevex demo`: examples/demo/*.json, compiled
// into the binary (tools/embed_demo.cmake) so the demo runs from any directory.
#ifndef SEVEX_TOOLS_DEMO_INCIDENTS_H_
#define SEVEX_TOOLS_DEMO_INCIDENTS_H_

#include <string>
#include <vector>

namespace sevex::cli {

struct DemoFile {
  std::string name;  // file name under examples/demo/, e.g. "01-au-water-utility-ransomware.json"
  std::string json;  // one notice (JSON), with "origin" naming the demo node that submits it
};

// In file-name order: the order the demo submits them in (a revision after its original).
const std::vector<DemoFile>& EmbeddedDemoIncidents();

}  // namespace sevex::cli

#endif  // SEVEX_TOOLS_DEMO_INCIDENTS_H_
