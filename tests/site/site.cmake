# SPDX-License-Identifier: MIT
# site/site.py: `relhost site`, the registry's static status page. Every `def case_<name>():` is
# one ctest entry, test_site__<name>, running `site.py <name>` in a process of its own.
#   browser_*  render the page in headless Chromium (--dump-dom) and check the DOM it built;
#              without Chromium they print SKIP and exit 77 (ctest: skipped). CI installs it.
#   the rest   read the file with html.parser and run everywhere; demo_* runs etc/demo.cfg in a
#              copy of etc/ and examples/ first.
set(_site_py ${CMAKE_CURRENT_LIST_DIR}/site.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_site_py})
file(STRINGS ${_site_py} _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
if(NOT _defs)
  message(FATAL_ERROR "${_site_py} defines no case_<name>() functions")
endif()
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_site__${_case} ${PYTHON3} ${_site_py} ${_case})
  set_tests_properties(test_site__${_case} PROPERTIES LABELS "site" SKIP_RETURN_CODE 77
                       TIMEOUT 600)
endforeach()
