# Install rules: the libraries, their headers, a CMake package, pkg-config
# files and the docs, at GNUInstallDirs paths (a /usr install on Debian puts
# the libraries in lib/<multiarch>). Each rule names the Debian package it
# belongs to (cmake/ProcctxPackage.cmake):
#   runtime  libprocctx<N>    libprocctx.so.N and the file it links to
#   dev      libprocctx-dev   headers, libprocctx.so, libprocctx.a, CMake and pkg-config files, docs,
#                             the test kit (libprocctx-testing.a, LIBEXECDIR/procctx/procctx-testchild)
#   cli      procctx          the command, its man page, completions and report schemas
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(procctx_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/procctx)

if(PROCCTX_BUILD_SHARED)
  install(TARGETS procctx_shared EXPORT procctx-targets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
endif()
install(TARGETS procctx_static EXPORT procctx-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
# The test kit (docs/testing.md); procctx-testchild is installed by testchild/CMakeLists.txt.
if(TARGET procctx_testing)
  install(TARGETS procctx_testing EXPORT procctx-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
endif()
install(DIRECTORY include/procctx DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/include/procctx/export.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/procctx COMPONENT dev)
install(EXPORT procctx-targets NAMESPACE procctx:: DESTINATION ${procctx_cmake_dir} COMPONENT dev)

configure_package_config_file(cmake/procctx-config.cmake.in
  ${PROJECT_BINARY_DIR}/procctx-config.cmake
  INSTALL_DESTINATION ${procctx_cmake_dir})
# One SONAME per major version (docs/abi.md): any 0.x satisfies find_package(procctx 0.1).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/procctx-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/procctx-config.cmake
  ${PROJECT_BINARY_DIR}/procctx-config-version.cmake
  DESTINATION ${procctx_cmake_dir} COMPONENT dev)

# pkg-config: `procctx` links the shared library (when built), `procctx-static`
# the archive. Both are relocatable: the prefix is found from the .pc file's
# own directory, so a tree unpacked anywhere (dpkg -x) still works.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PROCCTX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH procctx_pc_up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  set(PROCCTX_PC_PREFIX "\${pcfiledir}/${procctx_pc_up}")
endif()
if(PROCCTX_BUILD_SHARED)
  set(PROCCTX_PC_LIBS "-L\${libdir} -lprocctx")
  set(PROCCTX_PC_LIBS_PRIVATE "-pthread")
else()
  set(PROCCTX_PC_LIBS "-L\${libdir} -lprocctx -pthread")
  set(PROCCTX_PC_LIBS_PRIVATE "")
endif()
configure_file(cmake/procctx.pc.in ${PROJECT_BINARY_DIR}/procctx.pc @ONLY)
configure_file(cmake/procctx-static.pc.in ${PROJECT_BINARY_DIR}/procctx-static.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/procctx.pc ${PROJECT_BINARY_DIR}/procctx-static.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
if(TARGET procctx_testing)
  # procctx-testing: the kit's archive instead of procctx's; `testchild` names the program.
  configure_file(cmake/procctx-testing.pc.in ${PROJECT_BINARY_DIR}/procctx-testing.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/procctx-testing.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endif()

# The user-facing docs.
install(FILES README.md docs/guide.md docs/errors.md docs/exit-codes.md docs/cli.md docs/json.md docs/design.md
  docs/abi.md docs/testing.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT dev)

if(TARGET procctx_cli)
  # The JSON Schemas of the CLI's reports (docs/json.md), for programs that read them.
  install(DIRECTORY docs/schemas/ DESTINATION ${CMAKE_INSTALL_DATADIR}/procctx/schemas COMPONENT cli
    FILES_MATCHING PATTERN "*.schema.json")
  if(PROCCTX_BUILD_SHARED)
    # The CLI links libprocctx.so. Installed under a prefix the dynamic linker
    # may not search (or whose cache is stale until ldconfig runs), it finds the
    # library beside itself through $ORIGIN; installed into /usr, as the Debian
    # package is, it needs no RUNPATH and gets none.
    file(RELATIVE_PATH procctx_bin_to_lib "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    set_target_properties(procctx_cli PROPERTIES INSTALL_RPATH "\$ORIGIN/${procctx_bin_to_lib}")
    install(CODE "
      if(CMAKE_INSTALL_PREFIX MATCHES \"^/usr/?$\")
        file(RPATH_REMOVE FILE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/procctx\")
      endif()" COMPONENT cli)
  endif()
endif()
