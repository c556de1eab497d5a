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

# --receipts and --printer: a stand-in for a network printer's raw port that
# records what it receives (or drops, or stalls), and the real plugin seen
# through an ABI 1.0 table (no render).
add_executable(print_listener ${CMAKE_CURRENT_LIST_DIR}/printer/print_listener.cpp)
target_link_libraries(print_listener PRIVATE refpos_warnings)
add_library(refpos_abi10_plugin MODULE ${CMAKE_CURRENT_LIST_DIR}/printer/abi10_plugin.c)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/printer/abi10_plugin.c
  PROPERTIES LANGUAGE C)
target_include_directories(refpos_abi10_plugin PRIVATE ${PROJECT_SOURCE_DIR}/sdk/include)
target_link_libraries(refpos_abi10_plugin PRIVATE ${CMAKE_DL_LIBS} refpos_c_warnings)
set_target_properties(refpos_abi10_plugin PROPERTIES C_VISIBILITY_PRESET hidden)
add_test(NAME integration.terminal_printer
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/terminal_test.sh
          $<TARGET_FILE:refpos-terminal> $<TARGET_FILE:refpos> ${PROJECT_SOURCE_DIR} printer)
set_tests_properties(integration.terminal_printer PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "PRINT_LISTENER=$<TARGET_FILE:print_listener>;ABI10_PLUGIN=$<TARGET_FILE:refpos_abi10_plugin>")
