# refpos-terminal end to end (tests/integration/terminal_test.sh): the real
# executable with the real librefpos.so on fresh stores in temporary folders.
# Included from tests/CMakeLists.txt; paths are relative to this file so the
# include works from any directory.
foreach(part IN ITEMS day cli interactive)
  if(part STREQUAL "day")
    set(name integration.terminal_script)
  else()
    set(name integration.terminal_${part})
  endif()
  add_test(NAME ${name}
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/terminal_test.sh
            $<TARGET_FILE:refpos-terminal> $<TARGET_FILE:refpos> ${PROJECT_SOURCE_DIR} ${part})
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 120)
endforeach()
