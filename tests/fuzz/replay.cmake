# Included from tests/CMakeLists.txt in every build (any compiler): each fuzz harness linked with
# the standalone driver replay_main.cpp as fuzz_replay_<target>, and one ctest, fuzz_regressions,
# that replays tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/ for every target.
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
set(_gkd_fuzz_replays)
foreach(name IN LISTS GKD_FUZZ_TARGETS)
  add_executable(fuzz_replay_${name} ${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp
                                     ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp)
  gkd_fuzz_link(fuzz_replay_${name} ${name})
  list(APPEND _gkd_fuzz_replays $<TARGET_FILE:fuzz_replay_${name}>)
endforeach()
list(JOIN GKD_FUZZ_TARGETS "," _gkd_fuzz_names)
list(JOIN _gkd_fuzz_replays "," _gkd_fuzz_replays)
add_test(NAME fuzz_regressions
  COMMAND ${CMAKE_COMMAND} -DTARGETS=${_gkd_fuzz_names} -DEXES=${_gkd_fuzz_replays}
          -DDIR=${CMAKE_CURRENT_LIST_DIR} -P ${CMAKE_CURRENT_LIST_DIR}/replay_all.cmake)
set_tests_properties(fuzz_regressions PROPERTIES LABELS cpu)
