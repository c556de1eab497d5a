# ctest's smoke run of refpos-bench-hq (CMakeLists.txt): exit 0 or 1 passes
# (a budget may fail on a loaded machine: no timing in tests), 2 (usage) and
# 3 (head office lost events) fail, as does anything else (a crash).
# ARGS: more arguments (a list), e.g. --postgres;--instances;2.
execute_process(COMMAND ${BENCH} --events 1000 --stores 20 ${ARGS} RESULT_VARIABLE code)
if(NOT code STREQUAL "0" AND NOT code STREQUAL "1")
  message(FATAL_ERROR "refpos-bench-hq --events 1000 --stores 20 ${ARGS} exited with '${code}'")
endif()
