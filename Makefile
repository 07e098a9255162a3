# Makefile - builds libdarknet.a / libdarknet.so, the ./darknet binary and the tests.
# Switches: OPENBLAS=1 (default 1), OPENCV=1 (default 1: the live demo), DEBUG=1, SANITIZE=1 (ASan+UBSan).
OPENBLAS ?= 1
OPENCV ?= 1
DEBUG ?= 0
SANITIZE ?= 0

CC ?= cc
CXX ?= c++
BUILD := build
ifeq ($(SANITIZE),1)
BUILD := build-san
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

tests: $(TEST_BIN) $(TOOL_BIN) $(BUILD)/tests/header_cxx.o darknet

test: tests
	BUILD=$(BUILD) bash tests/run.sh

clean:
	rm -rf build build-san build-dbg build-san-dbg build-cv build-san-cv build-dbg-cv build-san-dbg-cv darknet

.PHONY: all clean test tests
-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d)
