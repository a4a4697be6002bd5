# edgewatch container image: a Rust builder stage, then a distroless runtime that runs as the
# non-root user 65532 (distroless "nonroot") with nothing but the binary and CA certificates.
#   docker build -t edgewatch .
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked \
 && install -D -m 0755 target/release/edgewatch /out/edgewatch

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/edgewatch /usr/local/bin/edgewatch
USER 65532:65532
EXPOSE 9815
ENTRYPOINT ["/usr/local/bin/edgewatch"]
CMD ["--config", "/etc/edgewatch/edgewatch.yaml"]
