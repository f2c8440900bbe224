# shipit as a container image: the static (musl) binary and CA certificates, nothing else.
# The release workflow builds it from the release's own binaries, for linux/amd64 and
# linux/arm64, with this build context:
#   amd64/shipit  arm64/shipit   (from shipit-VERSION-{x86_64,aarch64}-unknown-linux-musl.tar.gz)
#   ca-certificates.crt          (the runner's CA bundle)
#
#   docker run --rm -v "$PWD:/work" -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY \
#     ghcr.io/shipit/shipit:v0.2.0 plan
FROM scratch
ARG TARGETARCH
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ${TARGETARCH}/shipit /usr/local/bin/shipit
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/shipit"]
