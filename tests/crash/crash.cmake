# SPDX-License-Identifier: MIT
# crash/: what a relhost killed with SIGKILL leaves behind, and what the next relhost does with it
# (never a second copy of a job that still runs), plus the job layer's restart count.
#   crash.py             one ctest entry per case (test_crash__<case>)
#   orphan.c             proc_stop_orphan(): what proves a process is the orphan, what it kills
#   steps.py             a step's processes left by a killed relhost, stopped by the next run
#                        through their release tag, and nothing else (test_crash_steps__<case>)
#   timers.py            a deadline fires on time while another job waits on HTTP
#   restarts_runner.c    crash_restarts, a fake runner whose polls report the restart counts a job
#                        asks for; built into <build>/test-plugins/crash/
relhost_add_plugin(crash_restarts SOURCES ${CMAKE_CURRENT_LIST_DIR}/restarts_runner.c
                   OUTPUT_DIR ${CMAKE_BINARY_DIR}/test-plugins/crash)
foreach(_case a_job_left_running_by_a_killed_relhost_is_stopped_before_the_next_attempt
              relhost_kill_stops_a_local_job_whose_relhost_died
              status_follow_ends_when_the_relhost_running_the_release_died
              restarts_reported_by_the_runner_are_never_lowered)
  relhost_script_test(test_crash__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/crash.py ${_case})
  set_tests_properties(test_crash__${_case} PROPERTIES TIMEOUT 120 LABELS "crash")
endforeach()
foreach(_case a_step_left_running_by_a_killed_relhost_is_stopped_by_the_next_run
              a_tagged_process_of_a_live_relhost_is_never_signalled)
  relhost_script_test(test_crash_steps__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/steps.py
                      ${_case})
  set_tests_properties(test_crash_steps__${_case} PROPERTIES TIMEOUT 120 LABELS "crash")
endforeach()
relhost_unit_test(test_crash_orphan SOURCES ${CMAKE_CURRENT_LIST_DIR}/orphan.c)
set_tests_properties(test_crash_orphan PROPERTIES TIMEOUT 60 LABELS "crash")
# timers.py: a job's deadline is a loop timer, served while another job's metrics source waits on
# HTTP (test_crash_timers__<case>)
foreach(_case a_deadline_fires_while_another_job_waits_on_http)
  relhost_script_test(test_crash_timers__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/timers.py
                      ${_case})
  set_tests_properties(test_crash_timers__${_case} PROPERTIES TIMEOUT 180 LABELS "crash")
endforeach()
# commit.py: group commit of the state (state_commit_window): a SIGKILL loses no recorded result
# and the unrecorded ones run on resume; one fdatasync serves the job ends of a window
# and a disk whose fdatasync fails stops the run, NOT SAVED; results are written at once (a
# SIGKILL loses none) and local starts do not wait for an fdatasync (test_crash_commit__<case>)
foreach(_case a_sigkill_mid_run_loses_nothing_recorded_and_the_rest_runs_on_resume
              one_fdatasync_serves_the_results_of_jobs_ending_within_the_window
              results_in_the_window_are_written_at_once_so_a_sigkill_loses_none
              local_jobs_start_without_waiting_for_an_fdatasync_each
              a_disk_that_fails_fdatasync_stops_the_run_and_reports_nothing_unstored)
  relhost_script_test(test_crash_commit__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/commit.py
                      ${_case})
  set_tests_properties(test_crash_commit__${_case} PROPERTIES TIMEOUT 240 LABELS "crash")
endforeach()
# oom.py: relhost out of memory mid-run (oom_preload.c, an LD_PRELOAD library that fails large
# allocations once a job made a marker): a named tool error, exit 75, never a crash nor a verdict;
# out of descriptors at a job's start (ulimit -n 20): retryable, the release defers
# (test_crash_oom__<case>)
add_library(crash_oom_preload MODULE ${CMAKE_CURRENT_LIST_DIR}/oom_preload.c)
set_target_properties(crash_oom_preload PROPERTIES LIBRARY_OUTPUT_DIRECTORY
                                                   ${CMAKE_BINARY_DIR}/test-plugins/crash)
foreach(_case running_out_of_memory_mid_run_is_a_named_tool_error_and_the_resume_runs_the_rest
              out_of_descriptors_at_job_start_defers_the_release_and_the_resume_runs_the_rest)
  relhost_script_test(test_crash_oom__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/oom.py ${_case})
  set_tests_properties(test_crash_oom__${_case} PROPERTIES TIMEOUT 120 LABELS "crash"
                       SKIP_RETURN_CODE 77)
endforeach()
