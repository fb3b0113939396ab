# SPDX-License-Identifier: MIT
# core/plan/options.c: options_fill on small synthetic option tables of every type, and its parsers.
relhost_unit_test(test_unit_options SOURCES ${CMAKE_CURRENT_LIST_DIR}/options.c)
