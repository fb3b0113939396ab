# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_jarena SOURCES ${CMAKE_CURRENT_LIST_DIR}/jarena.c)
relhost_unit_test(test_unit_secrets_stream SOURCES ${CMAKE_CURRENT_LIST_DIR}/secrets_stream.c)
