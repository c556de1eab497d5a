# install.deb: cpack builds the .deb from this build tree, and the package
# holds what a vendor needs (the library with its SONAME link, the header,
# pkg-config and CMake files, the terminal) and names its dependencies.
# -D: BUILD_DIR, WORK_DIR, VERSION, SOVERSION
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
execute_process(
  COMMAND cpack -G DEB -B "${WORK_DIR}" --config "${BUILD_DIR}/CPackConfig.cmake"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cpack failed (${rc}):\n${out}\n${err}")
endif()
file(GLOB debs "${WORK_DIR}/refpos_*.deb")
list(LENGTH debs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one refpos_*.deb in ${WORK_DIR}, found: ${debs}")
endif()
execute_process(COMMAND dpkg-deb -c ${debs} RESULT_VARIABLE rc OUTPUT_VARIABLE listing)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dpkg-deb -c failed on ${debs}")
endif()
foreach(expected
    "/lib/librefpos.so.${VERSION}" "/lib/librefpos.so.${SOVERSION} ->"
    "/include/refpos/refpos.h" "/pkgconfig/refpos.pc" "/cmake/refpos/refposConfig.cmake"
    "/bin/refpos-terminal" "/share/refpos/schema/v1/commit.answer.schema.json")
  string(FIND "${listing}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the .deb lacks ${expected}:\n${listing}")
  endif()
endforeach()
execute_process(COMMAND dpkg-deb -f ${debs} Package Version Depends OUTPUT_VARIABLE fields)
if(NOT fields MATCHES "Package: refpos" OR NOT fields MATCHES "Version: ${VERSION}")
  message(FATAL_ERROR "unexpected control fields:\n${fields}")
endif()
file(SIZE ${debs} size)
message(STATUS "${debs}: ${size} bytes\n${fields}")
