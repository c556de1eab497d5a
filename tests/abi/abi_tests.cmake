# Compatibility hosts can rely on (issue 10, part 4); included from
# tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
#
# abi.old_header_host      a C99 host built against the frozen 1.0 header runs
#                          a checkout through today's plugin
# abi.newer_version_refused  ABI 1.99 and 2.0 are refused with REFPOS_E_VERSION
#                          and a NULL table; 1.0 is still served
# abi.compliance           abi-compliance-checker finds no break between the
#                          committed dump of the last release (abi/dumps/) and
#                          the plugin just built (how to refresh: abi/README.md)

# The include path is the frozen header's folder only: sdk/include must not
# leak in (so the host does not link the refpos target, whose interface
# carries it).
add_executable(refpos_old_host abi/old_host.c)
set_source_files_properties(abi/old_host.c PROPERTIES LANGUAGE C)
target_include_directories(refpos_old_host PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/abi/refpos-1.0)
target_link_libraries(refpos_old_host PRIVATE ${CMAKE_DL_LIBS} refpos_c_warnings)
add_dependencies(refpos_old_host refpos)
if(REFPOS_SANITIZE)
  # The plugin is C++: a C host must carry UBSan's C++ runtime for it.
  set_target_properties(refpos_old_host PROPERTIES LINKER_LANGUAGE CXX)
endif()
add_test(NAME abi.old_header_host COMMAND refpos_old_host $<TARGET_FILE:refpos> checkout)
add_test(NAME abi.newer_version_refused COMMAND refpos_old_host $<TARGET_FILE:refpos> versions)
set_tests_properties(abi.old_header_host abi.newer_version_refused PROPERTIES LABELS abi)

find_program(REFPOS_ABI_DUMPER abi-dumper)
find_program(REFPOS_ABI_COMPLIANCE_CHECKER abi-compliance-checker)
if(REFPOS_ABI_DUMPER AND REFPOS_ABI_COMPLIANCE_CHECKER)
  # abi-dumper reads the DWARF that -g gives in every preset (DWARF 5 from
  # GCC 12 and clang 14 reads the same as DWARF 4 here), so the plugin needs
  # no flags of its own for this test.
  add_test(NAME abi.compliance
    COMMAND ${CMAKE_COMMAND}
            -DABI_DUMPER=${REFPOS_ABI_DUMPER}
            -DABI_COMPLIANCE_CHECKER=${REFPOS_ABI_COMPLIANCE_CHECKER}
            -DLIB=$<TARGET_FILE:refpos>
            -DPUBLIC_HEADERS=${PROJECT_SOURCE_DIR}/sdk/include/refpos
            -DOLD_DUMP=${CMAKE_CURRENT_SOURCE_DIR}/abi/dumps/librefpos-1.1.dump
            -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/abi_compliance
            -P ${CMAKE_CURRENT_SOURCE_DIR}/abi/check_compliance.cmake)
  set_tests_properties(abi.compliance PROPERTIES LABELS abi)
else()
  message(STATUS "abi-dumper or abi-compliance-checker not found: abi.compliance is not registered "
                 "(Debian: apt-get install abi-dumper abi-compliance-checker)")
endif()
