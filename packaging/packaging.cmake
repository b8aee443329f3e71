# Install rules and the .deb (CPack), included from the top-level CMakeLists.txt.
#   ninja -C build xtcp2 && (cd build && cpack -G DEB)   ->  build/xtcp2_<version>_<arch>.deb
# Contents: /usr/bin/xtcp2, /lib/systemd/system/xtcp2.service, /etc/default/xtcp2 (conffile),
# /usr/share/xtcp2/proto/{xtcp_flat_record,xtcp_config}/v1/*.proto, /usr/share/doc/xtcp2/*.md.
include(GNUInstallDirs)

set(XTCP_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")

install(TARGETS xtcp2 RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/xtcp2.service DESTINATION ${XTCP_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/xtcp2.default DESTINATION /etc/default RENAME xtcp2)
install(FILES ${PROJECT_SOURCE_DIR}/proto/xtcp_flat_record/v1/xtcp_flat_record.proto
        DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2/proto/xtcp_flat_record/v1)
install(FILES ${PROJECT_SOURCE_DIR}/proto/xtcp_config/v1/xtcp_config.proto
        DESTINATION ${CMAKE_INSTALL_DATADIR}/xtcp2/proto/xtcp_config/v1)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "xtcp2")
set(CPACK_PACKAGE_VENDOR "xtcp2")
set(CPACK_PACKAGE_CONTACT "xtcp2 maintainers <xtcp2@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Streams the kernel's TCP socket state of every network namespace (inet_diag)")
set(CPACK_PACKAGE_DESCRIPTION
    "xtcp2 dumps inet_diag for every TCP socket in every network namespace on a fixed cadence\n\
and ships protobuf (or JSON, CSV, ...) batches to Kafka, files, sockets or HTTP. It serves\n\
Prometheus metrics, health endpoints and CPU/heap profiles on :9088.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the binary's shared libraries
# librdkafka and libcurl are opened at run time, only for kafka/http(s) sinks (src/sink/lazy_libs.h),
# so shlibdeps cannot see them.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "librdkafka1, libcurl4")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/conffiles ${PROJECT_SOURCE_DIR}/packaging/postinst
    ${PROJECT_SOURCE_DIR}/packaging/prerm ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
