# SPDX-License-Identifier: MIT
# plans/*.py: end-to-end tests that drive the relhost binary on small plans (Python 3, stdlib
# only; helpers in tests/support/rh.py). Every `def case_<name>():` in a script is one ctest entry,
# test_plans_<script>__<name>, running `<script>.py <name>` in a process of its own. The names are
# read from the scripts here (CMake re-configures when a script changes), so adding a case touches
# no CMake file.
#   plan_errors    every class of plan / command-line error: exit 2, file:line, nothing run
#   plan_features  typed option filling, @include, --set, templates, --check, -V, --help, plugins
#   loader         plugin search path, shadowing, broken and unsafe plugin files and folders
#   pipeline       step order, fail-fast, outcomes -> exit codes, the manual gate on a pty, output
#   plan_memory    a big plan checks within a data limit of 10x its size (RLIMIT_DATA)
#   isolate        plugins in their own process: faults, the proxied ABI, call_timeout
#   runner_faults  a runner that crashes, exits or hangs in submit, poll, read_log or cancel,
#                  isolated and inside relhost
#   peek           the live table's running values (a source's peek()): shown, never judged
#   cli            command-line conventions: --version/--release, help, did you mean, default
#                  plan, --color, SIGTERM, status, --set list items, completion scripts
# They use the fixture plugins (target relhost_test_plugins, <build>/test-plugins/<case>/) and the
# bundled plugins (<build>/plugins); ctest runs after a full build, which builds both.
set(_plans_dir ${CMAKE_CURRENT_LIST_DIR})
if(NOT TARGET relhost_test_plugins)
  message(FATAL_ERROR "tests/plans needs the fixture plugins (tests/fixtures/plugins/fixtures.cmake)")
endif()

# A cheap first test that says clearly when the fixtures were not built; every case requires it.
relhost_script_test(test_plans_fixtures_built ${PYTHON3} ${_plans_dir}/plan_features.py
                    fixtures_built)
set_tests_properties(test_plans_fixtures_built PROPERTIES FIXTURES_SETUP relhost_plans_fixtures
                     LABELS "plans" TIMEOUT 60)

foreach(_script plan_errors plan_features loader pipeline release_flow seal state_folder faults cli
                plan_memory isolate runner_faults peek)
  set(_py ${_plans_dir}/${_script}.py)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_py})
  file(STRINGS ${_py} _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
  if(NOT _defs)
    message(FATAL_ERROR "${_py} defines no case_<name>() functions")
  endif()
  foreach(_def ${_defs})
    string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
    if(_script STREQUAL "plan_features" AND _case STREQUAL "fixtures_built")
      continue()
    endif()
    set(_name test_plans_${_script}__${_case})
    relhost_script_test(${_name} ${PYTHON3} ${_py} ${_case})
    set_tests_properties(${_name} PROPERTIES LABELS "plans" TIMEOUT 120 SKIP_RETURN_CODE 77
                         FIXTURES_REQUIRED relhost_plans_fixtures)
  endforeach()
endforeach()
