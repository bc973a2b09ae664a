# The browser test of the fieldwork page (GET /): headless Chromium (Debian package `chromium`)
# driven over the DevTools pipe by a standard-library Python 3 script, against `wijkpuls demo`.
# Prefer Debian's interpreter: the script needs nothing but the standard library.
find_program(WIJKPULS_BROWSER_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(WIJKPULS_BROWSER_PYTHON python3)
find_program(WIJKPULS_CHROMIUM NAMES chromium chromium-browser)
if(NOT WIJKPULS_CHROMIUM)
  # Defined anyway, so that a machine without Chromium fails the test instead of skipping it.
  set(WIJKPULS_CHROMIUM chromium)
endif()
add_test(NAME browser.page
  COMMAND ${WIJKPULS_BROWSER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/page_test.py
          --wijkpuls $<TARGET_FILE:wijkpuls>
          --chromium ${WIJKPULS_CHROMIUM}
          --screenshot ${CMAKE_BINARY_DIR}/page-screenshot.png
          --work-dir ${WIJKPULS_TEST_TMP}/browser-page)
set_tests_properties(browser.page PROPERTIES LABELS browser TIMEOUT 300 COST 100)

# The data-quality page (GET /quality) against /api/v1/quality; reuses page_test.py's demo and
# DevTools helpers.
add_test(NAME browser.quality
  COMMAND ${WIJKPULS_BROWSER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/quality_test.py
          --wijkpuls $<TARGET_FILE:wijkpuls>
          --chromium ${WIJKPULS_CHROMIUM}
          --screenshot ${CMAKE_BINARY_DIR}/quality-screenshot.png
          --work-dir ${WIJKPULS_TEST_TMP}/browser-quality)
set_tests_properties(browser.quality PROPERTIES LABELS browser TIMEOUT 300 COST 100)

# The scores page (GET /scores) against /api/v1/scores and /api/v1/pace, on a small season
# (`demo --records 8000`), also at 390 px; reuses page_test.py's helpers.
add_test(NAME browser.scores
  COMMAND ${WIJKPULS_BROWSER_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/scores_test.py
          --wijkpuls $<TARGET_FILE:wijkpuls>
          --chromium ${WIJKPULS_CHROMIUM}
          --screenshot ${CMAKE_BINARY_DIR}/scores-screenshot.png
          --work-dir ${WIJKPULS_TEST_TMP}/browser-scores)
set_tests_properties(browser.scores PROPERTIES LABELS browser TIMEOUT 300 COST 100)
