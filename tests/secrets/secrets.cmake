# SPDX-License-Identifier: MIT
# secrets/: issue 15's leak test. leak.py sets a distinct value in every secret variable the
# installed plugins know (and in one only its name marks as secret), runs plans whose fake
# servers (tests/fakes) echo the secrets back and whose jobs print them in every encoding
# (printer.py), runs every subcommand, and searches every byte relhost wrote or printed for every
# form of every secret; one case checks what the processes relhost starts inherit. Every
# `def case_<name>():` is one ctest entry, test_secrets__<name>.
set(_py ${CMAKE_CURRENT_LIST_DIR}/leak.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_py})
file(STRINGS ${_py} _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_secrets__${_case} ${PYTHON3} ${_py} ${_case})
  set_tests_properties(test_secrets__${_case} PROPERTIES LABELS "secrets;http" TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endforeach()
