# SPDX-License-Identifier: MIT
# plugins/notify end to end: tests/plugins/notify.py drives the relhost binary and the notify
# plugin against tests/fakes/webhook_fake.py (and asana_fake.py, for the secrets case) on
# 127.0.0.1. Every `def case_<name>():` is one ctest entry, test_plugins_notify__<name>; the names
# are read from the script (adding a case touches no CMake).
set(_py ${CMAKE_CURRENT_LIST_DIR}/notify.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_py})
file(STRINGS ${_py} _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_plugins_notify__${_case} ${PYTHON3} ${_py} ${_case})
  set_tests_properties(test_plugins_notify__${_case} PROPERTIES LABELS "plugins;http" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endforeach()

# Unit tests (cmocka, mock host with a scripted HTTP service) for what a real server cannot show.
relhost_unit_test(test_plugins_notify
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/notify.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${PROJECT_SOURCE_DIR}/plugins/notify/notify_post.c
          ${PROJECT_SOURCE_DIR}/plugins/common/pl_host.c
          ${PROJECT_SOURCE_DIR}/plugins/common/pl_text.c
          ${PROJECT_SOURCE_DIR}/plugins/common/pl_http.c
  LIBS PkgConfig::JANSSON)
