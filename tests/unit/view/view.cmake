# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_text_num SOURCES ${CMAKE_CURRENT_LIST_DIR}/text_num.c)
relhost_unit_test(test_unit_site_text SOURCES ${CMAKE_CURRENT_LIST_DIR}/site_text.c)
