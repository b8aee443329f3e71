# Builds xtcp2-dbgsym_<version>_<arch>.deb from build/xtcp2.debug (run by `ninja xtcp2-dbgsym`):
# the debug file under /usr/lib/debug/.build-id/<first 2 hex>/<rest>.debug, where gdb, perf and
# debuginfod clients look it up by the binary's build id. Mirrors what debhelper's dh_strip does
# for Debian's own -dbgsym packages.
#   cmake -DDEBUG_FILE=build/xtcp2.debug -DOUT_DIR=build -DVERSION=0.1.0 [-DMAINTAINER=...] -P this
if(NOT MAINTAINER)
  set(MAINTAINER "xtcp2 maintainers <xtcp2@example.org>")
endif()
execute_process(COMMAND readelf --notes "${DEBUG_FILE}" OUTPUT_VARIABLE notes COMMAND_ERROR_IS_FATAL ANY)
string(REGEX MATCH "Build ID: ([0-9a-f]+)" _ "${notes}")
set(build_id "${CMAKE_MATCH_1}")
if(NOT build_id)
  message(FATAL_ERROR "${DEBUG_FILE} has no build id (link with -Wl,--build-id)")
endif()
execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE arch
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
string(SUBSTRING "${build_id}" 0 2 head)
string(SUBSTRING "${build_id}" 2 -1 tail)
set(root "${OUT_DIR}/dbgsym-root")
file(REMOVE_RECURSE "${root}")
file(MAKE_DIRECTORY "${root}/DEBIAN" "${root}/usr/lib/debug/.build-id/${head}" "${root}/usr/share/doc")
file(COPY_FILE "${DEBUG_FILE}" "${root}/usr/lib/debug/.build-id/${head}/${tail}.debug")
file(CHMOD "${root}/usr/lib/debug/.build-id/${head}/${tail}.debug"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(CREATE_LINK xtcp2 "${root}/usr/share/doc/xtcp2-dbgsym" SYMBOLIC)
file(WRITE "${root}/DEBIAN/control"
  "Package: xtcp2-dbgsym\n"
  "Source: xtcp2\n"
  "Version: ${VERSION}\n"
  "Architecture: ${arch}\n"
  "Maintainer: ${MAINTAINER}\n"
  "Section: debug\n"
  "Priority: optional\n"
  "Depends: xtcp2 (= ${VERSION})\n"
  "Auto-Built-Package: debug-symbols\n"
  "Build-Ids: ${build_id}\n"
  "Description: debug symbols for xtcp2\n"
  " Lets gdb, perf and pprof show xtcp2's functions, files and lines.\n")
set(deb "${OUT_DIR}/xtcp2-dbgsym_${VERSION}_${arch}.deb")
execute_process(COMMAND dpkg-deb --root-owner-group --build "${root}" "${deb}" COMMAND_ERROR_IS_FATAL ANY)
message(STATUS "built ${deb}")
