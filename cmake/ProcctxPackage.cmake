# A Debian package of everything `cmake --install` installs: the library,
# its headers and CMake/pkg-config files, the procctx CLI, its man page and
# shell completions, and the docs. `make deb` builds it (build/release/pkg).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME procctx)
set(CPACK_PACKAGE_VENDOR "procctx")
set(CPACK_PACKAGE_CONTACT "procctx maintainers <procctx@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
  "procctx runs child processes on Linux under Go-style contexts (cancellation
trees with deadlines): no zombie, thread or fd leaked per child, whole-tree
stops, bounded waits on pipes held by grandchildren, and outcomes that tell
exits from signals. This package holds the C++20 library libprocctx (static,
with headers, CMake and pkg-config files) and the procctx command: run,
timeout and batch.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # procctx_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/procctx/procctx")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # libc6, libstdc++6, libgcc-s1 from the CLI's links
set(CPACK_STRIP_FILES ON)
include(CPack)
