# Builds and runs examples/standalone, a user's project, against pit the two ways a user
# gets it (cmake -P; registered as packaging_* in tests/CMakeLists.txt):
#   MODE=installed     `cmake --install` of the enclosing build into a fresh prefix, then
#                      find_package(pit) through CMAKE_PREFIX_PATH;
#   MODE=fetchcontent  FetchContent (add_subdirectory) of pit's sources, which must build
#                      only the library there.
# Then `notes --self-check` must pass: the program serves and calls itself over HTTP; and
# (installed) notes_test, the user's test with pit::testing (the conformance kit) and GoogleTest.
# Each run starts from an empty WORK_DIR (nothing left over can hide a broken package) at
# a stable path (so ccache hits from the previous run). The consumer is built with the
# enclosing build's compiler and base flags, unoptimized: this tests the packaging, the
# rest of the suite tests the code.
#
# Inputs: MODE SOURCE_DIR BINARY_DIR WORK_DIR GENERATOR CXX CXX_FLAGS LINKER_FLAGS LAUNCHER
#         DEFINITIONS (the definitions users must be compiled with, comma-separated)
foreach(v MODE SOURCE_DIR BINARY_DIR WORK_DIR GENERATOR CXX)
  if(NOT ${v})
    message(FATAL_ERROR "standalone.cmake: -D${v}=... is required")
  endif()
endforeach()

string(TIMESTAMP t0 "%s")
cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)

function(step what)
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 900)
  string(TIMESTAMP end "%s")
  math(EXPR took "${end} - ${start}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what}: FAILED (${rc}) after ${took}s\n${out}")
  endif()
  message(STATUS "${what}: ${took}s")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(build ${WORK_DIR}/build)
set(configure ${CMAKE_COMMAND} -G ${GENERATOR} -B ${build} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE= "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
if(LAUNCHER)
  list(APPEND configure -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()

if(MODE STREQUAL "installed")
  set(prefix ${WORK_DIR}/prefix)
  step("cmake --install into ${prefix}" ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
  step("configure examples/standalone (find_package)"
       ${configure} -S ${SOURCE_DIR}/examples/standalone -DCMAKE_PREFIX_PATH=${prefix})
  # The pit found must be the one just installed, not one elsewhere on the machine.
  file(STRINGS ${build}/CMakeCache.txt pit_dir REGEX "^pit_DIR:")
  if(NOT pit_dir STREQUAL "pit_DIR:PATH=${prefix}/lib/cmake/pit")
    message(FATAL_ERROR "find_package(pit) took ${pit_dir}, not the installed ${prefix}/lib/cmake/pit")
  endif()
elseif(MODE STREQUAL "fetchcontent")
  # What a user with pit in their tree writes; SOURCE_DIR stands for the download.
  # OVERRIDE_FIND_PACKAGE: examples/standalone's find_package(pit) takes this pit, so the
  # template is built unchanged.
  file(WRITE ${WORK_DIR}/project/CMakeLists.txt "
cmake_minimum_required(VERSION 3.25)
project(notes_with_pit_inside LANGUAGES CXX)
include(FetchContent)
FetchContent_Declare(pit SOURCE_DIR \"${SOURCE_DIR}\" OVERRIDE_FIND_PACKAGE)
FetchContent_MakeAvailable(pit)
get_property(pit_subdirectories DIRECTORY \"\${pit_SOURCE_DIR}\" PROPERTY SUBDIRECTORIES)
if(pit_subdirectories OR PIT_INSTALL)
  message(FATAL_ERROR \"pit inside a user's project must build only its library, without install rules; it added: \${pit_subdirectories}\")
endif()
# The user's test (notes_test) is built in the installed mode only: the kit inside a
# user's tree is the same target pit's own tests link, and building it again here would
# only cost time.
set(CMAKE_DISABLE_FIND_PACKAGE_GTest TRUE)
add_subdirectory(\"${SOURCE_DIR}/examples/standalone\" standalone)
")
  step("configure examples/standalone with pit inside (FetchContent)" ${configure} -S ${WORK_DIR}/project)
else()
  message(FATAL_ERROR "standalone.cmake: MODE is installed or fetchcontent, not '${MODE}'")
endif()

step("build" ${CMAKE_COMMAND} --build ${build} --parallel ${jobs})

# pit's public compile definitions (Asio and Beast compiled separately, in libpit; see
# DEFINITIONS in tests/CMakeLists.txt) and C++20 must reach the user's code through
# pit::pit alone.
file(READ ${build}/compile_commands.json commands)
string(REGEX MATCH "\"command\": \"[^\"]*examples/standalone/main.cpp\"" main_command "${commands}")
if(NOT main_command)
  message(FATAL_ERROR "no compile command for examples/standalone/main.cpp in ${build}/compile_commands.json")
endif()
string(REPLACE "," ";" definitions "${DEFINITIONS}")
foreach(required IN LISTS definitions ITEMS "-std=gnu\\+\\+20|-std=c\\+\\+20")
  if(required STREQUAL "")
    continue()
  elseif(NOT required MATCHES "^-std")
    set(required "-D${required}( |$)")
  endif()
  if(NOT main_command MATCHES "${required}")
    message(FATAL_ERROR "the user's main.cpp is compiled without ${required}:\n${main_command}")
  endif()
endforeach()

if(EXISTS ${build}/standalone/notes)
  set(notes ${build}/standalone/notes)
else()
  set(notes ${build}/notes)
endif()
step("notes --self-check" ${notes} --self-check)
message(STATUS "${step_output}")

# The user's test of their service, against the installed package: pit::testing (the
# conformance kit) with GoogleTest, built above with the program.
if(MODE STREQUAL "installed")
  if(NOT EXISTS ${build}/notes_test)
    message(FATAL_ERROR "examples/standalone built no notes_test: GoogleTest not found, or pit::testing not usable")
  endif()
  step("notes_test (pit::testing and GoogleTest)" ${build}/notes_test)
  string(REGEX MATCH "\\[ pit kit  \\] [0-9]+ passed, 0 failed, [0-9]+ skipped" kit_counts "${step_output}")
  if(NOT kit_counts)
    message(FATAL_ERROR "notes_test did not report the kit's results:\n${step_output}")
  endif()
  message(STATUS "${kit_counts}")
endif()
string(TIMESTAMP t1 "%s")
math(EXPR total "${t1} - ${t0}")
message(STATUS "packaging (${MODE}): passed in ${total}s")
