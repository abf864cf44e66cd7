# `make deb`: Debian packages through CPack, split as Debian splits a library
# (the install components of cmake/ProcctxInstall.cmake):
#   libprocctx<N>   the shared library libprocctx.so.N (N: the SONAME, docs/abi.md)
#   libprocctx-dev  headers, libprocctx.so, libprocctx.a, CMake and pkg-config files, docs,
#                   the test kit (libprocctx-testing.a, procctx-testchild);
#                   depends on libprocctx<N> of the same version
#   procctx         the command, its man page, completions and report schemas;
#                   depends on libprocctx<N> (it links the shared library)
# Who maintains the packages and where the project lives are the packager's to
# say (-DPROCCTX_DEB_MAINTAINER=..., -DPROCCTX_HOMEPAGE=...). The maintainer
# defaults to the identity the project's own history is committed under; there
# is no default homepage, and without one the packages have no Homepage field.
set(PROCCTX_DEB_MAINTAINER "Seed 23bd20ac maintainers <maintainers@users.noreply.r-seed-23bd20ac.example>"
  CACHE STRING "Maintainer field of the Debian packages: Name <email>")
set(PROCCTX_HOMEPAGE "" CACHE STRING "Homepage field of the Debian packages (none when empty)")

set(procctx_runtime_package libprocctx${PROJECT_VERSION_MAJOR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME procctx)
set(CPACK_PACKAGE_VENDOR "procctx")
set(CPACK_PACKAGE_CONTACT "${PROCCTX_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PROCCTX_DEB_MAINTAINER}")
if(PROCCTX_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PROCCTX_HOMEPAGE}")
endif()
# Each package's description below starts with its own synopsis line. CPack
# would put the package-wide summary above it unless that summary is CPack's
# default text, so it is set to exactly that text.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
if(TARGET procctx_cli)
  list(APPEND CPACK_COMPONENTS_ALL cli)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # <package>_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(procctx_about
  "procctx runs child processes on Linux under Go-style contexts (cancellation
trees with deadlines): no zombie, thread or fd leaked per child, whole-tree
stops, bounded waits on pipes held by grandchildren, and outcomes that tell
exits from signals.")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${procctx_runtime_package})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)  # libc6, libstdc++6, libgcc-s1
# DEBIAN/shlibs: a program linked against this version needs this version or a later one of the same SONAME.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "run child processes under Go-style contexts (C++ library)
${procctx_about}

This package holds the shared library libprocctx.so.${PROJECT_VERSION_MAJOR}.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libprocctx-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${procctx_runtime_package} (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_DEV_DESCRIPTION "run child processes under Go-style contexts (C++ development files)
${procctx_about}

This package holds the C++20 headers, the static library, the CMake package
(procctx::procctx, procctx::procctx_static, procctx::testing), the pkg-config
files (procctx, procctx-static, procctx-testing), the documentation, and the
test kit: libprocctx-testing.a (failures on demand, a test clock, assertions)
and procctx-testchild, a child that misbehaves on request.")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME procctx)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)  # libc6, libstdc++6, libgcc-s1
if(PROCCTX_BUILD_SHARED)
  # dpkg-shlibdeps cannot name the package of a library that is being packaged
  # in the same run, so this dependency is written here.
  set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "${procctx_runtime_package} (>= ${PROJECT_VERSION})")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "../runtime/usr/${CMAKE_INSTALL_LIBDIR}")
endif()
set(CPACK_DEBIAN_CLI_DESCRIPTION "run commands under deadlines, stop sequences and job control
${procctx_about}

This package holds the procctx command: run (one command under full
supervision, with a JSON report), timeout (a drop-in for GNU timeout) and
batch (many jobs with a job log, resume, retries, halt policies and shards),
with its man page, bash and zsh completions and the JSON Schemas of its
reports.")

include(CPack)
