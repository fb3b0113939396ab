# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_record_write SOURCES ${CMAKE_CURRENT_LIST_DIR}/record_write.c)
relhost_unit_test(test_unit_record_job SOURCES ${CMAKE_CURRENT_LIST_DIR}/record_job.c)
relhost_unit_test(test_unit_record_codec SOURCES ${CMAKE_CURRENT_LIST_DIR}/record_codec.c)
