# SPDX-License-Identifier: MIT
# slurm/slurm.py: runner_slurm end to end through the relhost binary. Every `def case_<name>():`
# is one ctest entry, test_slurm__<name>, running `slurm.py <name>` in a process of its own.
#   real_*  a real single-node Slurm 22.05 cluster on 127.0.0.1, started for the case by
#           cluster.py (munged, slurmctld, slurmd from apt: slurmctld slurmd slurm-client munge;
#           needs root) and always stopped. When the daemons cannot start, the case prints
#           "SKIPPED: slurm daemons did not start: <reason>" and exits 77: ctest says skipped.
#   fake_*  the same runner against tests/slurm/fake_slurm.py (end states a one-node cluster
#           cannot produce); they run everywhere.
#   slurm_unit.c  cmocka: slurm_parse.c's reading of Slurm's words (a job's end, its restarts)
#           against API_SHAPES.md's formats; no Slurm.
# RUN_SERIAL: the real cases start daemons and count processes; one of them waits for Slurm's
# own one-minute time limit.
set(_slurm_py ${CMAKE_CURRENT_LIST_DIR}/slurm.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_slurm_py})
file(STRINGS ${_slurm_py} _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
if(NOT _defs)
  message(FATAL_ERROR "${_slurm_py} defines no case_<name>() functions")
endif()
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_slurm__${_case} ${PYTHON3} ${_slurm_py} ${_case})
  set_tests_properties(test_slurm__${_case} PROPERTIES LABELS "slurm" SKIP_RETURN_CODE 77
                       RUN_SERIAL TRUE TIMEOUT 600)
endforeach()

set(_slurm_src ${PROJECT_SOURCE_DIR}/plugins/runner_slurm)
relhost_unit_test(test_slurm_unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/slurm_unit.c
                  ${_slurm_src}/slurm_parse.c)
target_include_directories(test_slurm_unit PRIVATE ${_slurm_src})
set_tests_properties(test_slurm_unit PROPERTIES LABELS "slurm")

# slurm_poll_unit.c  cmocka: one poll (slurm_poll.c) against a fake proc_run in Slurm's shapes:
# the runner's own sources and the plugins' common helpers, without the core library (whose
# string helpers share names with the plugin's).
add_executable(test_slurm_poll_unit ${CMAKE_CURRENT_LIST_DIR}/slurm_poll_unit.c
               ${_slurm_src}/slurm_poll.c ${_slurm_src}/slurm_parse.c ${_slurm_src}/slurm_script.c
               ${_slurm_src}/slurm_array.c
               ${_slurm_src}/runner_slurm.c ${PROJECT_SOURCE_DIR}/plugins/common/pl_host.c)
target_include_directories(test_slurm_poll_unit PRIVATE ${_slurm_src} ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(test_slurm_poll_unit PRIVATE PkgConfig::CMOCKA m)
add_test(NAME test_slurm_poll_unit COMMAND test_slurm_poll_unit)
set_tests_properties(test_slurm_poll_unit PROPERTIES LABELS "slurm")
