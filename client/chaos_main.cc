// kv2pc-chaos: a bank workload on a scratch cluster while a nemesis kills and restarts nodes,
// then the invariant checks (client/chaos.h). scripts/chaos.sh builds the project and runs it.
#include <iostream>
#include <string>
#include <vector>

#include "client/chaos.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return kv2pc::ChaosCommand(args, std::cout, std::cerr);
}
