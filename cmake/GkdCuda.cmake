# CUDA detection. AUTO compiles and links the CUDA translation units whenever nvcc exists, even on
# a machine with no GPU (CI): the code must always build; the gpu tests then skip at run time.
set(GKD_WITH_CUDA OFF)
if(NOT GKD_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # Must precede enable_language(CUDA). Never "native": it fails to configure without a GPU.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)  # H100/H200; override with -DCMAKE_CUDA_ARCHITECTURES=...
    endif()
    enable_language(CUDA)
    # CMake 3.25 does not know nvcc 13's C++20 flag (GUIDE §9); teach it, so CUDA_STANDARD 20 is
    # honoured like the C++ one.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(GKD_WITH_CUDA ON)
  elseif(GKD_CUDA STREQUAL "ON")
    message(FATAL_ERROR "GKD_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()
message(STATUS "gkd: CUDA backend ${GKD_WITH_CUDA} (architectures: ${CMAKE_CUDA_ARCHITECTURES})")
