# SPDX-License-Identifier: MIT
# tests/baseline: baseline rules of acceptance checks (core/run/checks.c, core/run/baseline.c) and
# repeated validations (core/run/repeats.c), end to end on the real binary. bench.py prints exact
# metrics, a different value per repeat. Every `def case_<name>():` is one ctest entry.
set(_bl_dir ${CMAKE_CURRENT_LIST_DIR})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_bl_dir}/baseline.py)
file(STRINGS ${_bl_dir}/baseline.py _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_baseline__${_case} ${PYTHON3} ${_bl_dir}/baseline.py ${_case})
  set_tests_properties(test_baseline__${_case} PROPERTIES LABELS "baseline" TIMEOUT 120)
endforeach()
