# Install rules and the Debian package (CPack). Included from the top-level CMakeLists.txt.
#   cmake --build build && (cd build && cpack -G DEB)   ->  build/wijkpuls_<version>_<arch>.deb
# The binary's own rule is in app/CMakeLists.txt (bin/ under the prefix, /usr in the package).
# Paths here are the ones deploy/docker/Dockerfile, deploy/systemd/wijkpuls.service and the
# ops.package test rely on.

set(WIJKPULS_DEPLOY_DIR ${CMAKE_CURRENT_LIST_DIR})

# cpack (and `make install`) package what is built: build first, as CI does. Otherwise
# cpack's preinstall step builds every target, tests included, and the ops.package test
# could start a long compile in the middle of a test run.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# Configuration: the annotated example, the methodology and the district register.
# Absolute on purpose: /etc is not under the /usr prefix.
install(FILES ${PROJECT_SOURCE_DIR}/config/wijkpuls.yaml ${PROJECT_SOURCE_DIR}/config/methodology.yaml
              ${PROJECT_SOURCE_DIR}/config/districts.csv
        DESTINATION /etc/wijkpuls
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# The unit where Debian 12 packages put theirs.
install(FILES ${WIJKPULS_DEPLOY_DIR}/systemd/wijkpuls.service DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# Documentation, and the operations files for Prometheus and Grafana.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/metrics.md
              ${PROJECT_SOURCE_DIR}/ops/runbook.md ${PROJECT_SOURCE_DIR}/docs/contract.md
              ${PROJECT_SOURCE_DIR}/docs/methodology.md ${PROJECT_SOURCE_DIR}/docs/design.md
        DESTINATION share/doc/wijkpuls)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/ops/grafana ${PROJECT_SOURCE_DIR}/ops/prometheus
        DESTINATION share/wijkpuls
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        PATTERN "*.test.yml" EXCLUDE
        PATTERN "*.sh" EXCLUDE)
# Renders the rules' runbook_url with a deployment's base URL (deploy/README.md).
install(PROGRAMS ${PROJECT_SOURCE_DIR}/ops/prometheus/runbook-base.sh DESTINATION share/wijkpuls/prometheus)

# Debian's own files: the copyright, the changelog and the manual page wijkpuls(8), the last two
# compressed as Debian wants them (gzip -9n: no name or time stamp, so the package is the same
# when built again). Built with the binary (ALL): cpack does not build.
set(WIJKPULS_DEB_DIR ${PROJECT_BINARY_DIR}/debian)
add_custom_command(
  OUTPUT ${WIJKPULS_DEB_DIR}/changelog.gz ${WIJKPULS_DEB_DIR}/wijkpuls.8.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${WIJKPULS_DEB_DIR}
  COMMAND sh -c "gzip -9nc \"$0\" > \"$1\"" ${WIJKPULS_DEPLOY_DIR}/debian/changelog ${WIJKPULS_DEB_DIR}/changelog.gz
  COMMAND sh -c "gzip -9nc \"$0\" > \"$1\"" ${WIJKPULS_DEPLOY_DIR}/debian/wijkpuls.8 ${WIJKPULS_DEB_DIR}/wijkpuls.8.gz
  DEPENDS ${WIJKPULS_DEPLOY_DIR}/debian/changelog ${WIJKPULS_DEPLOY_DIR}/debian/wijkpuls.8
  COMMENT "Compressing the Debian changelog and wijkpuls(8)"
  VERBATIM)
add_custom_target(wijkpuls_debian_docs ALL DEPENDS ${WIJKPULS_DEB_DIR}/changelog.gz ${WIJKPULS_DEB_DIR}/wijkpuls.8.gz)
install(FILES ${WIJKPULS_DEPLOY_DIR}/debian/copyright ${WIJKPULS_DEB_DIR}/changelog.gz
        DESTINATION share/doc/wijkpuls
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${WIJKPULS_DEB_DIR}/wijkpuls.8.gz DESTINATION share/man/man8
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wijkpuls)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "wijkpuls")
set(CPACK_PACKAGE_CONTACT "wijkpuls maintainers <wijkpuls@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Fieldwork daemon of a neighbourhood survey (quotas, quality, provisional scores)")
# Lines of at most 79 characters (lintian: extended-description-line-too-long).
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "wijkpuls takes survey responses from Kafka, validates and deduplicates them,\n"
    "keeps every wijk's sample-quota state in RocksDB and publishes provisional\n"
    "scores to Kafka, a JSON API and web pages. Runs as the systemd service\n"
    "wijkpuls (user wijkpuls, state in /var/lib/wijkpuls).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The runtime libraries (librdkafka1, libprotobuf32, libssl3, libyaml-cpp0.7, ...) are computed
# by dpkg-shlibdeps from the binary itself; passwd provides useradd for the postinst, tzdata
# the methodology's time zone (Europe/Amsterdam), which absl loads from /usr/share/zoneinfo,
# deb-systemd-invoke and deb-systemd-helper (maintainer scripts) are in init-system-helpers,
# which is Essential in Debian 12: lintian refuses it in Depends.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, tzdata")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, kcat")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${WIJKPULS_DEPLOY_DIR}/debian/conffiles ${WIJKPULS_DEPLOY_DIR}/debian/postinst
    ${WIJKPULS_DEPLOY_DIR}/debian/prerm ${WIJKPULS_DEPLOY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
