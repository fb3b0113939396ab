# SPDX-License-Identifier: MIT
# registry.py: the release registry end to end: stage, promote, quarantine, rollback, monitor,
# the baseline a promotion writes, and a kill at every registry crash point. Every
# `def case_<name>():` is one ctest entry, test_registry__<name>.
set(_reg_py ${CMAKE_CURRENT_LIST_DIR}/registry.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_reg_py})
file(STRINGS ${_reg_py} _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_d ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_d}")
  relhost_script_test(test_registry__${_case} ${PYTHON3} ${_reg_py} ${_case})
  set_tests_properties(test_registry__${_case} PROPERTIES LABELS "registry" TIMEOUT 300
                       FIXTURES_REQUIRED relhost_plans_fixtures)
endforeach()
