# libFuzzer targets (RANKD_FUZZ=ON, clang only), included from the top
# CMakeLists.txt so they can use the generated schema sources.
#
#   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRANKD_FUZZ=ON
#   cmake --build build-fuzz --target fuzz
#   scripts/fuzz.sh build-fuzz 20      # every target, 20 s each
#
# Each target compiles the sources it fuzzes itself, instrumented for
# coverage and with ASan and UBSan; the rest of the build is unchanged.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "RANKD_FUZZ needs clang: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRANKD_FUZZ=ON")
endif()

set(FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)
set(FUZZ_FLAGS -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
               -fno-sanitize-recover=undefined)
set(FUZZ_PROTO ${GEN}/rankd/rankd.pb-c.c ${CMAKE_SOURCE_DIR}/common/status.c)
set(FUZZ_TARGETS "")

function(rankd_fuzz name)
  add_executable(${name} ${FUZZ_DIR}/${name}.c ${ARGN})
  target_compile_options(${name} PRIVATE ${FUZZ_FLAGS})
  target_link_options(${name} PRIVATE ${FUZZ_FLAGS})
  target_include_directories(${name} PRIVATE ${FUZZ_DIR} ${CMAKE_SOURCE_DIR}/server/base
                             ${CMAKE_SOURCE_DIR}/server/domain ${CMAKE_SOURCE_DIR}/include
                             ${GEN} ${GEN}/rankd)
  target_link_libraries(${name} PRIVATE PkgConfig::PROTOBUFC)
  set(FUZZ_TARGETS ${FUZZ_TARGETS} ${name} PARENT_SCOPE)
endfunction()

set(FUZZ_REQUEST ${FUZZ_DIR}/request_check.c ${CMAKE_SOURCE_DIR}/server/domain/wire.c
                 ${CMAKE_SOURCE_DIR}/server/domain/validate.c ${CMAKE_SOURCE_DIR}/server/domain/window.c
                 ${CMAKE_SOURCE_DIR}/server/domain/json.c ${CMAKE_SOURCE_DIR}/server/domain/season.c ${FUZZ_PROTO})
rankd_fuzz(fuzz_envelope ${FUZZ_REQUEST})
rankd_fuzz(fuzz_payload ${FUZZ_REQUEST})
rankd_fuzz(fuzz_token ${CMAKE_SOURCE_DIR}/server/domain/token.c ${CMAKE_SOURCE_DIR}/server/base/base64.c ${FUZZ_PROTO})
target_link_libraries(fuzz_token PRIVATE OpenSSL::Crypto)
rankd_fuzz(fuzz_apikey ${CMAKE_SOURCE_DIR}/server/domain/credential.c)
rankd_fuzz(fuzz_config ${CMAKE_SOURCE_DIR}/server/base/config.c ${FUZZ_PROTO})
rankd_fuzz(fuzz_query ${CMAKE_SOURCE_DIR}/server/domain/query.c)
rankd_fuzz(fuzz_json ${CMAKE_SOURCE_DIR}/server/domain/json.c)
rankd_fuzz(fuzz_event ${CMAKE_SOURCE_DIR}/client/subscriber.c ${CMAKE_SOURCE_DIR}/client/dial.c ${FUZZ_PROTO})
target_include_directories(fuzz_event PRIVATE ${NNG_INCLUDE_DIR})
target_link_libraries(fuzz_event PRIVATE ${NNG_LIBRARY} Threads::Threads)

# The seed writer: an ordinary program (tests/fuzz/corpus is its output).
add_executable(fuzz_make_corpus ${FUZZ_DIR}/make_corpus.c ${FUZZ_DIR}/request_check.c)
target_include_directories(fuzz_make_corpus PRIVATE ${FUZZ_DIR})
target_link_libraries(fuzz_make_corpus PRIVATE rankd_core)

add_custom_target(fuzz DEPENDS ${FUZZ_TARGETS} fuzz_make_corpus)
