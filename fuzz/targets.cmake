# The fuzz targets, shared by fuzz/CMakeLists.txt (libFuzzer binaries, clang,
# TXSCREEN_FUZZ=ON) and tests/CMakeLists.txt (corpus replays, every build).
# fuzz/<name>.cc defines LLVMFuzzerTestOneInput; fuzz/corpus/<name>/ holds the
# committed inputs: seeds, and every crash found once it is fixed.
set(TXSCREEN_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)
set(TXSCREEN_FUZZ_TARGETS
  rule_pack_fuzzer
  expression_fuzzer
  transaction_json_fuzzer
  transaction_proto_fuzzer
  transaction_decoder_fuzzer
  csv_mapping_fuzzer
  record_chunk_fuzzer
  entity_value_fuzzer
)

if(NOT TARGET txscreen_fuzz_support)
  add_library(txscreen_fuzz_support STATIC
    ${TXSCREEN_FUZZ_DIR}/fuzz_support.cc
    ${TXSCREEN_FUZZ_DIR}/screening_harness.cc)
  target_compile_options(txscreen_fuzz_support PRIVATE ${TXSCREEN_WARNINGS})
  target_compile_definitions(txscreen_fuzz_support PUBLIC
    TXSCREEN_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(txscreen_fuzz_support PUBLIC txscreen_compliance)
endif()
