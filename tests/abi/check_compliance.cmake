# Fails if the freshly built plugin breaks the ABI of the committed dump of
# the last release: dumps LIB with abi-dumper, then compares the two with
# abi-compliance-checker (exit status 0: compatible, 1: incompatible, other:
# the tool failed). The HTML report is left in WORK_DIR for a reader.
# Run as: cmake -DABI_DUMPER=... -DABI_COMPLIANCE_CHECKER=... -DLIB=librefpos.so
#   -DPUBLIC_HEADERS=sdk/include/refpos -DOLD_DUMP=... -DWORK_DIR=... -P check_compliance.cmake
foreach(var ABI_DUMPER ABI_COMPLIANCE_CHECKER LIB PUBLIC_HEADERS OLD_DUMP WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "check_compliance.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${OLD_DUMP}")
  message(FATAL_ERROR "no committed ABI dump at ${OLD_DUMP} (see tests/abi/README.md)")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
# The real file, not the librefpos.so symlink, as at a release.
get_filename_component(lib_real "${LIB}" REALPATH)

execute_process(
  COMMAND ${ABI_DUMPER} ${lib_real} -o ${WORK_DIR}/librefpos-current.dump -lver current
          -public-headers ${PUBLIC_HEADERS}
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "abi-dumper failed on ${lib_real} (status ${rc}):\n${out}")
endif()

execute_process(
  COMMAND ${ABI_COMPLIANCE_CHECKER} -l refpos -old ${OLD_DUMP}
          -new ${WORK_DIR}/librefpos-current.dump
          -report-path ${WORK_DIR}/report.html
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(rc EQUAL 1)
  message(FATAL_ERROR "ABI break against ${OLD_DUMP}: see ${WORK_DIR}/report.html")
elseif(NOT rc EQUAL 0)
  message(FATAL_ERROR "abi-compliance-checker failed (status ${rc})")
endif()
