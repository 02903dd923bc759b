# The fuzz targets and what each harness links; shared by CMakeLists.txt (libFuzzer builds) and
# replay.cmake (the regression replays of every build).
set(GKD_FUZZ_TARGETS npy npz tu ogb ppi checkpoint config)

function(gkd_fuzz_link target name)
  if(name STREQUAL "checkpoint" OR name STREQUAL "config")
    target_link_libraries(${target} PRIVATE gkd_cli_core ZLIB::ZLIB nlohmann_json::nlohmann_json)
  else()
    target_link_libraries(${target} PRIVATE gkd ZLIB::ZLIB)
  endif()
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()
