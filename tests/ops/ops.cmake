# SPDX-License-Identifier: MIT
# tests/ops: the operator's commands, `relhost explain` and `relhost status --json / --follow`
# (core/view/explain.c, core/view/status_json.c, core/run/batch.c; docs/explain.schema.json and
# docs/status.schema.json). One ctest per `def case_` of ops.py: test_ops__<case>.
set(_ops_dir ${CMAKE_CURRENT_LIST_DIR})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_ops_dir}/ops.py)
file(STRINGS ${_ops_dir}/ops.py _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_ops__${_case} ${PYTHON3} ${_ops_dir}/ops.py ${_case})
  set_tests_properties(test_ops__${_case} PROPERTIES LABELS "ops" TIMEOUT 120)
endforeach()
