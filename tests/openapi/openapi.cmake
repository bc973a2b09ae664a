# The OpenAPI description (/api/v1/openapi.json) against live responses of `wijkpuls demo`:
# a standard-library Python 3 script fetches them, Node.js validates the document
# (@seriousme/openapi-schema-validator) and every response (Ajv, JSON Schema 2020-12). The
# packages are pinned in package-lock.json and installed by scripts/setup.sh --test.
find_program(WIJKPULS_NODE node)
if(NOT WIJKPULS_NODE)
  set(WIJKPULS_NODE node)  # a machine without Node.js fails the test instead of skipping it
endif()
add_test(NAME api.openapi
  COMMAND ${WIJKPULS_BROWSER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/openapi_test.py
          --wijkpuls $<TARGET_FILE:wijkpuls> --node ${WIJKPULS_NODE}
          --work-dir ${WIJKPULS_TEST_TMP}/openapi)
set_tests_properties(api.openapi PROPERTIES LABELS integration TIMEOUT 300 COST 50)
