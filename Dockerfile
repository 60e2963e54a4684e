# One image, two binaries: `api` and `worker` (the command picks one).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin api --bin worker

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/api /src/target/release/worker /usr/local/bin/
USER nobody
CMD ["api"]
