// The operator's commands of the kv2pc CLI (docs/recovery.md, docs/fail-points.md):
//
//   kv2pc failpoint list                     the catalogue: every fail point and its meaning
//   kv2pc failpoint NODE                     the points armed at NODE (hits, held)
//   kv2pc failpoint NODE NAME ACTION         arm (or `off`) a point at NODE
//   kv2pc outcome TXN                        COMMITTED / ABORTED / PENDING / UNKNOWN, from the
//                                            coordinator that ran TXN
//   kv2pc in-doubt [NODE...]                 PREPARED transactions waiting for a decision
//   kv2pc resolve TXN commit|abort --force [NODE...]
//                                            a heuristic decision where TXN is in doubt
//
// Each returns the exit status (cli_options.h) and prints errors as "error: ..." on `err`.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "client/cli_options.h"

namespace kv2pc {

int FailPointCommand(const std::vector<std::string>& args, const CliFlags& flags,
                     const CliEnvironment& env, std::ostream& out, std::ostream& err);
int OutcomeCommand(const std::vector<std::string>& args, const CliFlags& flags,
                   const CliEnvironment& env, std::ostream& out, std::ostream& err);
int InDoubtCommand(const std::vector<std::string>& args, const CliFlags& flags,
                   const CliEnvironment& env, std::ostream& out, std::ostream& err);
int ResolveCommand(const std::vector<std::string>& args, const CliFlags& flags,
                   const CliEnvironment& env, std::ostream& out, std::ostream& err);

}  // namespace kv2pc
