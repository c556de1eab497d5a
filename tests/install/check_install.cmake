# Installs the build tree into a fresh prefix and uses it as a POS vendor
# would: checks the installed files and the SONAME, then configures, builds
# and runs two small C hosts outside the source tree, one found through
# pkg-config and one through find_package(refpos CONFIG), both linking
# librefpos.so and calling refpos_get_api() directly.
#
#   cmake -DBUILD_DIR=<refpos build tree> -DWORK_DIR=<scratch folder, emptied>
#         -DSOURCE_DIR=<refpos source tree> -DLIBDIR=<CMAKE_INSTALL_LIBDIR>
#         -DVERSION=0.1.0 -DSOVERSION=0 -DOBJDUMP=<objdump>
#         -DGENERATOR=<generator> [-DMAKE_PROGRAM=<ninja>]
#         -DC_COMPILER=<cc> [-DHOST_C_FLAGS=...] [-DHOST_LINK_FLAGS=...]
#         -P check_install.cmake
#
# HOST_*_FLAGS carry the sanitizer flags of an ASan build: a plugin built
# with -fsanitize=address,undefined only loads into a host built with them.
cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR WORK_DIR SOURCE_DIR LIBDIR VERSION SOVERSION OBJDUMP GENERATOR C_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_install.cmake: -D${var}=... is required")
  endif()
endforeach()

set(failures 0)
macro(fail what)
  message(SEND_ERROR "check failed: ${what}")
  math(EXPR failures "${failures} + 1")
endmacro()

# Runs a command; stops the test with its output if it fails.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

# 1. cmake --install, and what it put where.
run("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

set(lib "${prefix}/${LIBDIR}")
set(real "librefpos.so.${VERSION}")
set(soname "librefpos.so.${SOVERSION}")
if(NOT EXISTS "${lib}/${real}" OR IS_SYMLINK "${lib}/${real}")
  fail("${lib}/${real} is a file")
endif()
foreach(link_and_target "${soname}>${real}" "librefpos.so>${soname}")
  string(REPLACE ">" ";" pair "${link_and_target}")
  list(GET pair 0 link)
  list(GET pair 1 target)
  if(IS_SYMLINK "${lib}/${link}")
    file(READ_SYMLINK "${lib}/${link}" points_to)
    if(NOT points_to STREQUAL target)
      fail("${link} -> ${target} (it points to ${points_to})")
    endif()
  else()
    fail("${lib}/${link} is a symbolic link")
  endif()
endforeach()
foreach(file
    include/refpos/refpos.h
    ${LIBDIR}/pkgconfig/refpos.pc
    ${LIBDIR}/cmake/refpos/refposConfig.cmake
    ${LIBDIR}/cmake/refpos/refposConfigVersion.cmake
    ${LIBDIR}/cmake/refpos/refposTargets.cmake
    share/doc/refpos/api.md
    share/doc/refpos/receipts.md
    bin/refpos-terminal)
  if(NOT EXISTS "${prefix}/${file}")
    fail("${file} is installed")
  endif()
endforeach()
file(GLOB schemas_in_tree RELATIVE "${SOURCE_DIR}/sdk/schema/v1"
     "${SOURCE_DIR}/sdk/schema/v1/*.schema.json")
file(GLOB schemas_installed RELATIVE "${prefix}/share/refpos/schema/v1"
     "${prefix}/share/refpos/schema/v1/*.schema.json")
list(LENGTH schemas_in_tree schema_count)
if(schema_count EQUAL 0 OR NOT schemas_installed STREQUAL schemas_in_tree)
  fail("every schema of sdk/schema/v1 (${schema_count}) is in share/refpos/schema/v1")
endif()
# Nothing private: no static core, no tests, no benchmarks, no build tools.
file(GLOB_RECURSE private_files "${prefix}/*.a" "${prefix}/*_tests" "${prefix}/*bench*"
     "${prefix}/*c_host*" "${prefix}/*psf_to_cpp*" "${prefix}/*fuzz*")
if(private_files)
  fail("nothing private is installed (found: ${private_files})")
endif()

execute_process(COMMAND "${OBJDUMP}" -p "${lib}/${real}" OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
string(REGEX MATCH "SONAME +([^\n]+)" _ "${headers}")
if(NOT rc EQUAL 0 OR NOT CMAKE_MATCH_1 STREQUAL soname)
  fail("objdump -p: SONAME ${soname} (got '${CMAKE_MATCH_1}', objdump ${rc})")
endif()

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} check(s) of the installed tree failed")
endif()

run("bin/refpos-terminal --version" "${prefix}/bin/refpos-terminal" --version)

# 2. Two hosts, copied out of the source tree so that only the prefix can
# provide the header and the library; 3. run with the prefix's lib folder.
set(configure_args -G "${GENERATOR}" -DCMAKE_C_COMPILER=${C_COMPILER}
    "-DCMAKE_C_FLAGS=${HOST_C_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${HOST_LINK_FLAGS}")
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
file(REAL_PATH "${prefix}" real_prefix)
foreach(host host_pkgconfig host_find_package)
  set(source "${WORK_DIR}/${host}/src")
  set(build "${WORK_DIR}/${host}/build")
  file(COPY "${SOURCE_DIR}/tests/install/${host}/" DESTINATION "${source}")
  # One host program, found two ways (host_pkgconfig/, host_find_package/).
  file(COPY "${SOURCE_DIR}/tests/install/host.c" DESTINATION "${source}")
  run("${host}: configure"
      ${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${lib}/pkgconfig"
      ${CMAKE_COMMAND} -S "${source}" -B "${build}" ${configure_args}
      "-DCMAKE_PREFIX_PATH=${prefix}")

  # The host found this prefix, not another refpos on the machine.
  file(STRINGS "${build}/CMakeCache.txt" found
       REGEX "^(refpos_DIR|REFPOS_INCLUDEDIR)[:=]")
  string(REGEX REPLACE "^[^=]*=" "" found "${found}")
  set(at -1)
  if(found)
    file(REAL_PATH "${found}" found)
    string(FIND "${found}" "${real_prefix}/" at)
  endif()
  if(NOT at EQUAL 0)
    fail("${host} found refpos in ${real_prefix} (it found '${found}')")
  endif()

  run("${host}: build" ${CMAKE_COMMAND} --build "${build}")
  file(MAKE_DIRECTORY "${WORK_DIR}/${host}/store")
  run("${host}: run"
      ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${lib}"
      "${build}/host" "${WORK_DIR}/${host}/store")
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} check(s) failed")
endif()
