# refpos_hq_core: the head office's protocol logic and its storage (SQLite,
# or PostgreSQL through libpq), without the network, so tests link it
# directly (tests/hq/), and the SQLite-to-PostgreSQL migration that
# refposctl runs (migrate.cpp). The server executable (tools/hq/CMakeLists.txt)
# includes this file and links it. No Boost.Asio/Beast here: server.cpp
# stays out, so refposctl links this library without them.
add_library(refpos_hq_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/service.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sqlite_storage.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pg_storage.cpp
  ${CMAKE_CURRENT_LIST_DIR}/migrate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage_reports.cpp
)
target_include_directories(refpos_hq_core PUBLIC ${PROJECT_SOURCE_DIR}/tools)
# refpos_report is public: storage_reports.hpp hands its types out.
target_link_libraries(refpos_hq_core PUBLIC refpos_core refpos_report
  PRIVATE refpos_warnings PostgreSQL::PostgreSQL)
