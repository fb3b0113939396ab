# SPDX-License-Identifier: MIT
# plugins/metrics_wandb: unit tests (cmocka, a scripted HTTP service) and end-to-end tests through
# the relhost binary against tests/fakes/wandb_fake.py (one ctest entry per case).
relhost_unit_test(test_plugins_metrics_wandb
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_wandb.c ${CMAKE_CURRENT_LIST_DIR}/metrics_wandb_api.c
          ${CMAKE_CURRENT_LIST_DIR}/metrics_wandb_common.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${METRICS_WANDB_SOURCES}
  LIBS PkgConfig::JANSSON)
add_dependencies(test_plugins_metrics_wandb metrics_wandb)

foreach(_case log_url_passes_with_exact_values run_id_option run_id_env run_dir_summary
              offline_run_dir_without_summary run_null project_null graphql_errors_under_200
              server_down_500 key_missing_is_metric_missing wrong_key_401 slow_reply
              connection_reset truncated_body invalid_json last_of_two_urls_wins no_run_id
              secret_never_leaks api_key_over_plain_http_to_another_host_is_refused
              self_signed_certificate_is_not_retryable)
  relhost_script_test(test_plugins_metrics_wandb__${_case} ${PYTHON3}
    ${CMAKE_CURRENT_LIST_DIR}/metrics_wandb.py ${_case})
  set_tests_properties(test_plugins_metrics_wandb__${_case} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
