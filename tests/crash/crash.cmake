# Crash safety and fault tolerance (docs/guarantees.md). One binary that
# computes its reference state once, run as ctest tests (the kill -9 test,
# the other faults, and the full-disk test alone) so the two mostly-waiting
# halves share the two cores.
# A high COST starts them as early as possible (after the fixture they need):
# they are the longest tests of the suite.
add_executable(crash_test ${CMAKE_CURRENT_SOURCE_DIR}/crash/crash_test.cc)
target_compile_options(crash_test PRIVATE ${WIJKPULS_WARNINGS})
target_link_libraries(crash_test PRIVATE wijkpuls_daemon_harness wijkpuls::store GTest::gtest_main)
add_dependencies(crash_test wijkpuls)
add_test(NAME crash_test.kill COMMAND crash_test --gtest_filter=Faults.Killed*)
add_test(NAME crash_test.faults COMMAND crash_test --gtest_filter=-Faults.Killed*:FullDisk.*)
set_tests_properties(crash_test.kill crash_test.faults PROPERTIES LABELS crash TIMEOUT 1200 COST 1000)
# FullDisk forks a writer: in a process of its own, with no other thread.
add_test(NAME crash_test.full_disk COMMAND crash_test --gtest_filter=FullDisk.*)
set_tests_properties(crash_test.full_disk PROPERTIES LABELS crash TIMEOUT 300)
