# SPDX-License-Identifier: MIT
# tests/reports: the JUnit, JSON and Markdown reports (core/view/report_*.c, API in
# core/view/report_files.h; typed records in core/record/record.h).
#   test_reports                  cmocka (reports.c): escaping of hostile strings, log tails,
#                                 decision, ordering, numbers, report_write(), redaction
#   test_reports__<case>          reports.py: golden files, junit.xsd (xmllint), the JSON schema,
#                                 a real run, key-order independence, git commits since a tag
# report_render (render.c) prints one report of a state file; reports.py drives it.
set(_rep_dir ${CMAKE_CURRENT_LIST_DIR})

add_executable(report_render ${_rep_dir}/render.c)
target_include_directories(report_render PRIVATE ${PROJECT_SOURCE_DIR}/core)
target_link_libraries(report_render PRIVATE relhost_core)

relhost_unit_test(test_reports SOURCES ${_rep_dir}/reports.c)
set_tests_properties(test_reports PROPERTIES LABELS "reports" TIMEOUT 120)

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_rep_dir}/reports.py)
file(STRINGS ${_rep_dir}/reports.py _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_reports__${_case} ${PYTHON3} ${_rep_dir}/reports.py ${_case})
  # 77: a tool the case needs (xmllint, git) is missing; the script says so on stderr.
  set_tests_properties(test_reports__${_case} PROPERTIES LABELS "reports" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
  set_property(TEST test_reports__${_case} APPEND PROPERTY ENVIRONMENT
               "RELHOST_REPORT_RENDER=$<TARGET_FILE:report_render>")
endforeach()

# test_reports_big (reports_big.c): the Markdown notes of thousands of jobs, bounded heap, order.
relhost_unit_test(test_reports_big SOURCES ${_rep_dir}/reports_big.c)
set_tests_properties(test_reports_big PROPERTIES LABELS "reports" TIMEOUT 120)
