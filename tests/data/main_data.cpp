// Main of the data suite: runs against ../shared/data (GKD_DATA_DIR). When the folder is absent the
// suite is skipped (exit 77), saying so.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

int main(int argc, char** argv) {
  const char* dir = std::getenv("GKD_DATA_DIR");
  if (dir == nullptr || !std::filesystem::is_directory(dir)) {
    std::printf("data folder %s is absent: skipping the data suite\n",
                dir ? dir : "(GKD_DATA_DIR unset)");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
