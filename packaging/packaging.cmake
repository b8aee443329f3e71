# Install rules and the .deb (CPack), included from the top-level CMakeLists.txt.
#   ninja -C build deb_inputs && (cd build && cpack -G DEB)   ->  build/xtcp2_<version>_<arch>.deb
#   ninja -C build xtcp2-dbgsym                     ->  build/xtcp2-dbgsym_<version>_<arch>.deb
# Contents: /usr/bin/xtcp2 (stripped, with a .gnu_debuglink to xtcp2.debug and its build id),
# /lib/systemd/system/xtcp2.service, /etc/default/xtcp2 (conffile),
# /usr/share/xtcp2/proto/{xtcp_flat_record,xtcp_config}/v1/*.proto,
# /usr/share/xtcp2/xtcp_flat_record.proto (the default -xtcpProtoFile),
# /usr/share/xtcp2/clickhouse/ (DDL and the generated format schema), /usr/share/xtcp2/grafana/,
# /usr/share/doc/xtcp2/ (*.md, copyright, changelog.gz), /usr/share/man/man8/xtcp2.8.gz,
# /usr/share/bash-completion/completions/xtcp2 (both generated from the flag table);
# the gRPC client tools /usr/bin/xtcp2ctl and /usr/bin/xtcp2client (stripped) with their
# /usr/share/man/man1/*.1.gz (packaging/*.1).
include(GNUInstallDirs)

# ClickHouse's format schema, derived from our proto at build time (never a copy in the tree):
# ProtobufList wants XtcpFlatRecord nested in Envelope. See packaging/clickhouse_format_schema.cmake.
set(XTCP_CLICKHOUSE_SCHEMA_DIR ${PROJECT_BINARY_DIR}/deploy/clickhouse/format_schemas)
add_custom_command(
  OUTPUT ${XTCP_CLICKHOUSE_SCHEMA_DIR}/xtcp_flat_record.proto
  COMMAND ${CMAKE_COMMAND} -E make_directory ${XTCP_CLICKHOUSE_SCHEMA_DIR}
  COMMAND ${CMAKE_COMMAND} -DIN=${PROJECT_SOURCE_DIR}/proto/xtcp_flat_record/v1/xtcp_flat_record.proto
          -DOUT=${XTCP_CLICKHOUSE_SCHEMA_DIR}/xtcp_flat_record.proto
          -P ${PROJECT_SOURCE_DIR}/packaging/clickhouse_format_schema.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/proto/xtcp_flat_record/v1/xtcp_flat_record.proto
          ${PROJECT_SOURCE_DIR}/packaging/clickhouse_format_schema.cmake
  COMMENT "ClickHouse format schema from xtcp_flat_record.proto")
add_custom_target(clickhouse_format_schema ALL
  DEPENDS ${XTCP_CLICKHOUSE_SCHEMA_DIR}/xtcp_flat_record.proto)

# Debian wants the changelog gzipped, reproducibly (-n: no name or time stamp).
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/packaging/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packaging
  COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/packaging/changelog > ${PROJECT_BINARY_DIR}/packaging/changelog.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/changelog)
add_custom_target(deb_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/packaging/changelog.gz)

# The client tools' man pages (hand-written: their flags are not in the daemon's table).
set(XTCP_TOOL_MAN_PAGES)
foreach(tool xtcp2ctl xtcp2client)
  add_custom_command(
    OUTPUT ${PROJECT_BINARY_DIR}/packaging/${tool}.1.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packaging
    COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/packaging/${tool}.1 > ${PROJECT_BINARY_DIR}/packaging/${tool}.1.gz
    DEPENDS ${PROJECT_SOURCE_DIR}/packaging/${tool}.1)
  list(APPEND XTCP_TOOL_MAN_PAGES ${PROJECT_BINARY_DIR}/packaging/${tool}.1.gz)
endforeach()
add_custom_target(tool_man_pages ALL DEPENDS ${XTCP_TOOL_MAN_PAGES})

# The man page and bash completion, generated from the flag table (src/config/flag_docs.h). The
# page is dated with the commit's date (as the version line is), so it is reproducible, and
# gzipped -9n as Debian wants.
execute_process(COMMAND ${CMAKE_COMMAND} -E env TZ=UTC
                        git -C ${PROJECT_SOURCE_DIR} log -1 --format=%cd --date=format-local:%Y-%m-%d
                OUTPUT_VARIABLE XTCP_MAN_DATE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT XTCP_MAN_DATE)
  string(TIMESTAMP XTCP_MAN_DATE "%Y-%m-%d" UTC)
endif()
set(XTCP_MAN_PAGE ${PROJECT_BINARY_DIR}/packaging/xtcp2.8)
set(XTCP_BASH_COMPLETION ${PROJECT_BINARY_DIR}/packaging/xtcp2.bash-completion)
add_custom_command(
  OUTPUT ${XTCP_MAN_PAGE} ${XTCP_MAN_PAGE}.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packaging
  COMMAND xtcp2_flag_docs man ${XTCP_MAN_PAGE} ${XTCP_MAN_DATE} ${PROJECT_VERSION}
  COMMAND gzip -9nc ${XTCP_MAN_PAGE} > ${XTCP_MAN_PAGE}.gz
  DEPENDS xtcp2_flag_docs
  COMMENT "xtcp2.8 from the flag table")
add_custom_command(
  OUTPUT ${XTCP_BASH_COMPLETION}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packaging
  COMMAND xtcp2_flag_docs bash-completion ${XTCP_BASH_COMPLETION}
  DEPENDS xtcp2_flag_docs
  COMMENT "bash completion from the flag table")
add_custom_target(flag_docs ALL DEPENDS ${XTCP_MAN_PAGE}.gz ${XTCP_BASH_COMPLETION})

# Debug symbols: build/xtcp2.debug (objcopy --only-keep-debug) after every link; the packaged
# binary is stripped and points at it by build id and .gnu_debuglink, so gdb and perf find
# /usr/lib/debug/.build-id/xx/yyyy.debug once xtcp2-dbgsym is installed.
find_program(XTCP_OBJCOPY NAMES objcopy REQUIRED)
set(XTCP_DEBUG_FILE ${PROJECT_BINARY_DIR}/xtcp2.debug)
add_custom_command(
  OUTPUT ${XTCP_DEBUG_FILE}
  COMMAND ${XTCP_OBJCOPY} --only-keep-debug $<TARGET_FILE:xtcp2> ${XTCP_DEBUG_FILE}
  DEPENDS xtcp2 $<TARGET_FILE:xtcp2>
  COMMENT "xtcp2.debug (debug symbols for xtcp2-dbgsym)")
add_custom_target(xtcp2_debuginfo ALL DEPENDS ${XTCP_DEBUG_FILE})
# Everything the install rules read (`ninja deb_inputs` before cpack; `ninja` alone builds it too).
add_custom_target(deb_inputs)
add_dependencies(deb_inputs xtcp2 xtcp2ctl xtcp2client clickhouse_format_schema deb_changelog
                 xtcp2_debuginfo flag_docs tool_man_pages)
add_custom_target(xtcp2-dbgsym
  COMMAND ${CMAKE_COMMAND} -DDEBUG_FILE=${XTCP_DEBUG_FILE} -DOUT_DIR=${PROJECT_BINARY_DIR}
          -DVERSION=${PROJECT_VERSION} "-DMAINTAINER=${XTCP_PACKAGE_CONTACT}"
          -P ${PROJECT_SOURCE_DIR}/packaging/dbgsym.cmake
  DEPENDS xtcp2_debuginfo ${PROJECT_SOURCE_DIR}/packaging/dbgsym.cmake
  COMMENT "xtcp2-dbgsym .deb")

set(XTCP_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")

install(TARGETS xtcp2 RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Strip the installed copy (the build tree keeps the full binary for tests and profiles) and link
# it to its debug file, by the name the dbgsym package ships it under.
install(CODE "
  set(bin \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/xtcp2\")
  execute_process(COMMAND ${XTCP_OBJCOPY} --strip-debug --strip-unneeded
                          --remove-section=.gnu_debuglink \"\${bin}\" COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${XTCP_OBJCOPY} --add-gnu-debuglink=${XTCP_DEBUG_FILE}
                          \"\${bin}\" COMMAND_ERROR_IS_FATAL ANY)")
# The client tools, stripped (no dbgsym for them: the build tree keeps the symbols).
install(TARGETS xtcp2ctl xtcp2client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(tool xtcp2ctl xtcp2client)
  install(CODE "
    execute_process(COMMAND ${XTCP_OBJCOPY} --strip-debug --strip-unneeded
                            \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/${tool}\"
                    COMMAND_ERROR_IS_FATAL ANY)")
endforeach()
install(FILES ${XTCP_MAN_PAGE}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${XTCP_TOOL_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${XTCP_BASH_COMPLETION} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME xtcp2)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/xtcp2.service DESTINATION ${XTCP_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/xtcp2.default DESTINATION /etc/default RENAME xtcp2)
install(FILES ${PROJECT_SOURCE_DIR}/proto/xtcp_flat_record/v1/xtcp_flat_record.proto
        DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2/proto/xtcp_flat_record/v1)
# Also where -xtcpProtoFile looks by default (Config::xtcp_proto_file): the schema registered with
# -kafkaSchemaUrl. A copy, not a link: the file the registry gets stays put if the tree moves.
install(FILES ${PROJECT_SOURCE_DIR}/proto/xtcp_flat_record/v1/xtcp_flat_record.proto
        DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2)
install(FILES ${PROJECT_SOURCE_DIR}/proto/xtcp_config/v1/xtcp_config.proto
        DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2/proto/xtcp_config/v1)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright ${PROJECT_BINARY_DIR}/packaging/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/clickhouse/ DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2/clickhouse
        FILES_MATCHING PATTERN "*.sql")
install(FILES ${XTCP_CLICKHOUSE_SCHEMA_DIR}/xtcp_flat_record.proto
        DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2/clickhouse/format_schemas)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/grafana/xtcp2.json DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2/grafana)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "xtcp2")
set(CPACK_PACKAGE_VENDOR "xtcp2")
# example.org (RFC 2606) until the project has a list; lintian rejects hosts like localhost.
set(XTCP_PACKAGE_CONTACT "xtcp2 maintainers <xtcp2@example.org>" CACHE STRING
    "Maintainer: of the .deb (also in packaging/changelog)")
set(CPACK_PACKAGE_CONTACT "${XTCP_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Streams the kernel's TCP socket state of every network namespace (inet_diag)")
set(CPACK_PACKAGE_DESCRIPTION
    "xtcp2 dumps inet_diag for every TCP socket in every network namespace on a\n\
fixed cadence and ships protobuf (or JSON, CSV, ...) batches to Kafka, files,\n\
sockets or HTTP. It serves Prometheus metrics, health endpoints and CPU/heap\n\
profiles on :9088. xtcp2ctl and xtcp2client are its gRPC clients: they\n\
change its configuration and print the records it streams.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the binary's shared libraries
# librdkafka, libcurl and libnats are opened at run time, only for the kafka, http(s) and nats
# sinks (src/sink/lazy_libs.h), so shlibdeps cannot see them.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "librdkafka1, libcurl4, libnats3.4")
# -enrichNic names NIC models from the PCI id database when it is installed.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pci.ids")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/conffiles ${PROJECT_SOURCE_DIR}/packaging/postinst
    ${PROJECT_SOURCE_DIR}/packaging/prerm ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
