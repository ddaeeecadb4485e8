# burrow — build, test, demo.
#
#   make            release build: build/burrow, build/burrow-edge
#   make test       ASan+UBSan build in build/asan: unit + e2e tests; fuzz smoke; valgrind on the release build
#   make demo       install deps, build, run a local demo (edge, connector, sshd, ssh)
#   make fuzz-smoke short libFuzzer runs of every fuzz target (clang)
#   make fuzz       long runs of every fuzz target (FUZZ_SECONDS each, default 600)
#   make mutants    every tests/mutants/*.patch must be caught by the tests it names (slow)

BUILD ?= build
CC ?= cc
OPT ?= -O2 -g
SAN ?=
WERROR ?= -Werror

PKGS := libuv openssl libnghttp2 jansson yaml-0.1
EDGE_PKGS := sqlite3 libsodium libcurl

CPPFLAGS += -Isrc -D_GNU_SOURCE
CFLAGS += -std=c17 $(OPT) $(SAN) -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes \
	  -Wno-unused-parameter -fno-strict-aliasing -pthread \
	  $(shell pkg-config --cflags $(PKGS) $(EDGE_PKGS))
LDFLAGS += $(SAN) -pthread
LIBS := $(shell pkg-config --libs $(PKGS)) -lhttp_parser
EDGE_LIBS := $(LIBS) $(shell pkg-config --libs $(EDGE_PKGS))

# `burrow` starts once per ssh connection (as ProxyCommand), so it links OpenSSL, libuv, nghttp2,
# jansson and http-parser from their static archives: the dynamic loader's work for libcrypto alone
# was ~0.6 ms of each start (hyperfine `burrow version` 1.56 -> 1.04 ms, banner p50 -0.6 ms).
# The archives are prerequisites, so `make` relinks after an update of their -dev packages.
# STATIC_LIBS=0 links them shared. burrow-edge, tests and fuzzers link shared. A missing archive
# stops only the link of burrow, so `make demo` and `make test` can still install them first.
STATIC_LIBS ?= 1
# libsodium opens the CLI login's sealed token (access/login.c); sodium_init runs only for a login.
STATIC_ARCHIVES := libuv_a.a libnghttp2.a libjansson.a libhttp_parser.a libssl.a libcrypto.a libsodium.a
ifeq ($(STATIC_LIBS),1)
CLIENT_ARCHIVES := $(foreach a,$(STATIC_ARCHIVES),$(shell $(CC) -print-file-name=$(a)))
CLIENT_LIBS := $(CLIENT_ARCHIVES) -ldl
else
CLIENT_ARCHIVES :=
CLIENT_LIBS := $(LIBS) -lsodium
endif
MISSING_ARCHIVES := $(filter-out /%,$(CLIENT_ARCHIVES))

CORE_SRC := $(sort $(wildcard src/core/*.c))
EDGE_SRC := $(sort $(wildcard src/edge/*.c src/edge/*/*.c))
CLIENT_SRC := $(sort $(wildcard src/tunnel/*.c src/access/*.c src/admin/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJ := $(call obj,$(CORE_SRC))
EDGE_OBJ := $(call obj,$(EDGE_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all test unit unit-bins e2e-bins e2e demo clean fuzz fuzz-smoke bench bench-quick format deps fuzz-bins lint mutants
all: $(BUILD)/burrow $(BUILD)/burrow-edge

$(BUILD)/burrow: $(call obj,src/main.c) $(CLIENT_OBJ) $(CORE_OBJ) $(filter /%,$(CLIENT_ARCHIVES))
	$(if $(MISSING_ARCHIVES),$(error missing static archives $(MISSING_ARCHIVES): run scripts/install-deps, or make STATIC_LIBS=0))
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(CLIENT_LIBS)

$(BUILD)/burrow-edge: $(call obj,src/edge_main.c) $(EDGE_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(EDGE_LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(EDGE_OBJ) $(CLIENT_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(EDGE_LIBS) -lcmocka

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# (the test build also has injected failures: src/core/fault.h)
ASAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DBURROW_FAULTS

# Unit and e2e tests run against the sanitizer build.
deps:
	scripts/install-deps

test: deps
	$(MAKE) BUILD=build/asan OPT="-O1 -g" SAN="$(ASAN)" all unit-bins
	$(MAKE) all fuzz-bins
	BUILD=build/asan tests/run-all

unit-bins: $(UNIT_BIN) e2e-bins

# Helper programs the e2e tests drive (built with the unit tests; tests/mutants/run rebuilds them too).
e2e-bins: $(BUILD)/tests/oidc_drive

# The OpenID Connect relying party on a real loop, for tests/e2e/t_oidc_rp.sh (links the edge).
$(BUILD)/tests/oidc_drive: tests/e2e/oidc/oidc_drive.c $(EDGE_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(EDGE_LIBS)

unit:
	$(MAKE) BUILD=build/asan OPT="-O1 -g" SAN="$(ASAN)" all unit-bins
	BUILD=build/asan tests/run-all unit

e2e:
	$(MAKE) BUILD=build/asan OPT="-O1 -g" SAN="$(ASAN)" all e2e-bins
	BUILD=build/asan tests/run-all e2e

# Mutants (not part of make test, slow): each tests/mutants/*.patch must make its tests fail.
# MUTANTS="a b" runs only those.
mutants: deps
	tests/mutants/run $(MUTANTS)

demo:
	scripts/install-deps
	$(MAKE) all
	scripts/demo

FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_CC = clang $(CPPFLAGS) -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
	-Wall -Wextra $(WERROR) -Wno-unused-parameter
build/fuzz/%: fuzz/%.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(shell pkg-config --cflags $(PKGS)) -o $@ $^ $(LIBS)

# The admin API target runs on a real store, so it links the edge (no main in src/edge/).
build/fuzz/fuzz_admin: fuzz/fuzz_admin.c $(EDGE_SRC) $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(shell pkg-config --cflags $(PKGS) $(EDGE_PKGS)) -o $@ $^ $(EDGE_LIBS)

# The relying party's parsers: the pure half of edge/oidc/ (no curl, no loop).
OIDC_FUZZ_SRC := src/edge/oidc/oidc_doc.c src/edge/oidc/oidc_idtoken.c src/edge/oidc/oidc_state.c \
	src/edge/auth/apptoken.c src/edge/model.c
build/fuzz/fuzz_oidc: fuzz/fuzz_oidc.c $(OIDC_FUZZ_SRC) $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(shell pkg-config --cflags $(PKGS) libsodium) -o $@ $^ $(LIBS) $(shell pkg-config --libs libsodium)

build/fuzz/fuzz_ingress: fuzz/fuzz_ingress.c src/tunnel/ingress.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(shell pkg-config --cflags $(PKGS)) -o $@ $^ $(LIBS)

build/fuzz/fuzz_token_cache: fuzz/fuzz_token_cache.c src/access/token_cache.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(shell pkg-config --cflags $(PKGS)) -o $@ $^ $(LIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz-smoke: $(FUZZ_BIN)
	fuzz/run-smoke $(FUZZ_BIN)

# Long runs: FUZZ_SECONDS (default 600) per target.
fuzz: $(FUZZ_BIN)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} fuzz/run-smoke $(FUZZ_BIN)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 -Isrc \
		--suppress=missingIncludeSystem src
	clang-tidy-14 --quiet $(sort $(wildcard src/*.c src/*/*.c src/*/*/*.c)) -- $(CPPFLAGS) -std=c17 \
		$(shell pkg-config --cflags $(PKGS))

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	-scripts/demo stop 2>/dev/null
	rm -rf build

# Benchmarks (never part of make test): release build, peers installed on demand.
bench: all
	bench/run

bench-quick: all
	bench/run --quick
