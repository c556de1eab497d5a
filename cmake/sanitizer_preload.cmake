# refpos_sanitizer_preload(<out_var>): what LD_PRELOAD must hold for a host
# that is not itself instrumented (python3, java) to load a REFPOS_SANITIZE
# build of librefpos.so, whose ASan/UBSan runtime is not linked into the .so.
# clang: its shared ASan runtime, which carries UBSan's handlers too; GCC: its
# separate libasan and libubsan. Sets <out_var> to the ':'-joined paths, or to
# "" (with a warning naming what is missing) when the compiler has no shared
# runtime; "" too when REFPOS_SANITIZE is off.
function(refpos_sanitizer_preload out_var)
  set(${out_var} "" PARENT_SCOPE)
  if(NOT REFPOS_SANITIZE)
    return()
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set(names libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
  else()
    set(names libasan.so libubsan.so)
  endif()
  set(paths "")
  foreach(name IN LISTS names)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${name}
                    OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE)
    # -print-file-name echoes the bare name back when it finds nothing.
    if(NOT IS_ABSOLUTE "${path}" OR NOT EXISTS "${path}")
      message(WARNING "${CMAKE_CXX_COMPILER} has no shared sanitizer runtime ${name}: "
                      "hosts that are not instrumented cannot load this build's plugin")
      return()
    endif()
    list(APPEND paths ${path})
  endforeach()
  list(JOIN paths ":" paths)
  set(${out_var} "${paths}" PARENT_SCOPE)
endfunction()
