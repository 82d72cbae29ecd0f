#include "CLuaShim.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <signal.h>

/* Small blocks (up to SMALL_MAX bytes: most of what Lua allocates, and every tracked number a recording
   makes) come from free lists by size class, carved from 64 KB chunks the state keeps until it closes;
   malloc and free cost several times more and took a tenth of a recording's instructions. A state is
   used by one thread at a time, so the lists need no lock. */
#define SMALL_MAX 256
#define SMALL_CLASSES (SMALL_MAX / 16)
#define CHUNK_BYTES (64 * 1024)

typedef struct {
    size_t used;
    size_t limit;
    int enforcing;            /* refuse allocations over the limit only while a protected call runs */
    int refused;
    volatile sig_atomic_t interrupted;
    int coverage;
    void *free_list[SMALL_CLASSES + 1];   /* by class: a block's first word links the next */
    char *carve;                          /* the unused rest of the newest chunk */
    size_t carve_left;
    void *chunks;                         /* every chunk, linked through its first word */
} plume_limits;

static inline int small_class(size_t size) { return (int)((size + 15) >> 4); }

static void *small_alloc(plume_limits *lim, int cls) {
    void *p = lim->free_list[cls];
    if (p) {
        lim->free_list[cls] = *(void **)p;
        return p;
    }
    size_t size = (size_t)cls << 4;
    if (lim->carve_left < size) {
        char *chunk = malloc(CHUNK_BYTES);
        if (!chunk) return NULL;
        *(void **)chunk = lim->chunks;   /* the first 16 bytes link the chunks; blocks stay 16-aligned */
        lim->chunks = chunk;
        lim->carve = chunk + 16;
        lim->carve_left = CHUNK_BYTES - 16;
    }
    p = lim->carve;
    lim->carve += size;
    lim->carve_left -= size;
    return p;
}

static inline void small_free(plume_limits *lim, void *p, int cls) {
    *(void **)p = lim->free_list[cls];
    lim->free_list[cls] = p;
}

static void free_chunks(plume_limits *lim) {
    void *c = lim->chunks;
    while (c) {
        void *next = *(void **)c;
        free(c);
        c = next;
    }
    lim->chunks = NULL;
}

static const char *KEY_ORDER = "plume.keyorder";
static const char *COVERAGE = "plume.coverage";
static const char *KEY_TEMPLATE = "plume.keytemplate";

/* Lua's allocator: with ptr set, osize is the size the block was allocated with (Lua 5.4), which tells
   which kind of block it is. */
static void *plume_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    plume_limits *lim = (plume_limits *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr) {
            if (old <= SMALL_MAX) small_free(lim, ptr, small_class(old)); else free(ptr);
        }
        lim->used -= old;
        return NULL;
    }
    if (lim->enforcing && lim->limit && nsize > old && lim->used - old + nsize > lim->limit) {
        lim->refused = 1;
        return NULL;
    }
    void *p;
    if (ptr && old > SMALL_MAX && nsize > SMALL_MAX) {
        p = realloc(ptr, nsize);
    } else if (ptr && old <= SMALL_MAX && nsize <= SMALL_MAX && small_class(old) == small_class(nsize)) {
        p = ptr;
    } else {
        p = nsize <= SMALL_MAX ? small_alloc(lim, small_class(nsize)) : malloc(nsize);
        if (p && ptr) {
            memcpy(p, ptr, old < nsize ? old : nsize);
            if (old <= SMALL_MAX) small_free(lim, ptr, small_class(old)); else free(ptr);
        }
    }
    if (p) lim->used = lim->used - old + nsize;
    return p;
}

static plume_limits *limits_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (plume_limits *)ud;
}

static void hook(lua_State *L, lua_Debug *ar) {
    plume_limits *lim = limits_of(L);
    if (ar->event == LUA_HOOKLINE && lim->coverage) {
        if (lua_getinfo(L, "S", ar) && ar->source) {
            lua_getfield(L, LUA_REGISTRYINDEX, COVERAGE);
            if (lua_istable(L, -1)) {
                if (lua_getfield(L, -1, ar->source) != LUA_TTABLE) {
                    lua_pop(L, 1);
                    lua_newtable(L);
                    lua_pushvalue(L, -1);
                    lua_setfield(L, -3, ar->source);
                }
                lua_rawgeti(L, -1, ar->currentline);
                lua_Integer n = lua_tointeger(L, -1);
                lua_pop(L, 1);
                lua_pushinteger(L, n + 1);
                lua_rawseti(L, -2, ar->currentline);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
    }
    if (lim->interrupted) {
        luaL_error(L, "cpu time limit exceeded");
    }
}

static int safe_print(lua_State *L) {
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1) fputc('\t', stderr);
        fwrite(s, 1, len, stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

/* load(chunk [, chunkname [, mode [, env]]]) for text only: the mode argument is ignored. */
static int safe_load(lua_State *L) {
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    if (s == NULL || lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_pushliteral(L, "load: only source text is accepted");
        return 2;
    }
    const char *name = luaL_optstring(L, 2, "=(load)");
    int status = luaL_loadbufferx(L, s, len, name, "t");
    if (status != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (!lua_isnoneornil(L, 4)) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

static int panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "plume: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
    abort();
    return 0;
}

/* ---- Sandbox hardening: library functions that would escape the limits (Docs/HOST.md, "Sandbox").
   Each guard checks its arguments, then runs the original C function (upvalue 1) in the same frame,
   so argument errors still name the function the script called. */

#define PLUME_MAX_C_LOOP ((lua_Unsigned)1 << 26)   /* elements a library C loop may visit in one call */

static int call_original(lua_State *L) { return lua_tocfunction(L, lua_upvalueindex(1))(L); }

/* setmetatable refuses a metatable with a __gc field. A finalizer runs whenever the collector gets to
   it: during host pushes outside any deadline and with the memory cap lifted, and in lua_close, where
   an endless __gc loop hangs the host. (Lua only marks an object for finalization if __gc is present
   when setmetatable is called, so adding the field later is harmless.) */
static int guard_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int t = lua_rawget(L, 2);
        lua_pop(L, 1);
        if (t != LUA_TNIL) return luaL_error(L, "__gc metamethods are not allowed in the sandbox");
    }
    return call_original(L);
}

/* string.rep("", n) loops n times in C even though the result is empty: with n = 2^62 it never
   returns and the hook cannot interrupt C code. */
static int guard_rep(lua_State *L) {
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (l == 0 && lsep == 0) { lua_pushliteral(L, ""); return 1; }
    return call_original(L);
}

/* table.move(t, 1, 2^62, 1) visits every index in C (nils cost no memory): bound the range. */
static int guard_move(lua_State *L) {
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= PLUME_MAX_C_LOOP)
        return luaL_error(L, "table.move: too many elements (at most %I)", (lua_Integer)PLUME_MAX_C_LOOP);
    return call_original(L);
}

/* table.insert/remove shift elements up to #t in C; a __len metamethod can claim any length. */
static int guard_shift(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE && luaL_getmetafield(L, 1, "__len") != LUA_TNIL) {
        lua_pop(L, 1);
        lua_Integer n = luaL_len(L, 1);
        if (n < 0 || (lua_Unsigned)n >= PLUME_MAX_C_LOOP) return luaL_error(L, "table length %I is too large", n);
    }
    return call_original(L);
}

/* rawset would write straight into a read-only proxy (LuaState.readOnly marks its proxies with
   __metatable = "read-only"), shadowing the real value for every reader. */
static int guard_rawset(lua_State *L) {
    int t = luaL_getmetafield(L, 1, "__metatable");
    if (t != LUA_TNIL) {
        int read_only = t == LUA_TSTRING && strcmp(lua_tostring(L, -1), "read-only") == 0;
        lua_pop(L, 1);
        if (read_only) return luaL_error(L, "attempt to modify a read-only table with rawset");
    }
    return call_original(L);
}

/* A script's xpcall handler: when the error is the time limit it is raised from inside the hook, and
   Lua runs the handler with hooks disabled, so a looping handler would never be interrupted. Once the
   call is interrupted, the handler is skipped and the error passes through unchanged. */
static int guarded_handler(lua_State *L) {
    if (limits_of(L)->interrupted) return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int guard_xpcall(lua_State *L) {
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    return call_original(L);
}

/* Replaces t[name] (t at the top of the stack) by `guard` wrapping the original. */
static void guard_field(lua_State *L, const char *name, lua_CFunction guard) {
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, guard, 1);
    lua_setfield(L, -2, name);
}

lua_State *plume_open(size_t memory_limit) {
    plume_limits *lim = calloc(1, sizeof(plume_limits));
    if (!lim) return NULL;
    lim->limit = memory_limit;
    lua_State *L = lua_newstate(plume_alloc, lim);
    if (!L) { free_chunks(lim); free(lim); return NULL; }
    lua_atpanic(L, panic);
    *(void **)lua_getextraspace(L) = NULL;     /* the operation recorder, made on first use (recorder.c) */
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_pop(L, 5);
    lua_pushglobaltable(L);
    lua_pushnil(L); lua_setfield(L, -2, "dofile");
    lua_pushnil(L); lua_setfield(L, -2, "loadfile");
    lua_pushnil(L); lua_setfield(L, -2, "collectgarbage");
    lua_pushcfunction(L, safe_load); lua_setfield(L, -2, "load");
    lua_pushcfunction(L, safe_print); lua_setfield(L, -2, "print");
    guard_field(L, "setmetatable", guard_setmetatable);
    guard_field(L, "rawset", guard_rawset);
    guard_field(L, "xpcall", guard_xpcall);
    lua_getfield(L, -1, LUA_STRLIBNAME);
    guard_field(L, "rep", guard_rep);
    lua_pop(L, 1);
    lua_getfield(L, -1, LUA_TABLIBNAME);
    guard_field(L, "move", guard_move);
    guard_field(L, "insert", guard_shift);
    guard_field(L, "remove", guard_shift);
    lua_pop(L, 1);
    lua_pop(L, 1);
    /* Strings share one metatable ({__index = string}) per state. Hiding it stops a script from
       reaching it through getmetatable("") to redefine methods every other chunk (and the host's own
       Lua code) calls on strings. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    /* weak-keyed table: row object -> its keys in input order */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, KEY_ORDER);
    /* weak-keyed table: row object -> a shared list of possible keys, in order (rows of one CSV file) */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, KEY_TEMPLATE);
    return L;
}

void plume_close(lua_State *L) {
    if (!L) return;
    plume_limits *lim = limits_of(L);
    plume_recorder *recorder = *(plume_recorder **)lua_getextraspace(L);
    lua_close(L);
    plume_free_recorder(recorder);
    free_chunks(lim);
    free(lim);
}

size_t plume_memory_used(lua_State *L) { return limits_of(L)->used; }
void plume_set_memory_limit(lua_State *L, size_t limit) { limits_of(L)->limit = limit; }
int plume_memory_refused(lua_State *L) { return limits_of(L)->refused; }

void plume_interrupt(lua_State *L) {
    plume_limits *lim = limits_of(L);
    lim->interrupted = 1;
    lua_sethook(L, hook, LUA_MASKCOUNT | (lim->coverage ? LUA_MASKLINE : 0), 1);
}

int plume_interrupted(lua_State *L) { return limits_of(L)->interrupted; }

void plume_reset_flags(lua_State *L) {
    plume_limits *lim = limits_of(L);
    lim->refused = 0;
    if (lim->interrupted) {
        lim->interrupted = 0;
        lua_sethook(L, lim->coverage ? hook : NULL, lim->coverage ? LUA_MASKLINE : 0, 0);
    }
}

/* Twice: a cycle calls the finalizers of unreachable objects but frees those objects only in the next. */
void plume_collect(lua_State *L) {
    lua_gc(L, LUA_GCCOLLECT);
    lua_gc(L, LUA_GCCOLLECT);
}

int plume_load(lua_State *L, const char *buffer, size_t length, const char *chunkname) {
    return luaL_loadbufferx(L, buffer, length, chunkname, "t");
}

static int message_handler(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        /* message .. "\n" .. traceback, not luaL_traceback(msg): that takes a C string and would cut
           a message at its first NUL byte */
        lua_pushvalue(L, 1);
        lua_pushliteral(L, "\n");
        luaL_traceback(L, L, NULL, 1);
        lua_concat(L, 3);
        return 1;
    }
    if (lua_type(L, 1) == LUA_TTABLE) return 1;   /* structured errors pass through untouched */
    const char *t = luaL_typename(L, 1);
    lua_pushfstring(L, "(error object is a %s value)", t);
    luaL_traceback(L, L, lua_tostring(L, -1), 1);
    return 1;
}

int plume_pcall(lua_State *L, int nargs, int nresults) {
    plume_limits *lim = limits_of(L);
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    int was = lim->enforcing;
    lim->enforcing = 1;
    int status = lua_pcall(L, nargs, nresults, base);
    lim->enforcing = was;
    lua_remove(L, base);
    return status;
}

static int trampoline(lua_State *L) {
    plume_callback fn = (plume_callback)lua_touserdata(L, lua_upvalueindex(1));
    void *context = lua_touserdata(L, lua_upvalueindex(2));
    plume_limits *lim = limits_of(L);
    int was = lim->enforcing;
    lim->enforcing = 0;           /* Swift's pushes must never meet a refused allocation */
    lua_checkstack(L, 32);
    int n = fn(L, context);
    lim->enforcing = was;
    if (n < 0) return lua_error(L);
    return n;
}

void plume_push_callback(lua_State *L, plume_callback callback, void *context) {
    lua_pushlightuserdata(L, (void *)callback);
    lua_pushlightuserdata(L, context);
    lua_pushcclosure(L, trampoline, 2);
}

/* registry[name][t] = value at value_index (both indices absolute or relative, resolved first). */
static void record(lua_State *L, const char *name, int table_index, int value_index) {
    table_index = lua_absindex(L, table_index);
    value_index = lua_absindex(L, value_index);
    lua_getfield(L, LUA_REGISTRYINDEX, name);
    lua_pushvalue(L, table_index);
    lua_pushvalue(L, value_index);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Pushes registry[name][t] for the table at stack index 1 (the registry table stays below it). */
static int recorded(lua_State *L, const char *name) {
    lua_getfield(L, LUA_REGISTRYINDEX, name);
    lua_pushvalue(L, 1);
    return lua_rawget(L, -2);
}

void plume_set_key_order(lua_State *L, int table_index, int keys_index) {
    record(L, KEY_ORDER, table_index, keys_index);
}

void plume_mark_list(lua_State *L, int table_index) {
    table_index = lua_absindex(L, table_index);
    lua_pushboolean(L, 1);
    record(L, KEY_ORDER, table_index, -1);
    lua_pop(L, 1);
}

/* kind(t) -> "object" or "list" for tables the host pushed, nothing for others. */
static int table_kind(lua_State *L) {
    if (recorded(L, KEY_TEMPLATE) == LUA_TTABLE) { lua_pushliteral(L, "object"); return 1; }
    lua_pop(L, 2);
    recorded(L, KEY_ORDER);
    if (lua_istable(L, -1)) { lua_pushliteral(L, "object"); return 1; }
    if (lua_isboolean(L, -1)) { lua_pushliteral(L, "list"); return 1; }
    return 0;
}

void plume_push_kind_function(lua_State *L) { lua_pushcfunction(L, table_kind); }

void plume_set_key_template(lua_State *L, int table_index, int template_index) {
    record(L, KEY_TEMPLATE, table_index, template_index);
}

static int ordered_keys(lua_State *L) {
    if (recorded(L, KEY_TEMPLATE) == LUA_TTABLE) {
        /* the template's keys that this row has */
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1), j = 0;
        lua_createtable(L, (int)n, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -2, i);
            lua_pushvalue(L, -1);
            lua_rawget(L, 1);
            int present = !lua_isnil(L, -1);
            lua_pop(L, 1);
            if (present) lua_rawseti(L, -2, ++j); else lua_pop(L, 1);
        }
        return 1;
    }
    lua_pop(L, 2);
    if (recorded(L, KEY_ORDER) == LUA_TTABLE) {
        /* a copy, so scripts cannot edit the host's record */
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        lua_createtable(L, (int)n, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -2, i);
            lua_rawseti(L, -2, i);
        }
        return 1;
    }
    return 0;
}

void plume_push_key_order_function(lua_State *L) { lua_pushcfunction(L, ordered_keys); }

void plume_set_coverage(lua_State *L, int on) {
    plume_limits *lim = limits_of(L);
    lim->coverage = on;
    if (on) {
        lua_getfield(L, LUA_REGISTRYINDEX, COVERAGE);
        if (!lua_istable(L, -1)) {
            lua_newtable(L);
            lua_setfield(L, LUA_REGISTRYINDEX, COVERAGE);
        }
        lua_pop(L, 1);
    }
    lua_sethook(L, (on || lim->interrupted) ? hook : NULL,
                (on ? LUA_MASKLINE : 0) | (lim->interrupted ? LUA_MASKCOUNT : 0), 1);
}

void plume_push_coverage(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, COVERAGE);
}

static int traceback(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

void plume_push_traceback_function(lua_State *L) { lua_pushcfunction(L, traceback); }

int plume_registry_index(void) { return LUA_REGISTRYINDEX; }
int plume_upvalue_index(int i) { return lua_upvalueindex(i); }
void plume_pop(lua_State *L, int n) { lua_pop(L, n); }
void plume_newtable(lua_State *L) { lua_newtable(L); }
double plume_tonumber(lua_State *L, int index, int *isnum) { return lua_tonumberx(L, index, isnum); }
long long plume_tointeger(lua_State *L, int index, int *isnum) { return lua_tointegerx(L, index, isnum); }
const char *plume_tostring(lua_State *L, int index, size_t *length) { return lua_tolstring(L, index, length); }
int plume_isinteger(lua_State *L, int index) { return lua_isinteger(L, index); }
void plume_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }

/* where(level) -> "chunk:line" of the function `level` frames above the caller, or nil. */
static int where(lua_State *L) {
    lua_Debug ar;
    int level = (int)luaL_optinteger(L, 1, 1);
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Sl", &ar) || ar.currentline < 0) return 0;
    lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
    return 1;
}

void plume_push_where_function(lua_State *L) { lua_pushcfunction(L, where); }

void plume_set_null_sentinel(lua_State *L) { lua_setfield(L, LUA_REGISTRYINDEX, "plume.null"); }
