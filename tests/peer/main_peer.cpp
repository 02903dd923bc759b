// Main of the peer suite: argv[1] is the folder torch_peer.py wrote.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

namespace gkd_peer {
void set_case_dir(const std::string& dir);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: test_peer CASE_DIR [doctest options]\n");
    return 2;
  }
  gkd_peer::set_case_dir(argv[1]);
  doctest::Context context(argc - 1, argv + 1);
  return context.run();
}
