# Sanitizers apply to everything the build compiles, so that the library, the
# tests and the helpers agree on one runtime.
if(PROCCTX_SANITIZE)
  add_compile_options(-fsanitize=${PROCCTX_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${PROCCTX_SANITIZE})
endif()
