# edgewatch container image, built from source with Docker (or buildah):
#   docker build -t ghcr.io/example/edgewatch:0.1.0 .
# A Rust builder stage makes a statically linked binary (glibc linked in; edgewatch resolves
# names with hickory, not NSS, and its trust roots are compiled in), and the final stage is that
# binary alone on `scratch`: no shell, no package manager, no CA bundle, nothing else.
# The final stage must stay identical to Containerfile's (tests/image checks it): Containerfile
# is this stage fed with a binary built outside, which is how the tests build and run the image.
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# Build settings (.cargo/config.toml: how aws-lc seeds its random numbers).
COPY .cargo ./.cargo
COPY src ./src
COPY benches ./benches
RUN host="$(rustc -vV | sed -n 's/^host: //p')" \
 && RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --locked --profile image --target "$host" --target-dir /build \
 && install -D -m 0755 "/build/$host/image/edgewatch" /out/edgewatch

FROM scratch
LABEL org.opencontainers.image.title="edgewatch" \
      org.opencontainers.image.description="Verifies the way in to Kubernetes Services behind AWS NLBs: DNS, every load balancer address, TLS, the certificate and the backend" \
      org.opencontainers.image.version="0.1.0"
COPY --from=builder /out/edgewatch /edgewatch
USER 65532:65532
EXPOSE 9815
ENTRYPOINT ["/edgewatch"]
CMD ["--config", "/etc/edgewatch/edgewatch.yaml"]
