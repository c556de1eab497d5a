# The Python package (sdk/python/refpos) against the built librefpos.so:
# pytest runs sdk/python/tests with REFPOS_PLUGIN set to the plugin,
# REFPOS_ABI10_PLUGIN to the ABI 1.0 shim of the terminal tests (what an
# older plugin does), and REFPOS_TEST_HQ / REFPOS_TEST_CTL to refpos-hq and
# refposctl, for a real sync (tests/head_office.py). Tests whose program is
# not there are skipped.
# Included from tests/CMakeLists.txt, so paths start at PROJECT_SOURCE_DIR.
#
# The interpreter is the first of $REFPOS_PYTHON (cache), python3 on PATH and
# /usr/bin/python3 that can import pytest (Debian: python3-pytest): a python3
# from pyenv or a venv often lacks it.
#
# Sanitizer builds: librefpos.so carries ASan/UBSan instrumentation but not
# their runtime, and python3 is not instrumented, so the runtime must be the
# first library loaded: LD_PRELOAD the compiler's shared ASan runtime. Clang's
# (libclang_rt.asan-<arch>.so) also holds every UBSan handler the plugin
# calls, UBSan's C++ ones included, so it is the only one preloaded (two
# sanitizer runtimes in one process refuse to start). Leak checking is off:
# CPython keeps its allocations until exit by design. A memory error in the
# plugin still ends python3 with ASan's report and exit 1 (checked with a
# heap overflow in a library loaded the same way through ctypes), failing
# the test as it would fail a C++ test.

if(NOT REFPOS_PYTHON)
  find_program(_refpos_path_python3 NAMES python3)
  foreach(_candidate IN ITEMS "${_refpos_path_python3}" /usr/bin/python3)
    if(_candidate AND EXISTS "${_candidate}")
      execute_process(COMMAND "${_candidate}" -c "import pytest"
                      RESULT_VARIABLE _refpos_no_pytest OUTPUT_QUIET ERROR_QUIET)
      if(_refpos_no_pytest EQUAL 0)
        set(REFPOS_PYTHON "${_candidate}" CACHE FILEPATH "python3 that runs the Python SDK's pytest suite")
        break()
      endif()
    endif()
  endforeach()
endif()
if(NOT REFPOS_PYTHON)
  message(WARNING "No python3 with pytest found (Debian: apt-get install python3-pytest); "
                  "the test python.sdk will fail until one is installed")
  set(_refpos_python python3)
else()
  set(_refpos_python "${REFPOS_PYTHON}")
endif()

set(_refpos_python_env
  "REFPOS_PLUGIN=$<TARGET_FILE:refpos>"
  "PYTHONPATH=${PROJECT_SOURCE_DIR}/sdk/python"
  "PYTHONDONTWRITEBYTECODE=1")  # keep __pycache__ out of the source tree
if(TARGET refpos_abi10_plugin)
  list(APPEND _refpos_python_env "REFPOS_ABI10_PLUGIN=$<TARGET_FILE:refpos_abi10_plugin>")
endif()
if(TARGET refpos-hq AND TARGET refposctl)
  list(APPEND _refpos_python_env
    "REFPOS_TEST_HQ=$<TARGET_FILE:refpos-hq>"
    "REFPOS_TEST_CTL=$<TARGET_FILE:refposctl>")
endif()

if(REFPOS_SANITIZE)
  refpos_sanitizer_preload(_refpos_asan_runtime)
  list(APPEND _refpos_python_env
    "LD_PRELOAD=${_refpos_asan_runtime}"
    "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()

add_test(NAME python.sdk
  COMMAND ${_refpos_python} -m pytest -q -p no:cacheprovider sdk/python/tests
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(python.sdk PROPERTIES
  LABELS python
  TIMEOUT 300
  ENVIRONMENT "${_refpos_python_env}")
