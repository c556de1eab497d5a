# Java host (issue 10, part 3): the JNA binding in sdk/java/src/refpos is
# compiled with javac into the build tree (target refpos_java, part of ALL)
# and runs the referral checkout, call (ABI 1.2) and sync (ABI 1.3) against
# this build's librefpos.so; sync against this build's refpos-hq, with a
# chain made by its refposctl.
# include()d from tests/CMakeLists.txt, hence the PROJECT_SOURCE_DIR paths.
#
# Under REFPOS_SANITIZE the plugin expects the sanitizer runtime in the host
# executable; java is not built with it, so the tests preload the compiler's
# shared ASan runtime (which carries UBSan too) and set ASAN_OPTIONS the JVM
# can live with (sdk/java/README.md says why each one).

find_package(Java 17 QUIET COMPONENTS Development Runtime)
find_file(REFPOS_JNA_JAR jna.jar PATHS /usr/share/java
          DOC "JNA jar for the Java host (Debian: libjna-java)")

if(NOT Java_FOUND OR NOT Java_JAVAC_EXECUTABLE OR NOT Java_JAVA_EXECUTABLE)
  message(WARNING "Java 17 (javac, java) not found: the Java host tests are "
                  "skipped (Debian: default-jdk-headless, see tools/deps.sh)")
  return()
endif()
if(NOT REFPOS_JNA_JAR)
  message(WARNING "jna.jar not found: the Java host tests are skipped "
                  "(Debian: libjna-java, see tools/deps.sh; or set REFPOS_JNA_JAR)")
  return()
endif()

set(REFPOS_JAVA_SOURCES
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/RefposException.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/Refpos.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/Store.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/SyncProgress.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/MiniJson.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/Checks.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/CheckoutDemo.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/CallCheck.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/HeadOffice.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/SyncCheck.java
  ${PROJECT_SOURCE_DIR}/sdk/java/src/refpos/LoadTime.java)
set(REFPOS_JAVA_CLASSES ${PROJECT_BINARY_DIR}/sdk/java/classes)
set(REFPOS_JAVA_STAMP ${PROJECT_BINARY_DIR}/sdk/java/classes.stamp)

# The classes folder is emptied first so that a deleted .java leaves no
# stale .class behind.
add_custom_command(
  OUTPUT ${REFPOS_JAVA_STAMP}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${REFPOS_JAVA_CLASSES}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${REFPOS_JAVA_CLASSES}
  COMMAND ${Java_JAVAC_EXECUTABLE} --release 17 -encoding UTF-8 -Xlint:all
          $<$<BOOL:${REFPOS_WERROR}>:-Werror>
          -cp ${REFPOS_JNA_JAR} -d ${REFPOS_JAVA_CLASSES} ${REFPOS_JAVA_SOURCES}
  COMMAND ${CMAKE_COMMAND} -E touch ${REFPOS_JAVA_STAMP}
  DEPENDS ${REFPOS_JAVA_SOURCES}
  COMMENT "javac: sdk/java (JNA host)"
  VERBATIM)
add_custom_target(refpos_java ALL DEPENDS ${REFPOS_JAVA_STAMP})

set(REFPOS_JAVA_CLASSPATH "${REFPOS_JAVA_CLASSES}:${REFPOS_JNA_JAR}")

# Environment for a JVM that loads the sanitized plugin.
set(REFPOS_JAVA_ENV "")
if(REFPOS_SANITIZE)
  refpos_sanitizer_preload(_refpos_preload)
  if(NOT _refpos_preload)
    message(WARNING "the Java host tests are skipped in this build")
    return()
  endif()
  # detect_leaks=0: LeakSanitizer would report the JVM's own allocations (and
  #   dies under the JVM's threads); leaks in the plugin are the C++ tests' job.
  # handle_segv=0, allow_user_segv_handler=1, use_sigaltstack=0: the JVM
  #   turns SIGSEGV into NullPointerException and uses guard pages, so its
  #   handlers must win and run on its own stacks.
  list(APPEND REFPOS_JAVA_ENV
    "LD_PRELOAD=${_refpos_preload}"
    "ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:use_sigaltstack=0:strict_string_checks=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()

# ctest alone (after building only the plugin) still gets the classes: this
# fixture brings refpos_java up to date first, a no-op after a full build.
add_test(NAME java.classes
         COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target refpos_java)
set_tests_properties(java.classes PROPERTIES
  LABELS java FIXTURES_SETUP refpos_java_classes)

# The referral story; the data folder is deleted and made afresh by the demo.
add_test(NAME java.checkout_demo
         COMMAND ${Java_JAVA_EXECUTABLE} -cp ${REFPOS_JAVA_CLASSPATH} refpos.CheckoutDemo
                 $<TARGET_FILE:refpos> ${PROJECT_BINARY_DIR}/sdk/java/checkout-demo)
set_tests_properties(java.checkout_demo PROPERTIES
  LABELS java FIXTURES_REQUIRED refpos_java_classes
  ENVIRONMENT "${REFPOS_JAVA_ENV}" TIMEOUT 120)

# call (ABI 1.2): the referral loop's operations and their refusals; and,
# through the ABI 1.0 shim of the terminal tests (which loads the real plugin
# named by REFPOS_ABI10_TARGET), VERSION from call and sync on an older
# plugin.
set(_refpos_java_call_args $<TARGET_FILE:refpos> ${PROJECT_BINARY_DIR}/sdk/java/call-check)
set(_refpos_java_call_env ${REFPOS_JAVA_ENV})
if(TARGET refpos_abi10_plugin)
  list(APPEND _refpos_java_call_args $<TARGET_FILE:refpos_abi10_plugin>)
  list(APPEND _refpos_java_call_env "REFPOS_ABI10_TARGET=$<TARGET_FILE:refpos>")
endif()
add_test(NAME java.call_check
         COMMAND ${Java_JAVA_EXECUTABLE} -cp ${REFPOS_JAVA_CLASSPATH} refpos.CallCheck
                 ${_refpos_java_call_args})
set_tests_properties(java.call_check PROPERTIES
  LABELS java FIXTURES_REQUIRED refpos_java_classes
  ENVIRONMENT "${_refpos_java_call_env}" TIMEOUT 120)

# sync (ABI 1.3) against a real refpos-hq on 127.0.0.1 (port 0), with a chain
# and stores made by refposctl: progress, what it throws, the errors.
if(TARGET refpos-hq AND TARGET refposctl)
  add_test(NAME java.sync_check
           COMMAND ${Java_JAVA_EXECUTABLE} -cp ${REFPOS_JAVA_CLASSPATH} refpos.SyncCheck
                   $<TARGET_FILE:refpos> ${PROJECT_BINARY_DIR}/sdk/java/sync-check
                   $<TARGET_FILE:refpos-hq> $<TARGET_FILE:refposctl>)
  set_tests_properties(java.sync_check PROPERTIES
    LABELS java FIXTURES_REQUIRED refpos_java_classes
    ENVIRONMENT "${REFPOS_JAVA_ENV}" TIMEOUT 120)
endif()

# The command tools/bench/sdk/run uses, with few rounds: it must print its
# one line.
add_test(NAME java.load_time
         COMMAND ${Java_JAVA_EXECUTABLE} -cp ${REFPOS_JAVA_CLASSPATH} refpos.LoadTime
                 $<TARGET_FILE:refpos> 5)
set_tests_properties(java.load_time PROPERTIES
  LABELS java FIXTURES_REQUIRED refpos_java_classes
  ENVIRONMENT "${REFPOS_JAVA_ENV}" TIMEOUT 120
  PASS_REGULAR_EXPRESSION "java load\\+open median_ms=[0-9]+\\.[0-9]+ p90_ms=[0-9]+\\.[0-9]+")
