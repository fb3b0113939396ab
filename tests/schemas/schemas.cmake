# SPDX-License-Identifier: MIT
# tests/schemas: every JSON output has a schema in docs/ that ajv v8 (the vendored bundle in
# tests/fixtures/ajv/, run with the system's node) compiles in strict mode, the schema-number
# keys follow one convention, and real outputs are valid. One ctest per `def case_` of
# schemas.py: test_schemas__<case>. 77: node is missing (skipped, loudly; a failure under CI).
set(_sch_dir ${CMAKE_CURRENT_LIST_DIR})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_sch_dir}/schemas.py)
file(STRINGS ${_sch_dir}/schemas.py _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_schemas__${_case} ${PYTHON3} ${_sch_dir}/schemas.py ${_case})
  set_tests_properties(test_schemas__${_case} PROPERTIES LABELS "schemas" TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endforeach()
