// commands.h — the subcommands of `sevex`. Each takes the words after its name and returns
// the process exit code.
#ifndef SEVEX_TOOLS_COMMANDS_H_
#define SEVEX_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

#include "sevex/v1/assessment.pb.h"

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

// Text renderings for people.
std::string AssessmentText(const v1::Assessment& a);
std::string TranslationText(const v1::Translation& t);

}  // namespace sevex::cli

#endif  // SEVEX_TOOLS_COMMANDS_H_
