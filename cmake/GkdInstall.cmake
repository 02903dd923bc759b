# `cmake --install` layout: the static library, every public header under include/gkd/ (the
# engine's own "engine/tensor.h"-style include paths are kept, so include/gkd is on the include
# path too), the umbrella header <gkd/gkd.h>, and a CMake package: find_package(gkd) gives gkd::gkd
# with its link dependencies (OpenMP, zlib, fmt, and the CUDA libraries when the backend was built).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

configure_file(cmake/version.h.in ${CMAKE_BINARY_DIR}/generated/include/gkd/version.h @ONLY)
target_include_directories(gkd PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/generated/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/gkd>)

foreach(dir engine engine/io kernels autograd models distill)
  file(GLOB headers RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/${dir}/*.h)
  install(FILES ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gkd/${dir})
endforeach()
install(FILES kernels/kernels.def DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gkd/kernels)
install(FILES include/gkd/gkd.h ${CMAKE_BINARY_DIR}/generated/include/gkd/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gkd)

install(TARGETS gkd EXPORT gkdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(GKD_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gkd)
install(EXPORT gkdTargets NAMESPACE gkd:: DESTINATION ${GKD_PACKAGE_DIR})
configure_package_config_file(cmake/gkdConfig.cmake.in ${CMAKE_BINARY_DIR}/gkdConfig.cmake
                              INSTALL_DESTINATION ${GKD_PACKAGE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/gkdConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/gkdConfig.cmake ${CMAKE_BINARY_DIR}/gkdConfigVersion.cmake
        DESTINATION ${GKD_PACKAGE_DIR})
