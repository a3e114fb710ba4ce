# `cmake --install`: the public headers, libpit.a and a CMake package, so that a user's
# project needs only
#   find_package(pit REQUIRED)
#   target_link_libraries(app PRIVATE pit::pit)
# (examples/standalone; tests/packaging checks it against an installed copy.)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Inside a user's project pit is linked into their programs: installing its headers and
# archive with them would be noise, so the rules are off there unless asked for.
option(PIT_INSTALL "Add pit's install rules" ${PROJECT_IS_TOP_LEVEL})
if(NOT PIT_INSTALL)
  return()
endif()

set(pit_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/pit)

install(TARGETS pit pit_testing EXPORT pitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/pit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT pitTargets NAMESPACE pit:: DESTINATION ${pit_cmake_dir})

# pitConfig.cmake finds pit's own dependencies again; it needs the exact Boost version pit
# was built with (Asio and Beast are compiled into libpit, their headers must match).
set(PIT_BOOST_VERSION ${Boost_VERSION})
configure_package_config_file(cmake/pitConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/pitConfig.cmake
                              INSTALL_DESTINATION ${pit_cmake_dir})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/pitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/pitConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/pitConfigVersion.cmake
        DESTINATION ${pit_cmake_dir})
