# SPDX-License-Identifier: MIT
# skypilot/: runner_skypilot.
#   sky_unit.c   cmocka: the CLI parsing, task building and launch files against API_SHAPES.md's
#                formats
#   skypilot.py  end to end through the relhost binary against tests/fakes/sky, a fake SkyPilot
#                CLI that really runs the jobs (detached) and counts its invocations; one ctest
#                entry per case, test_skypilot__<case>.
set(_sky_dir ${PROJECT_SOURCE_DIR}/plugins/runner_skypilot)
relhost_unit_test(test_skypilot_sky_unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/sky_unit.c ${_sky_dir}/sky_parse.c ${_sky_dir}/sky_task.c
          ${_sky_dir}/sky_local.c ${PROJECT_SOURCE_DIR}/plugins/common/pl_file.c
  LIBS m)
target_include_directories(test_skypilot_sky_unit PRIVATE ${_sky_dir})
set_tests_properties(test_skypilot_sky_unit PROPERTIES LABELS "skypilot")

foreach(_case pass_streams_sps secrets_never_on_disk_or_argv argv_quoting_survives_the_task
              failure_keeps_the_exit_code slow_launch_reports_the_id_later
              no_resource_is_retried no_resource_without_retries_defers
              engine_statuses_map_to_outcomes restarts_come_from_recoveries
              remote_timeout_is_a_timeout
              sigkill_reattaches_without_a_second_launch reattached_job_keeps_its_metrics_and_log
              sigkill_during_launch_waits_for_it interrupt_during_launch_relaunches_on_resume
              old_header_parses
              one_queue_per_interval_for_all_jobs launch_failure_is_retryable
              missing_cli_is_not_retryable kill_cancels_launched_jobs
              task_template_is_the_base)
  relhost_script_test(test_skypilot__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/skypilot.py
                      ${_case})
  set_tests_properties(test_skypilot__${_case} PROPERTIES LABELS "skypilot" TIMEOUT 120)
endforeach()
