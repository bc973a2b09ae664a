# libFuzzer targets (WIJKPULS_FUZZ=ON, clang only). record_fuzz feeds
# arbitrary bytes through decode, the field checks, the quality flags and the
# record processor; scripts/fuzz.sh builds it in build-fuzz/ and runs it.
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
  foreach(lib proto validate score store ingest sim)
    target_compile_options(wijkpuls_${lib} PRIVATE -fsanitize=fuzzer-no-link ${WIJKPULS_FUZZ_SANITIZE})
    target_link_options(wijkpuls_${lib} INTERFACE -fsanitize=address,undefined)
  endforeach()

  # clang 14 cannot yet capture a structured binding in a lambda (C++20,
  # P1091R3/P1381R1; clang 16 can): validate/methodology.cc:245 does. Until
  # that line is changed, the fuzz build compiles a copy of methodology.cc
  # with the capture spelled as an init-capture; the project's file and the
  # GCC builds are untouched. This block does nothing once the line is gone.
  set(_wp_methodology ${PROJECT_SOURCE_DIR}/validate/methodology.cc)
  set(_wp_clang14_from "[&](const IndexDef& x) { return x.id == index; }")
  set(_wp_clang14_to "[&id = index](const IndexDef& x) { return x.id == id; }")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_wp_methodology})
  file(READ ${_wp_methodology} _wp_text)
  string(FIND "${_wp_text}" "${_wp_clang14_from}" _wp_at)
  if(_wp_at GREATER -1 AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
    message(WARNING "fuzz: validate/methodology.cc:245 captures a structured binding in a "
      "lambda, which clang ${CMAKE_CXX_COMPILER_VERSION} rejects; the fuzz build compiles a "
      "patched copy (tests/fuzz/fuzz.cmake)")
    string(REPLACE "${_wp_clang14_from}" "${_wp_clang14_to}" _wp_text "${_wp_text}")
    set(_wp_copy ${CMAKE_CURRENT_BINARY_DIR}/fuzz-clang14/validate/methodology.cc)
    file(WRITE ${_wp_copy}.new "${_wp_text}")
    configure_file(${_wp_copy}.new ${_wp_copy} COPYONLY)
    get_target_property(_wp_sources wijkpuls_validate SOURCES)
    list(TRANSFORM _wp_sources REPLACE "^methodology\\.cc$" "${_wp_copy}")
    set_property(TARGET wijkpuls_validate PROPERTY SOURCES ${_wp_sources})
  endif()

  add_executable(record_fuzz ${CMAKE_CURRENT_LIST_DIR}/record_fuzz.cc
    ${CMAKE_CURRENT_LIST_DIR}/field_mutator.cc ${CMAKE_CURRENT_LIST_DIR}/seed_corpus.cc)
  target_compile_options(record_fuzz PRIVATE ${WIJKPULS_WARNINGS}
    -fsanitize=fuzzer ${WIJKPULS_FUZZ_SANITIZE})
  target_link_options(record_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_include_directories(record_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(record_fuzz PRIVATE WIJKPULS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(record_fuzz PRIVATE
    wijkpuls::ingest wijkpuls::store wijkpuls::sim wijkpuls::proto absl::time spdlog::spdlog)
endif()
