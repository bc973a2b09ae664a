# libFuzzer targets (WIJKPULS_FUZZ=ON, clang only). record_fuzz feeds
# arbitrary bytes through decode, the field checks, the quality flags and the
# record processor; scripts/fuzz.sh builds it in build-check/ (with the sanitizer
# tree: WIJKPULS_SANITIZE too) and runs it.
# With WIJKPULS_FUZZ off this file defines nothing.
if(WIJKPULS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "WIJKPULS_FUZZ needs clang: "
      "-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  set(WIJKPULS_FUZZ_SANITIZE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  # The project's libraries on the record path get coverage feedback and the
  # sanitizers too (Debian's protobuf, RocksDB, abseil stay uninstrumented).
  # (Anything else that links them, e.g. the tests, links the sanitizer runtimes.)
  foreach(lib proto model validate score store process publish kafka sim)
    target_compile_options(wijkpuls_${lib} PRIVATE -fsanitize=fuzzer-no-link ${WIJKPULS_FUZZ_SANITIZE})
    target_link_options(wijkpuls_${lib} INTERFACE -fsanitize=address,undefined)
  endforeach()

  add_executable(record_fuzz ${CMAKE_CURRENT_LIST_DIR}/record_fuzz.cc
    ${CMAKE_CURRENT_LIST_DIR}/field_mutator.cc ${CMAKE_CURRENT_LIST_DIR}/seed_corpus.cc)
  target_compile_options(record_fuzz PRIVATE ${WIJKPULS_WARNINGS}
    -fsanitize=fuzzer ${WIJKPULS_FUZZ_SANITIZE})
  target_link_options(record_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_include_directories(record_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(record_fuzz PRIVATE WIJKPULS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(record_fuzz PRIVATE
    wijkpuls::process wijkpuls::store wijkpuls::sim wijkpuls::proto absl::time spdlog::spdlog)
endif()
