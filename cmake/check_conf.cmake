# Fails when the shipped rankd.conf (SHIPPED) differs from what the built
# rankd (RANKD) prints with --print-config; the printed text goes to OUT so
# the difference can be looked at, or copied over SHIPPED.
#   cmake -DRANKD=... -DSHIPPED=... -DOUT=... -P check_conf.cmake
execute_process(COMMAND ${RANKD} --print-config OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "rankd --print-config exited with ${rc}")
endif()
file(READ ${OUT} printed)
file(READ ${SHIPPED} shipped)
if(NOT printed STREQUAL shipped)
  message(FATAL_ERROR "${SHIPPED} is not what `rankd --print-config` prints (see ${OUT}); "
                      "regenerate it: cmake --build <build dir> --target rankd-conf")
endif()
