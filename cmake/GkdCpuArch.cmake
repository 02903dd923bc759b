# The CPU instruction set of the library. The CPU twins accumulate in double; with AVX2 + FMA
# (x86-64-v3) the float->double widening and the FMAs run 4 lanes wide instead of SSE2's 2, which
# is most of the CPU speed of SpMM and SDDMM, and AVX-512 (x86-64-v4) doubles that again for the
# conversions, the exp polynomials and Philox's 32x32-bit products. Default: the highest of the two
# this machine runs (checked by running a probe, so a build never produces a binary its own host
# cannot execute), else the compiler's baseline. Set -DGKD_CPU_ARCH= (empty) for a binary portable
# to any x86-64, or -DGKD_CPU_ARCH=x86-64-v3 for any AVX2 machine.
if(NOT DEFINED GKD_CPU_ARCH)
  set(arch "")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    try_run(run_ok compile_ok ${CMAKE_BINARY_DIR}/cpu_arch_probe
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/cpu_arch_probe.cpp
            RUN_OUTPUT_VARIABLE probed)
    if(compile_ok AND run_ok EQUAL 0)
      set(arch "${probed}")
    endif()
  endif()
  set(GKD_CPU_ARCH "${arch}" CACHE STRING "CPU -march for the library (empty: compiler default)")
endif()
if(NOT GKD_CPU_ARCH STREQUAL "")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-march=${GKD_CPU_ARCH}>)
endif()
# Eigen's GEMM blocks by its packet width (8 floats with AVX2, 16 with AVX-512), and the blocking
# sets where partial sums are rounded: a v4 build's GEMM would differ in the last bits from a v3
# build's, and so would every trained number. Eigen's products are a few percent of a step, so
# their file stays at v3 and both builds give the same bits (the other twins' loops, the narrow
# GEMMs of gemm_narrow.cpp included, keep their order at any width).
if(GKD_CPU_ARCH STREQUAL "x86-64-v4")
  # Source options come after the directory's on the command line, and the last -march wins.
  set_source_files_properties(${PROJECT_SOURCE_DIR}/kernels/cpu/gemm.cpp
                              PROPERTIES COMPILE_OPTIONS -march=x86-64-v3)
endif()
# No contraction of a*b+c into an FMA: with it the compiler fuses some call sites of an inline
# function and not others, so two paths meant to agree bit for bit (a backward with and without
# dx) would not, and results would differ between -march settings.
add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-ffp-contract=off>)
# Nothing reads the floating-point exception flags, so a select between computed values may run
# as a vector blend: under GCC's default -ftrapping-math a comparison counts as a possible trap and
# a loop with a select (ReLU, ELU, exp's range guards) stays scalar. Values are unchanged (no
# reassociation, no contraction); clang already assumes this.
add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fno-trapping-math>)
# Nothing reads errno after a math call either: with errno to set, a sqrt of a possibly negative
# value stays a scalar call, and Adam's update loop (sqrt of the second moment) stayed scalar.
# sqrt is correctly rounded either way, so values are unchanged.
add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fno-math-errno>)
message(STATUS "gkd: CPU architecture: ${GKD_CPU_ARCH}")
