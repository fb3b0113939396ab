# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_jobs SOURCES ${CMAKE_CURRENT_LIST_DIR}/jobs.c)
