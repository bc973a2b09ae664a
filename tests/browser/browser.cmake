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
# One test per page: its script (a standard-library Python 3 client of Chromium's DevTools pipe,
# sharing page_test.py's demo and helpers), its screenshot, its scratch folder.
function(wijkpuls_browser_test name script screenshot)
  add_test(NAME browser.${name}
    COMMAND ${WIJKPULS_BROWSER_PYTHON} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${script}
            --wijkpuls $<TARGET_FILE:wijkpuls>
            --chromium ${WIJKPULS_CHROMIUM}
            --screenshot ${CMAKE_BINARY_DIR}/${screenshot}
            --work-dir ${WIJKPULS_TEST_TMP}/browser-${name})
  set_tests_properties(browser.${name} PROPERTIES LABELS browser TIMEOUT 300 COST 100)
endfunction()

# The fieldwork page (GET /) against /api/v1/quotas, also at 1400 and 390 px.
wijkpuls_browser_test(page page_test.py page-screenshot.png)
# The data-quality page (GET /quality) against /api/v1/quality.
wijkpuls_browser_test(quality quality_test.py quality-screenshot.png)
# The scores page (GET /scores) against /api/v1/scores and /api/v1/pace, on a small season
# (`demo --records 8000`), also at 390 px.
wijkpuls_browser_test(scores scores_test.py scores-screenshot.png)
