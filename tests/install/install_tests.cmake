# The SDK installed as vendors meet it (issue 10): cmake --install into a
# fresh prefix, the files and the SONAME, then two C hosts built against the
# prefix (pkg-config and find_package) that link and run the plugin.
# Needs the plugin and refpos-terminal built (the default target).

# The hosts are built with this build's C compiler. Under the sanitizers the
# plugin expects the ASan/UBSan runtime in the executable that loads it, so
# the hosts get the same flags; with clang a C program must also ask for
# UBSan's C++ runtime, which the C++ plugin needs, and for the C++ library
# that runtime uses (the plugin brings it anyway).
set(REFPOS_INSTALL_HOST_C_FLAGS "")
set(REFPOS_INSTALL_HOST_LINK_FLAGS "")
if(REFPOS_SANITIZE)
  set(REFPOS_INSTALL_HOST_C_FLAGS "-fsanitize=address,undefined -fno-omit-frame-pointer")
  set(REFPOS_INSTALL_HOST_LINK_FLAGS "-fsanitize=address,undefined")
  if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
    string(APPEND REFPOS_INSTALL_HOST_LINK_FLAGS " -fsanitize-link-c++-runtime -lstdc++")
  endif()
endif()

add_test(NAME install.sdk
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install-test
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DLIBDIR=${CMAKE_INSTALL_LIBDIR}
    -DVERSION=$<TARGET_PROPERTY:refpos,VERSION>
    -DSOVERSION=$<TARGET_PROPERTY:refpos,SOVERSION>
    -DOBJDUMP=${CMAKE_OBJDUMP}
    -DGENERATOR=${CMAKE_GENERATOR}
    -DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}
    -DC_COMPILER=${CMAKE_C_COMPILER}
    -DHOST_C_FLAGS=${REFPOS_INSTALL_HOST_C_FLAGS}
    -DHOST_LINK_FLAGS=${REFPOS_INSTALL_HOST_LINK_FLAGS}
    -P ${CMAKE_CURRENT_LIST_DIR}/check_install.cmake)
set_tests_properties(install.sdk PROPERTIES LABELS install TIMEOUT 300)

# The .deb: cpack from this build tree, its contents and control fields.
add_test(NAME install.deb
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/deb-test
    -DVERSION=$<TARGET_PROPERTY:refpos,VERSION>
    -DSOVERSION=$<TARGET_PROPERTY:refpos,SOVERSION>
    -P ${CMAKE_CURRENT_LIST_DIR}/check_deb.cmake)
set_tests_properties(install.deb PROPERTIES LABELS install TIMEOUT 300)
