# syntax=docker/dockerfile:1
# Crossdock: one static binary; the subcommand picks the part to run
# (api, worker, sandbox, migrate up, ...). See docker-compose.yml.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a code change does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /crossdock ./cmd/crossdock

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /crossdock /crossdock
USER nonroot:nonroot
EXPOSE 8080 8090
ENTRYPOINT ["/crossdock"]
