# Installing refpos like any C library (issue 10, part 1).
#
#   cmake --install build/release --prefix /opt/refpos   # or DESTDIR=... cmake --install
#   cd build/release && cpack -G DEB                     # refpos_<version>_<arch>.deb
#
# What is installed (GNUInstallDirs, relative to the prefix):
#   lib/librefpos.so.0.1.0, .so.0 (SONAME), .so   the plugin
#   include/refpos/refpos.h                        the C ABI, the only public header
#   lib/pkgconfig/refpos.pc                        pkg-config
#   lib/cmake/refpos/refposConfig*.cmake           find_package(refpos CONFIG) -> refpos::refpos
#   share/refpos/schema/v1/*.json                  the JSON Schemas of requests and answers
#   share/doc/refpos/api.md, receipts.md           the API and receipt references
#   bin/refpos-terminal                            the reference POS host
# The static core (refpos_core), the tests, the benchmarks and the build-time
# font tool are never installed. The receipt template and logo are compiled
# into the plugin, so there are no assets to install.
#
# Hosts usually dlopen() the plugin and need only the header; linking
# -lrefpos (pkg-config) or refpos::refpos (CMake) is for hosts that call
# refpos_get_api() directly. Both ways are tested by tests/install/.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(REFPOS_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/refpos)
set(REFPOS_PKGCONFIG_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
set(REFPOS_SCHEMA_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/refpos/schema)

# The plugin: the versioned file, the SONAME link (runtime) and the
# unversioned link (for -lrefpos and dlopen("librefpos.so")). INCLUDES
# DESTINATION gives the exported refpos::refpos its INTERFACE include dir.
install(TARGETS refpos EXPORT refposTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/sdk/include/refpos/refpos.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/refpos)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/schema/v1/
  DESTINATION ${REFPOS_SCHEMA_INSTALL_DIR}/v1
  FILES_MATCHING PATTERN "*.schema.json")
install(FILES ${PROJECT_SOURCE_DIR}/docs/api.md ${PROJECT_SOURCE_DIR}/docs/receipts.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(TARGETS refpos-terminal RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# pkg-config. The prefix is written relative to the .pc file (${pcfiledir}),
# so one refpos.pc is right wherever the tree is installed: --prefix, DESTDIR,
# a .deb, or a copied folder. Linking is optional: see refpos.pc.in.
# (An absolute install dir given on the command line is written as it is.)
if(IS_ABSOLUTE "${REFPOS_PKGCONFIG_INSTALL_DIR}")
  set(REFPOS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH REFPOS_PC_UP "/${REFPOS_PKGCONFIG_INSTALL_DIR}" "/")
  string(REGEX REPLACE "/$" "" REFPOS_PC_UP "${REFPOS_PC_UP}")  # "../../" -> "../.."
  set(REFPOS_PC_PREFIX "\${pcfiledir}/${REFPOS_PC_UP}")
endif()
function(refpos_pc_path out path)
  if(IS_ABSOLUTE "${path}")
    set(${out} "${path}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${path}" PARENT_SCOPE)
  endif()
endfunction()
refpos_pc_path(REFPOS_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
refpos_pc_path(REFPOS_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
refpos_pc_path(REFPOS_PC_SCHEMA "${REFPOS_SCHEMA_INSTALL_DIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/refpos.pc.in
               ${PROJECT_BINARY_DIR}/packaging/refpos.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/refpos.pc
  DESTINATION ${REFPOS_PKGCONFIG_INSTALL_DIR})

# CMake package: find_package(refpos CONFIG) gives refpos::refpos (the
# shared library, with the header folder as its INTERFACE include dir) and
# refpos_SCHEMA_DIR.
# Paths in it are relative to the config file, so it relocates too.
install(EXPORT refposTargets NAMESPACE refpos::
  DESTINATION ${REFPOS_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/refposConfig.cmake.in
  ${PROJECT_BINARY_DIR}/packaging/refposConfig.cmake
  INSTALL_DESTINATION ${REFPOS_CMAKE_INSTALL_DIR}
  PATH_VARS REFPOS_SCHEMA_INSTALL_DIR)
# SameMajorVersion: the SONAME, like the ABI, changes with the major only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/packaging/refposConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/packaging/refposConfig.cmake
              ${PROJECT_BINARY_DIR}/packaging/refposConfigVersion.cmake
  DESTINATION ${REFPOS_CMAKE_INSTALL_DIR})

# CPack: one Debian package, refpos, with the plugin, header, schemas, docs,
# pkg-config and CMake files, and refpos-terminal. The binaries are stripped
# (the build is RelWithDebInfo).
set(CPACK_PACKAGE_NAME refpos)
set(CPACK_PACKAGE_VENDOR "refpos")
set(REFPOS_PACKAGE_MAINTAINER "refpos maintainers <maintainers@refpos.invalid>" CACHE STRING
  "Maintainer field of the .deb (Name <email>)")
set(CPACK_PACKAGE_CONTACT "${REFPOS_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "referral codes and rewards plugin for point-of-sale terminals")
set(CPACK_PACKAGE_DESCRIPTION
  "librefpos.so is loaded by a POS host through a small, versioned C ABI
(refpos/refpos.h). It issues short referral codes that can be checked
offline, redeems them against a local SQLite store with double-sided
rewards, and keeps every fact in a hash-chained event log. Requests and
answers are JSON. The package also holds the JSON Schemas, pkg-config and
CMake files, and refpos-terminal, the reference POS host.")
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # refpos_0.1.0_amd64.deb
# A shlibs file, so that packages built against librefpos.so.0 get
# "Depends: refpos (>= <this version>)" from their own dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
find_program(REFPOS_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(REFPOS_DPKG_SHLIBDEPS)
if(REFPOS_DPKG_SHLIBDEPS)
  # Depends: computed from the ELF files (libssl3, libsqlite3-0, libpng16-16, ...).
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
include(CPack)
