# Makefile - builds libdarknet.a / libdarknet.so, the ./darknet binary and the tests.
# Switches: OPENBLAS=1 (default 1), OPENCV=1 (default 1: the live demo), DEBUG=1,
# SANITIZE=1 (ASan+UBSan), SANITIZE=thread (ThreadSanitizer), FUZZ=1 (clang, libFuzzer
# instrumentation + ASan/UBSan: what `make fuzz` builds in build-fuzz), VALGRIND=1 (-O2 -g
# without -march=native, whose AVX-512 valgrind cannot run, and without OpenCV: what
# `make valgrind` uses).
OPENBLAS ?= 1
OPENCV ?= 1
DEBUG ?= 0
SANITIZE ?= 0
FUZZ ?= 0
VALGRIND ?= 0
FUZZ_SECONDS ?= 60

CC ?= cc
CXX ?= c++
BUILD := build
ifeq ($(SANITIZE),1)
BUILD := build-san
endif
ifeq ($(SANITIZE),thread)
BUILD := build-tsan
endif
ifeq ($(VALGRIND),1)
BUILD := build-vg
# OpenCV pulls in libhwy, whose start-up code uses an instruction valgrind cannot run
OPENCV := 0
endif
ifeq ($(FUZZ),1)
BUILD := build-fuzz
CC := clang
CXX := clang++
OPENCV := 0
endif
ifeq ($(DEBUG),1)
BUILD := $(BUILD)-dbg
endif
# compile flags are not tracked per object: an OpenCV build gets its own folder
ifeq ($(OPENCV),1)
BUILD := $(BUILD)-cv
endif

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -fPIC -pthread $(WARN) -MMD -MP
ifeq ($(DEBUG),1)
OPT := -O0 -g
else
OPT := -O3 -march=native -ffp-contract=fast -g
endif
ifeq ($(SANITIZE),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
endif
ifeq ($(VALGRIND),1)
OPT := -O2 -g
endif
ifeq ($(SANITIZE),thread)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
LDSAN := -fsanitize=thread
endif
ifeq ($(FUZZ),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
endif
CFLAGS += $(CFLAGS_BASE) $(OPT)
CXXFLAGS += -std=c++11 -Iinclude -Isrc -fPIC -pthread -Wall -Wextra $(OPT) -MMD -MP
LDLIBS := -ljpeg -lpng -lm -lpthread
ifeq ($(OPENBLAS),1)
CFLAGS += -DDN_OPENBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS += -lopenblas
endif
ifeq ($(OPENCV),1)
CFLAGS += -DDN_OPENCV
CXXFLAGS += -DDN_OPENCV $(shell pkg-config --cflags opencv4)
# only the modules video.cpp uses (all of pkg-config --libs opencv4 slows every start-up)
LDLIBS += -lopencv_videoio -lopencv_highgui -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -lstdc++
endif

LIB_SRC := $(wildcard src/core/*.c src/layers/*.c src/io/*.c src/cam/*.c)
LIB_CXX := $(if $(filter 1,$(OPENCV)),$(wildcard src/io/*.cpp),)
APP_SRC := $(wildcard src/apps/*.c)
TEST_SRC := $(wildcard tests/test_*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cpp=$(BUILD)/%.o)
APP_OBJ := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

all: darknet $(BUILD)/libdarknet.so

darknet: $(BUILD)/darknet
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/darknet: $(APP_OBJ) $(BUILD)/libdarknet.a
	$(CC) $(OPT) $(LDSAN) -pthread -o $@ $(APP_OBJ) $(BUILD)/libdarknet.a $(LDLIBS)

$(BUILD)/libdarknet.a: $(LIB_OBJ)
	rm -f $@; ar rcs $@ $^

$(BUILD)/libdarknet.so: $(LIB_OBJ)
	$(CC) -shared $(LDSAN) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c tests/harness.h $(BUILD)/libdarknet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libdarknet.a $(LDLIBS) $(LDSAN)

# The public header must compile as C++ too.
$(BUILD)/tests/header_cxx.o: include/darknet.h
	@mkdir -p $(dir $@)
	echo '#include "darknet.h"' | $(CXX) -std=c++11 -Iinclude -Wall -Wextra -x c++ -c - -o $@

TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libdarknet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libdarknet.a $(LDLIBS) $(LDSAN)

# Fuzz targets (tests/fuzz/fuzz_*.c): linked with replay.c by any compiler for `make test`
# (tests/t_fuzz_replay.sh replays the seeds and tests/fuzz/regress/), and with libFuzzer by
# `make fuzz`, which runs each for FUZZ_SECONDS (two at once with -j2).
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay_%)
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
FUZZ_CFLAGS = $(filter-out -MMD -MP,$(CFLAGS)) -Itests/fuzz
# (app.o: the flag parser; eval.o: `gradcampp eval merge`, which fuzz_json drives)
FUZZ_APP := $(BUILD)/src/apps/app.o $(BUILD)/src/apps/eval.o
$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) $(FUZZ_APP) $(BUILD)/libdarknet.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_APP) $(BUILD)/libdarknet.a $(LDLIBS) $(LDSAN)
$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_APP) $(BUILD)/libdarknet.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_APP) $(BUILD)/libdarknet.a $(LDLIBS) $(LDSAN)

tests: $(TEST_BIN) $(TOOL_BIN) $(REPLAY_BIN) $(BUILD)/tests/header_cxx.o darknet

test: tests
	BUILD=$(BUILD) bash tests/run.sh

ifeq ($(FUZZ),1)
fuzz-build: $(FUZZ_BIN)
fuzz-run: $(FUZZ_NAMES:%=fuzz-run-%)
fuzz-run-%: $(BUILD)/fuzz/%
	bash tests/fuzz/run.sh $(BUILD) $* $(FUZZ_SECONDS)
fuzz:
	$(MAKE) fuzz-run
else
fuzz:
	$(MAKE) FUZZ=1 fuzz-build
	$(MAKE) FUZZ=1 FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz-run
endif

# ThreadSanitizer runs of the threaded loader and the demo pipeline (tests/tsan.sh); the
# binaries stay in build-tsan*, ./darknet is not replaced.
ifeq ($(SANITIZE),thread)
tsan-run: $(BUILD)/darknet $(BUILD)/tests/test_threads
	BUILD=$(BUILD) bash tests/tsan.sh
endif
tsan:
	$(MAKE) SANITIZE=thread tsan-run

# valgrind memcheck over the C unit tests, the fuzz replays and the malformed-input table
# (tests/valgrind.sh); ./darknet is not replaced.
ifeq ($(VALGRIND),1)
valgrind-run: $(BUILD)/darknet $(TEST_BIN) $(TOOL_BIN) $(REPLAY_BIN)
	BUILD=$(BUILD) bash tests/valgrind.sh
endif
valgrind:
	$(MAKE) VALGRIND=1 valgrind-run

clean:
	rm -rf build build-san build-dbg build-san-dbg build-cv build-san-cv build-dbg-cv build-san-dbg-cv \
	       build-tsan build-tsan-cv build-vg build-vg-cv build-fuzz darknet

.PHONY: all clean test tests fuzz fuzz-build fuzz-run tsan tsan-run valgrind valgrind-run
-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d)
