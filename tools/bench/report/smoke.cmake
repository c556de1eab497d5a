# ctest's smoke run of refpos-bench-report (CMakeLists.txt): exit 0 or 1
# passes (a budget may fail on a loaded machine: no timing in tests), 2
# (usage) fails, as does anything else (a crash, a sanitizer report).
execute_process(COMMAND ${BENCH} --events 20000 --stores 10 --repeat 1 RESULT_VARIABLE code)
if(NOT code STREQUAL "0" AND NOT code STREQUAL "1")
  message(FATAL_ERROR "refpos-bench-report --events 20000 --stores 10 --repeat 1 exited with '${code}'")
endif()
