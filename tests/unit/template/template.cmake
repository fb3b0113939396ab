# SPDX-License-Identifier: MIT
# core/plan/template.c: run-level variables, placeholder checks, expansion, escapes and errors.
relhost_unit_test(test_unit_template SOURCES ${CMAKE_CURRENT_LIST_DIR}/template.c)
