# Threads (issue 10, part 5): a host that dlopens the real plugin and uses it
# from many threads at once, as the header's per-call thread-safety promises
# allow. Runs in every build; the "tsan" preset builds only the plugin and
# this test and runs it under ThreadSanitizer (ctest --preset tsan).
add_executable(refpos_threads_test
  ${CMAKE_CURRENT_SOURCE_DIR}/threads/threads_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/integration/plugin.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/support/temp_dir.cpp)
target_include_directories(refpos_threads_test PRIVATE
  ${PROJECT_SOURCE_DIR}/sdk/include ${CMAKE_CURRENT_SOURCE_DIR}/support
  ${CMAKE_CURRENT_SOURCE_DIR}/integration)
target_link_libraries(refpos_threads_test PRIVATE
  nlohmann_json::nlohmann_json SQLite::SQLite3 ${CMAKE_DL_LIBS} Threads::Threads refpos_warnings)
target_compile_definitions(refpos_threads_test PRIVATE
  REFPOS_PLUGIN_PATH="$<TARGET_FILE:refpos>")
add_dependencies(refpos_threads_test refpos)
foreach(scenario shared_handle last_error entry_point distinct_stores same_folder)
  add_test(NAME threads.${scenario} COMMAND refpos_threads_test ${scenario})
  set_tests_properties(threads.${scenario} PROPERTIES LABELS threads)
endforeach()

# ThreadSanitizer's runtime lives in the executable, as the sanitizers' do
# under REFPOS_SANITIZE: the plugin cannot resolve it at link time, so the
# plugin's -z defs is undone for this build only (ld honours the last -z).
if(CMAKE_CXX_FLAGS MATCHES "-fsanitize=thread")
  target_link_options(refpos PRIVATE -Wl,-z,undefs)
endif()
