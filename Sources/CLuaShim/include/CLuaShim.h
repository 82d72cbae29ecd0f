// The C side of Plume's Lua bridge: what Swift cannot call directly (API macros, variadic functions,
// anything that may longjmp) lives here. Nothing in this target knows about emissions.
#ifndef PLUME_CLUASHIM_H
#define PLUME_CLUASHIM_H

#include <stddef.h>
#include <lua5.4/lua.h>
#include <lua5.4/lauxlib.h>
#include <lua5.4/lualib.h>

/// A Swift callback. Returns the number of results it pushed, or -1 after pushing an error value,
/// which the C trampoline raises once Swift has returned (no longjmp crosses a Swift frame).
typedef int (*plume_callback)(lua_State *L, void *context);

/// A sandboxed state: base (without dofile, loadfile, collectgarbage), table, string, math, utf8;
/// `load` accepts text only; `print` writes to stderr. `memory_limit` 0 means unlimited.
lua_State *plume_open(size_t memory_limit);
void plume_close(lua_State *L);

size_t plume_memory_used(lua_State *L);
void plume_set_memory_limit(lua_State *L, size_t limit);
/// 1 if an allocation was refused since the last reset.
int plume_memory_refused(lua_State *L);

/// Safe to call from another thread: from the next VM instruction on, the running call raises
/// "cpu time limit exceeded" (again and again, so a script's pcall cannot swallow it).
void plume_interrupt(lua_State *L);
int plume_interrupted(lua_State *L);
/// Resets the interrupt and memory flags before a call.
void plume_reset_flags(lua_State *L);
/// A full collection with finalizers, outside any call (the cap is not enforced there). Raises nothing:
/// a finalizer's error becomes a warning, and the sandbox's scripts cannot set finalizers.
void plume_collect(lua_State *L);

/// Loads text (never bytecode) as a function on the stack; on error the message is on the stack.
int plume_load(lua_State *L, const char *buffer, size_t length, const char *chunkname);
/// lua_pcall with a message handler that appends a traceback to string errors. Allocation limits are
/// enforced only inside this call, so host code around it never meets a refused allocation.
int plume_pcall(lua_State *L, int nargs, int nresults);

/// Pushes a C closure that calls `callback(L, context)`.
void plume_push_callback(lua_State *L, plume_callback callback, void *context);

/// Records the key order of the table at `table_index` as the sequence at `keys_index`.
void plume_set_key_order(lua_State *L, int table_index, int keys_index);
/// Records that the object at `table_index` has its keys in the order of the shared list at
/// `template_index`, filtered by presence (rows of one CSV file share their header's order).
void plume_set_key_template(lua_State *L, int table_index, int template_index);
/// Marks the table at `table_index` as a list the host pushed (so an empty list and an empty object
/// stay distinguishable).
void plume_mark_list(lua_State *L, int table_index);
/// Pushes `kind(t)`: "object" or "list" for tables the host pushed, nothing otherwise.
void plume_push_kind_function(lua_State *L);
/// Pushes the `ordered_keys(t)` function scripts use to read key order back.
void plume_push_key_order_function(lua_State *L);

/// Line coverage: when on, every executed line is recorded in a registry table, read back with
/// plume_push_coverage as { [chunkname] = { [line] = count } }.
void plume_set_coverage(lua_State *L, int on);
void plume_push_coverage(lua_State *L);

/// Pushes `where(level)`, which names the "chunk:line" of a calling frame (for trusted host code).
void plume_push_where_function(lua_State *L);
/// Pops a value and makes it the sentinel pushed for nil entries of host arrays.
void plume_set_null_sentinel(lua_State *L);

/// Pushes the traceback of the current call (for trusted host code).
void plume_push_traceback_function(lua_State *L);

// Operation recorder (recorder.c). `track(value, index)` makes a marked number. While a recording is
// on, + - * / and unary minus on marked numbers give marked numbers and append an entry (op, a, b) to
// the tape; < <= and == (both marked) append a guard saying how they came out, as do `finite(m)` and
// `integer(m)`. Operand codes: a node n > 0 (1...inputs: the marked inputs; inputs + i: the i-th
// entry) or a constant -k (the k-th plain number met). Anything else done with a marked number (a
// library function, tostring, indexing, % // ^...) raises an error and breaks the recording, as does a
// tape growing past `limit` slots (constants + inputs + entries). Nothing here knows what the numbers mean.
enum {
    PLUME_OP_ADD = 1, PLUME_OP_SUB, PLUME_OP_MUL, PLUME_OP_DIV, PLUME_OP_UNM,
    PLUME_OP_LT_T, PLUME_OP_LT_F, PLUME_OP_LE_T, PLUME_OP_LE_F, PLUME_OP_EQ_T, PLUME_OP_EQ_F,
    PLUME_OP_FINITE_T, PLUME_OP_FINITE_F, PLUME_OP_INT_T, PLUME_OP_INT_F
};
typedef struct plume_recorder plume_recorder;
typedef struct {
    int count, constant_count;
    const unsigned char *op;
    const int *a, *b;
    const double *constants;
} plume_tape;
/// Pushes the recorder's functions as a table: track(value, index), is(v), start(inputs), stop() ->
/// broken, spoil() (breaks the recording on), fail() (raises the misuse error), operand(v) -> code,
/// finite(m), integer(m). One recorder per state; 0 when it cannot be allocated (nothing pushed).
int plume_push_recorder(lua_State *L, int limit);
/// The last recording's tape, valid until the next one starts (from the main state, outside calls).
plume_tape plume_recorded_tape(lua_State *L);
/// plume_close frees the recorder.
void plume_free_recorder(plume_recorder *r);

// Macro wrappers.
int plume_registry_index(void);
int plume_upvalue_index(int i);
void plume_pop(lua_State *L, int n);
void plume_newtable(lua_State *L);
double plume_tonumber(lua_State *L, int index, int *isnum);
long long plume_tointeger(lua_State *L, int index, int *isnum);
const char *plume_tostring(lua_State *L, int index, size_t *length);
int plume_isinteger(lua_State *L, int index);
void plume_pushglobaltable(lua_State *L);

#endif
