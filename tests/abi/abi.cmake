# SPDX-License-Identifier: MIT
# The plugin ABI's promises, checked at build time and by ctest:
#  - headertest: include/relhost/plugin.h compiles alone as strict C11 (and C++11 when a C++
#    compiler exists), so a plugin author needs nothing but the header;
#  - plugin-1.0.h is the frozen 1.0 header: its bytes never change (abi_frozen_header);
#  - abi_layout: every 1.0 member, embedded struct and constant keeps its 1.0 offset, size and
#    value in the current header;
#  - abi_prefix: every 1.0 declaration is still there, word for word (signatures and types too,
#    which offsets cannot see), with new members only after the old ones;
#  - abi10_gate: a gate built only against the frozen header, in <build>/test-plugins/abi10,
#    must load and run in this host (abi_plan_abi10).
set(_abi_dir ${CMAKE_CURRENT_LIST_DIR})
set(_abi_strict -std=c11 -pedantic -Wall -Wextra -Werror)

add_library(relhost_headertest OBJECT ${PROJECT_SOURCE_DIR}/tests/headertest.c)
target_include_directories(relhost_headertest PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(relhost_headertest PRIVATE ${_abi_strict})
# As a plugin author compiles it: without the project's -D_GNU_SOURCE, which could hide a
# declaration the header uses but does not include (flags come after -D on the command line).
target_compile_options(relhost_headertest PRIVATE -U_GNU_SOURCE)

# A C++ plugin must be able to include the header too (extern "C", no C-only constructs in it).
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
  # The same source, compiled as C++: a copy, because a source file's LANGUAGE is per directory.
  configure_file(${PROJECT_SOURCE_DIR}/tests/headertest.c ${CMAKE_CURRENT_BINARY_DIR}/headertest.cpp
                 COPYONLY)
  add_library(relhost_headertest_cxx OBJECT ${CMAKE_CURRENT_BINARY_DIR}/headertest.cpp)
  target_include_directories(relhost_headertest_cxx PRIVATE ${PROJECT_SOURCE_DIR}/include)
  set_target_properties(relhost_headertest_cxx PROPERTIES CXX_STANDARD 11 CXX_STANDARD_REQUIRED ON
                        CXX_EXTENSIONS OFF)
  target_compile_options(relhost_headertest_cxx PRIVATE -pedantic -Wall -Wextra -Werror)
  target_compile_options(relhost_headertest_cxx PRIVATE -U_GNU_SOURCE)
else()
  message(STATUS "No C++ compiler: plugin.h is checked as C only")
endif()

# The frozen copy is a promise to every plugin built against it: editing it would silently move
# the goalposts of abi_layout and abi10_gate. A deliberate ABI 2.0 adds plugin-2.0.h instead.
add_test(NAME test_abi__frozen_header COMMAND ${CMAKE_COMMAND} -E sha256sum ${_abi_dir}/plugin-1.0.h)
set_tests_properties(test_abi__frozen_header PROPERTIES PASS_REGULAR_EXPRESSION
  "^a5991c4243526da0f3af16cb6b38acf58b96cc1bbeab7968900ea6c68ea97a72 ")

relhost_unit_test(test_abi__layout SOURCES ${_abi_dir}/abi_layout.c ${_abi_dir}/abi_layout_10.c
                  ${_abi_dir}/abi_layout_cur.c)
target_compile_options(test_abi__layout PRIVATE ${_abi_strict})

relhost_script_test(test_abi__prefix ${PYTHON3} ${_abi_dir}/abi_prefix.py ${_abi_dir}/plugin-1.0.h
                    ${PROJECT_SOURCE_DIR}/include/relhost/plugin.h)

relhost_add_plugin(abi10_gate SOURCES ${_abi_dir}/abi10_gate.c
                   OUTPUT_DIR ${CMAKE_BINARY_DIR}/test-plugins/abi10)
target_compile_options(abi10_gate PRIVATE ${_abi_strict})

relhost_script_test(test_abi__plan_abi10 bash ${_abi_dir}/abi10_plan.sh)
