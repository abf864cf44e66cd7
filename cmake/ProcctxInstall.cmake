# Install rules: the library, its headers, a CMake package and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS procctx EXPORT procctx-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/procctx DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/procctx/export.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/procctx)
install(EXPORT procctx-targets NAMESPACE procctx::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/procctx)

configure_package_config_file(cmake/procctx-config.cmake.in
  ${PROJECT_BINARY_DIR}/procctx-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/procctx)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/procctx-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/procctx-config.cmake
  ${PROJECT_BINARY_DIR}/procctx-config-version.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/procctx)

configure_file(cmake/procctx.pc.in ${PROJECT_BINARY_DIR}/procctx.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/procctx.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The user-facing docs, for the Debian package and any other install.
install(FILES README.md docs/guide.md docs/errors.md docs/exit-codes.md docs/cli.md docs/json.md docs/design.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
