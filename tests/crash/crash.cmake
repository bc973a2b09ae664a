# Crash safety and fault tolerance (docs/guarantees.md). One binary, one
# ctest test: the suite computes its reference state once.
add_executable(crash_test ${CMAKE_CURRENT_SOURCE_DIR}/crash/crash_test.cc)
target_compile_options(crash_test PRIVATE ${WIJKPULS_WARNINGS})
target_link_libraries(crash_test PRIVATE wijkpuls_daemon_harness wijkpuls::store GTest::gtest_main)
add_dependencies(crash_test wijkpuls)
add_test(NAME crash_test COMMAND crash_test)
set_tests_properties(crash_test PROPERTIES LABELS crash TIMEOUT 1200)
