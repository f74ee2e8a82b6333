# fmcore: two commands from a fresh clone on Debian as root:
#   make demo   install what is missing, build bin/fmcore, run the demo pipeline
#   make test   install what is missing, run the whole test suite
SHELL := /bin/bash
GO ?= go
APT_PKGS := libhdf5-dev ffmpeg libopenblas-dev pkg-config python3-numpy
BIN := bin/fmcore
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/fmcore/fmcore/internal/buildinfo.Version=$(VERSION)
DEMO_DIR ?= demo

.PHONY: all deps build test test-short lint demo bench clean

all: build

# deps installs the system packages and Go modules fmcore needs; it is idempotent and
# silent when everything is present.
deps:
	@missing=""; for p in $(APT_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
	@$(GO) mod download

build: deps
	@$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/fmcore

lint: deps
	@out=$$(gofmt -l cmd internal model data); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) vet ./...

test: lint
	$(GO) test -timeout 20m ./...

test-short: deps
	$(GO) test -short ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 5x ./internal/kernels/ ./data/video/

# demo: the whole pipeline on the demo dataset (3 foundation mice + 1 new mouse).
demo: build
	./$(BIN) version
	./$(BIN) simulate --preset demo --out $(DEMO_DIR)/data --force
	./$(BIN) data validate $(DEMO_DIR)/data
	./$(BIN) data inspect $(DEMO_DIR)/data/mouse01.h5
	./$(BIN) model info --config demo --units 200
	rm -rf $(DEMO_DIR)/runs
	./$(BIN) train --mice 1-3 --data $(DEMO_DIR)/data --config demo --out $(DEMO_DIR)/runs/foundation
	./$(BIN) finetune --new-mouse 4 --from $(DEMO_DIR)/runs/foundation --data $(DEMO_DIR)/data --out $(DEMO_DIR)/runs/mouse4
	./$(BIN) predict $(DEMO_DIR)/data/videos/gabor-test-01.mp4 --model $(DEMO_DIR)/runs/mouse4 --mouse 4 --out $(DEMO_DIR)/runs/mouse4/gabor.h5
	./$(BIN) evaluate --model $(DEMO_DIR)/runs/mouse4 --data $(DEMO_DIR)/data --mice 4

clean:
	rm -rf bin $(DEMO_DIR)
