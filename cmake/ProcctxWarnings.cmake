# procctx_warnings(target): the warning set every procctx target compiles with.
function(procctx_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
    -Wconversion -Wsign-conversion -Wnull-dereference -Wdouble-promotion -Wformat=2
    -Wimplicit-fallthrough)
  if(PROCCTX_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
