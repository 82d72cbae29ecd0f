/* The operation recorder (CLuaShim.h, "Operation recorder"). Its metamethods run for every operation on
   a marked number while a recording is on; written in Lua they made a recording cost three plain
   evaluations (a Lua call, a table and a metatable lookup per operation). */
#include "CLuaShim.h"
#include <math.h>
#include <stdlib.h>

typedef struct {
    double value;
    int index;
} mark;

struct plume_recorder {
    int active, broken, inputs, limit;
    int count, constant_count, capacity, constant_capacity;
    unsigned char *op;
    int *a, *b;
    double *constants;
};

#define RECORDER(L) ((plume_recorder *)lua_touserdata(L, lua_upvalueindex(1)))
#define MARK_META lua_upvalueindex(2)

static const char *MISUSE = "a tracked number was used outside arithmetic";

static int fail(lua_State *L, plume_recorder *r) {
    if (r->active) r->broken = 1;
    return luaL_error(L, "%s", MISUSE);
}

/* The mark at `i`, or NULL when the value is anything else (a script cannot make userdata, but the
   metatable decides, not the size). */
static mark *marked(lua_State *L, int i) {
    if (lua_type(L, i) != LUA_TUSERDATA || !lua_getmetatable(L, i)) return NULL;
    int same = lua_rawequal(L, -1, MARK_META);
    lua_pop(L, 1);
    return same ? (mark *)lua_touserdata(L, i) : NULL;
}

static void push_mark(lua_State *L, double value, int index) {
    mark *m = (mark *)lua_newuserdatauv(L, sizeof(mark), 0);
    m->value = value;
    m->index = index;
    lua_pushvalue(L, MARK_META);
    lua_setmetatable(L, -2);
}

static int grow(void **p, int capacity, size_t size) {
    void *q = realloc(*p, (size_t)capacity * size);
    if (!q) return 0;
    *p = q;
    return 1;
}

/* Appends an entry; returns its node code. */
static int emit(lua_State *L, plume_recorder *r, int op, int a, int b) {
    int n = r->count;
    if (n + 1 + r->constant_count + r->inputs > r->limit) fail(L, r);
    if (n == r->capacity) {
        int c = n ? 2 * n : 64;
        if (!grow((void **)&r->op, c, 1) || !grow((void **)&r->a, c, sizeof(int)) || !grow((void **)&r->b, c, sizeof(int)))
            fail(L, r);
        r->capacity = c;
    }
    r->op[n] = (unsigned char)op;
    r->a[n] = a;
    r->b[n] = b;
    r->count = n + 1;
    return r->inputs + n + 1;
}

/* The operand code of the value at `i` and its value: a mark's node, or a new constant for a plain
   number. Integers beyond 2^53 (not exact as doubles) and NaN cannot be replayed bit for bit. */
static int operand(lua_State *L, plume_recorder *r, int i, double *value) {
    mark *m = marked(L, i);
    if (m) { *value = m->value; return m->index; }
    if (lua_type(L, i) != LUA_TNUMBER) fail(L, r);
    double f;
    if (lua_isinteger(L, i)) {
        lua_Integer n = lua_tointeger(L, i);
        const lua_Integer exact = (lua_Integer)1 << 53;
        if (n > exact || n < -exact) fail(L, r);
        f = (double)n;
    } else {
        f = lua_tonumber(L, i);
        if (f != f) fail(L, r);
    }
    if (r->constant_count + 1 + r->count + r->inputs > r->limit) fail(L, r);
    if (r->constant_count == r->constant_capacity) {
        int c = r->constant_count ? 2 * r->constant_count : 64;
        if (!grow((void **)&r->constants, c, sizeof(double))) fail(L, r);
        r->constant_capacity = c;
    }
    r->constants[r->constant_count++] = f;
    *value = f;
    return -r->constant_count;
}

static int arith(lua_State *L, int op) {
    plume_recorder *r = RECORDER(L);
    if (!r->active) return fail(L, r);
    double x, y, v;
    int a = operand(L, r, 1, &x), b = operand(L, r, 2, &y);
    switch (op) {
    case PLUME_OP_ADD: v = x + y; break;
    case PLUME_OP_SUB: v = x - y; break;
    case PLUME_OP_MUL: v = x * y; break;
    default: v = x / y; break;
    }
    push_mark(L, v, emit(L, r, op, a, b));
    return 1;
}

static int add(lua_State *L) { return arith(L, PLUME_OP_ADD); }
static int sub(lua_State *L) { return arith(L, PLUME_OP_SUB); }
static int mul(lua_State *L) { return arith(L, PLUME_OP_MUL); }
static int divide(lua_State *L) { return arith(L, PLUME_OP_DIV); }

static int unm(lua_State *L) {
    plume_recorder *r = RECORDER(L);
    mark *m = marked(L, 1);
    if (!r->active || !m) return fail(L, r);
    double v = -m->value;
    push_mark(L, v, emit(L, r, PLUME_OP_UNM, m->index, 0));
    return 1;
}

static int compare(lua_State *L, int op) {
    plume_recorder *r = RECORDER(L);
    if (!r->active) return fail(L, r);
    double x, y;
    int a = operand(L, r, 1, &x), b = operand(L, r, 2, &y);
    int holds = op == PLUME_OP_LT_T ? x < y : x <= y;
    emit(L, r, holds ? op : op + 1, a, b);
    lua_pushboolean(L, holds);
    return 1;
}

static int lt(lua_State *L) { return compare(L, PLUME_OP_LT_T); }
static int le(lua_State *L) { return compare(L, PLUME_OP_LE_T); }

/* Lua asks only when both sides are userdata: a mark compared with a plain number is never equal. */
static int eq(lua_State *L) {
    plume_recorder *r = RECORDER(L);
    mark *x = marked(L, 1), *y = marked(L, 2);
    if (!x || !y || !r->active) { lua_pushboolean(L, 0); return 1; }
    int holds = x->value == y->value;
    emit(L, r, holds ? PLUME_OP_EQ_T : PLUME_OP_EQ_F, x->index, y->index);
    lua_pushboolean(L, holds);
    return 1;
}

static int misuse(lua_State *L) { return fail(L, RECORDER(L)); }

/* track(value, index): a marked number. */
static int track(lua_State *L) {
    double v = luaL_checknumber(L, 1);
    int index = (int)luaL_checkinteger(L, 2);
    push_mark(L, v, index);
    return 1;
}

static int is_marked(lua_State *L) {
    lua_pushboolean(L, marked(L, 1) != NULL);
    return 1;
}

static int start(lua_State *L) {
    plume_recorder *r = RECORDER(L);
    r->inputs = (int)luaL_checkinteger(L, 1);
    r->count = 0;
    r->constant_count = 0;
    r->broken = 0;
    r->active = 1;
    return 0;
}

/* stop(): ends the recording; returns whether it broke. */
static int stop(lua_State *L) {
    plume_recorder *r = RECORDER(L);
    r->active = 0;
    lua_pushboolean(L, r->broken);
    return 1;
}

static int spoil(lua_State *L) {
    plume_recorder *r = RECORDER(L);
    if (r->active) r->broken = 1;
    return 0;
}

/* operand(v): v's operand code, a plain number becoming a new constant. */
static int operand_code(lua_State *L) {
    double v;
    lua_pushinteger(L, operand(L, RECORDER(L), 1, &v));
    return 1;
}

/* finite(mark) and integer(mark): the test's outcome, kept as a guard. */
static int guard(lua_State *L, int op) {
    plume_recorder *r = RECORDER(L);
    mark *m = marked(L, 1);
    if (!r->active || !m) return fail(L, r);
    double v = m->value;
    int holds = op == PLUME_OP_FINITE_T ? (v == v && v != HUGE_VAL && v != -HUGE_VAL) : v == floor(v);
    emit(L, r, holds ? op : op + 1, m->index, 0);
    lua_pushboolean(L, holds);
    return 1;
}

static int is_finite(lua_State *L) { return guard(L, PLUME_OP_FINITE_T); }
static int is_integer(lua_State *L) { return guard(L, PLUME_OP_INT_T); }

int plume_push_recorder(lua_State *L, int limit) {
    plume_recorder **slot = (plume_recorder **)lua_getextraspace(L);
    if (!*slot) *slot = calloc(1, sizeof(plume_recorder));
    plume_recorder *r = *slot;
    if (!r) return 0;
    r->limit = limit;
    /* upvalues of every function: the recorder and the marks' metatable */
    lua_newtable(L);                                   /* the functions */
    lua_createtable(L, 0, 24);                         /* the marks' metatable */
    static const struct { const char *name; lua_CFunction f; } metamethods[] = {
        {"__add", add}, {"__sub", sub}, {"__mul", mul}, {"__div", divide}, {"__unm", unm},
        {"__lt", lt}, {"__le", le}, {"__eq", eq},
        {"__mod", misuse}, {"__idiv", misuse}, {"__pow", misuse}, {"__band", misuse}, {"__bor", misuse},
        {"__bxor", misuse}, {"__shl", misuse}, {"__shr", misuse}, {"__bnot", misuse}, {"__concat", misuse},
        {"__len", misuse}, {"__index", misuse}, {"__newindex", misuse}, {"__call", misuse},
        {"__close", misuse}, {"__tostring", misuse},
    };
    for (size_t i = 0; i < sizeof metamethods / sizeof metamethods[0]; i++) {
        lua_pushlightuserdata(L, r);
        lua_pushvalue(L, -2);
        lua_pushcclosure(L, metamethods[i].f, 2);
        lua_setfield(L, -2, metamethods[i].name);
    }
    lua_pushliteral(L, "number");
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0);                             /* getmetatable(mark) is false: scripts cannot edit it */
    lua_setfield(L, -2, "__metatable");
    static const struct { const char *name; lua_CFunction f; } functions[] = {
        {"track", track}, {"is", is_marked}, {"start", start}, {"stop", stop}, {"spoil", spoil},
        {"fail", misuse}, {"operand", operand_code}, {"finite", is_finite}, {"integer", is_integer},
    };
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
        lua_pushlightuserdata(L, r);
        lua_pushvalue(L, -2);
        lua_pushcclosure(L, functions[i].f, 2);
        lua_setfield(L, -3, functions[i].name);
    }
    lua_pop(L, 1);
    return 1;
}

plume_tape plume_recorded_tape(lua_State *L) {
    plume_recorder *r = *(plume_recorder **)lua_getextraspace(L);
    plume_tape t = {0, 0, NULL, NULL, NULL, NULL};
    if (!r) return t;
    t.count = r->count;
    t.constant_count = r->constant_count;
    t.op = r->op;
    t.a = r->a;
    t.b = r->b;
    t.constants = r->constants;
    return t;
}

void plume_free_recorder(plume_recorder *r) {
    if (!r) return;
    free(r->op); free(r->a); free(r->b); free(r->constants);
    free(r);
}
