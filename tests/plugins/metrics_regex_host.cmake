# SPDX-License-Identifier: MIT
# Issue 14: every case of metrics_regex_table.c through the real host, in one relhost run (a job
# per case that cats the case's log; outcomes read from the state JSON).
foreach(_case the_reader_takes_every_case_of_the_table every_table_case_through_the_host)
  relhost_script_test(test_plugins_metrics_regex_host__${_case} ${PYTHON3}
    ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_host.py ${_case})
endforeach()
set_tests_properties(test_plugins_metrics_regex_host__every_table_case_through_the_host
  PROPERTIES TIMEOUT 600)
