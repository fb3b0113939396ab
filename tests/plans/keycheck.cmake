# SPDX-License-Identifier: MIT
# plans/keycheck.py: acceptance keys must be ones their metrics sources post, and a required
# step's sources must find their credentials, both said at --check and before a run's first job
# (core/plan/keycheck.c, host->checks_verify). Every `def case_<name>():` is one ctest entry,
# test_plans_keycheck__<name>, as in plans.cmake. Uses only the bundled plugins.
set(_keycheck_py ${CMAKE_CURRENT_LIST_DIR}/keycheck.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_keycheck_py})
file(STRINGS ${_keycheck_py} _keycheck_defs REGEX "^def case_[A-Za-z0-9_]+\\(")
if(NOT _keycheck_defs)
  message(FATAL_ERROR "${_keycheck_py} defines no case_<name>() functions")
endif()
foreach(_def ${_keycheck_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  set(_name test_plans_keycheck__${_case})
  relhost_script_test(${_name} ${PYTHON3} ${_keycheck_py} ${_case})
  set_tests_properties(${_name} PROPERTIES LABELS "plans" TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
