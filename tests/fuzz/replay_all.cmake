# cmake -DTARGETS=a,b -DEXES=exe_a,exe_b -DDIR=tests/fuzz -P replay_all.cmake: runs each replay
# executable over DIR/corpus/<target> and DIR/regressions/<target>; fails when any of them fails.
string(REPLACE "," ";" TARGETS "${TARGETS}")
string(REPLACE "," ";" EXES "${EXES}")
set(failed)
foreach(name exe IN ZIP_LISTS TARGETS EXES)
  execute_process(COMMAND ${exe} ${DIR}/corpus/${name} ${DIR}/regressions/${name}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX MATCH "replay: [0-9]+ input\\(s\\), [0-9]+ failure\\(s\\)" summary "${err}")
  message(STATUS "fuzz_replay_${name}: ${summary} (exit ${rc})")
  if(NOT rc EQUAL 0)
    message("${err}")
    list(APPEND failed ${name})
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "fuzz regressions failed for: ${failed}")
endif()
