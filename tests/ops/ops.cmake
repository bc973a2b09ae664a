# Operations checks (label "ops"): the alert rules with promtool, the dashboards and alerts
# against a real Prometheus scraping a daemon fed by the simulator, the static rules of the
# ops files, the systemd unit, the Debian package and the deployment files.
# Python 3 with the standard library and python3-yaml, from Debian (scripts/setup.sh --test).
find_program(WIJKPULS_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(WIJKPULS_PYTHON3 NAMES python3)
find_program(WIJKPULS_PROMTOOL NAMES promtool)
find_program(WIJKPULS_PROMETHEUS NAMES prometheus)
foreach(tool WIJKPULS_PYTHON3 WIJKPULS_PROMTOOL WIJKPULS_PROMETHEUS)
  if(NOT ${tool})
    message(STATUS "ops tests: ${tool} not found; the ops tests that need it will fail (scripts/setup.sh --test)")
  endif()
endforeach()

set(WIJKPULS_OPS_TESTS ${CMAKE_CURRENT_LIST_DIR})
set(WIJKPULS_OPS_TMP ${WIJKPULS_TEST_TMP}/ops)
set(WIJKPULS_PROM_DIR ${PROJECT_SOURCE_DIR}/ops/prometheus)

add_test(NAME ops.promtool_check_rules
  COMMAND ${WIJKPULS_PROMTOOL} check rules ${WIJKPULS_PROM_DIR}/wijkpuls-alerts.yml)
# The rules as a deployment renders them with its runbook's address (ops/prometheus/runbook-base.sh).
add_test(NAME ops.promtool_check_rendered_rules
  COMMAND sh -c "sh \"$0\"/runbook-base.sh https://ops.example.org/wijkpuls/runbook \"$0\"/wijkpuls-alerts.yml > \"$2\" && \"$1\" check rules \"$2\""
          ${WIJKPULS_PROM_DIR} ${WIJKPULS_PROMTOOL} ${WIJKPULS_TEST_TMP}/rendered-alerts.yml)
add_test(NAME ops.promtool_check_config
  COMMAND ${WIJKPULS_PROMTOOL} check config ${WIJKPULS_PROM_DIR}/prometheus.yml)
add_test(NAME ops.promtool_test_rules
  COMMAND ${WIJKPULS_PROMTOOL} test rules wijkpuls-alerts.test.yml
  WORKING_DIRECTORY ${WIJKPULS_PROM_DIR})
add_test(NAME ops.static
  COMMAND ${WIJKPULS_PYTHON3} ${WIJKPULS_OPS_TESTS}/static_test.py)
add_test(NAME ops.prometheus_live
  COMMAND ${WIJKPULS_PYTHON3} ${WIJKPULS_OPS_TESTS}/prometheus_live_test.py
          --binary $<TARGET_FILE:wijkpuls> --prometheus ${WIJKPULS_PROMETHEUS} --tmp ${WIJKPULS_OPS_TMP})
add_test(NAME ops.systemd
  COMMAND ${WIJKPULS_PYTHON3} ${WIJKPULS_OPS_TESTS}/systemd_test.py
          --binary $<TARGET_FILE:wijkpuls> --tmp ${WIJKPULS_OPS_TMP})
# The package is built once (cpack in the build directory) and left for ops.deploy.
add_test(NAME ops.package
  COMMAND ${WIJKPULS_PYTHON3} ${WIJKPULS_OPS_TESTS}/package_test.py
          --binary $<TARGET_FILE:wijkpuls> --build-dir ${PROJECT_BINARY_DIR} --cpack ${CMAKE_CPACK_COMMAND}
          --out ${PROJECT_BINARY_DIR}/ops-package --tmp ${WIJKPULS_OPS_TMP})
add_test(NAME ops.deploy
  COMMAND ${WIJKPULS_PYTHON3} ${WIJKPULS_OPS_TESTS}/deploy_test.py
          --binary $<TARGET_FILE:wijkpuls> --deb-dir ${PROJECT_BINARY_DIR}/ops-package --tmp ${WIJKPULS_OPS_TMP})

set_tests_properties(ops.promtool_check_rules ops.promtool_check_rendered_rules ops.promtool_check_config ops.promtool_test_rules
                     ops.static ops.systemd
  PROPERTIES LABELS ops TIMEOUT 60)
# No __pycache__ in the source tree.
set_tests_properties(ops.static ops.prometheus_live ops.systemd ops.package ops.deploy
  PROPERTIES ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
set_tests_properties(ops.prometheus_live PROPERTIES LABELS ops TIMEOUT 240)
set_tests_properties(ops.package PROPERTIES LABELS ops TIMEOUT 300 FIXTURES_SETUP ops_deb)
set_tests_properties(ops.deploy PROPERTIES LABELS ops TIMEOUT 120 FIXTURES_REQUIRED ops_deb)
