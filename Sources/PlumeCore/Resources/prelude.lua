-- Plume's model runtime. Trusted host code: it turns model scripts (Docs/DSL.md) into definitions and
-- evaluates rows with them. Model scripts never see this file's locals; each runs in an environment
-- built by new_env below.
local H = ...   -- host hooks, see ModelRuntime.swift

local type, pairs, ipairs, next, error, tostring, tonumber, select, setmetatable, getmetatable =
      type, pairs, ipairs, next, error, tostring, tonumber, select, setmetatable, getmetatable
local rawget, pcall, xpcall, load = rawget, pcall, xpcall, load
local sfind, sformat, sbyte, ssub, sgsub, smatch = string.find, string.format, string.byte, string.sub, string.gsub, string.match
local tconcat, tsort, unpack = table.concat, table.sort, table.unpack
local huge = math.huge

local R = {}            -- what the host calls
local P = {}            -- the host API a script sees as `p` / require "plume"

-- Per-row state (one row runs at a time in a state).
local tracing = false
local trace_values, trace_order = nil, nil
local recording = false
local accessed = {}     -- coefficient paths read while recording
local input_log = nil   -- { {name=, value=, origin=} } while tracing
local running = nil     -- the bound instance evaluating now

local NULL = setmetatable({}, { __tostring = function() return "null" end, __metatable = "null" })
P.null = NULL

---------------------------------------------------------------------------------------------------
-- Errors

local REJECT = {}
local function reject(path, message)
  error(setmetatable({ plume_reject = true, path = path, message = message or tostring(path) }, REJECT), 0)
end
local function is_reject(e) return type(e) == "table" and getmetatable(e) == REJECT end

-- A model (or declaration) error at the script line `level` frames up.
local function model_error(message, level)
  local at = H.where(level + 1)
  error((at and (at .. ": ") or "") .. message, 0)
end

---------------------------------------------------------------------------------------------------
-- Text helpers (ASCII only, as the specs require)

local function ascii_trim(s) return (smatch(s, "^[ \t\n\v\f\r]*(.-)[ \t\n\v\f\r]*$")) end
local function ascii_lower(s) return (sgsub(s, "%u", function(c) return string.char(sbyte(c) + 32) end)) end
local function ascii_upper(s) return (sgsub(s, "%l", function(c) return string.char(sbyte(c) - 32) end)) end

-- The decimal grammar of Docs/VECTORS.md; Lua's tonumber accepts more (hex, inf) so match first.
local function parse_number(s)
  if type(s) ~= "string" then return nil end
  local t = ascii_trim(s)
  local body = smatch(t, "^[+-]?(.*)$")
  local mant, exp = smatch(body, "^([%d%.]+)(.*)$")
  if not mant then return nil end
  if not (smatch(mant, "^%d+%.?%d*$") or smatch(mant, "^%.%d+$")) then return nil end
  if exp ~= "" and not smatch(exp, "^[eE][+-]?%d+$") then return nil end
  local v = tonumber(t)
  if v == nil then
    -- Lua refuses a trailing dot ("5."); add a zero.
    v = tonumber((sgsub(t, "%.([eE]?)", ".0%1", 1)))
  end
  if v == nil then return nil end
  return v + 0.0
end

-- Numbers a row replay tracks (see "Replay" below) are the host recorder's marks standing for numbers;
-- everything that asks "is this a number" goes through these so that a tracked number answers like the
-- number it is.
local RC = H.recorder    -- the operation recorder (CLuaShim.h)
local rc_is = RC.is
local raw_type = type
local function is_tracked(v) return raw_type(v) == "userdata" and rc_is(v) end
local function vtype(v)
  local t = raw_type(v)
  if t == "userdata" and rc_is(v) then return "number" end
  return t
end

local function is_number(v) return vtype(v) == "number" end
local rec = false        -- a row is being recorded (see "Replay")
local function is_finite(v)
  if rec and is_tracked(v) then return RC.finite(v) end
  return type(v) == "number" and v == v and v ~= huge and v ~= -huge
end

P.ascii_trim, P.ascii_lower, P.ascii_upper = ascii_trim, ascii_lower, ascii_upper
P.parse_number, P.is_number, P.is_finite = parse_number, is_number, is_finite
P.reject = reject

-- Lists and objects: tables the host pushed know which they are (so [] and {} differ); for tables a
-- script made, a sequence is a list and anything else an object (an empty table is both).
local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
function P.is_list(v)
  if vtype(v) ~= "table" or v == NULL then return false end
  local k = H.kind(v)
  if k then return k == "list" end
  return count(v) == #v
end
function P.is_object(v)
  if vtype(v) ~= "table" or v == NULL then return false end
  local k = H.kind(v)
  if k then return k == "object" end
  local n = count(v)
  return n == 0 or n ~= #v
end

P.keys = function(t)
  if type(t) ~= "table" then return {} end
  local k = H.keys(t)
  if k then return k end
  local out = {}
  for key in pairs(t) do out[#out + 1] = key end
  tsort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

---------------------------------------------------------------------------------------------------
-- Replay (Docs/DSL.md, "Replay"). A model declaring `replay = true` promises that its numeric inputs
-- reach its results only through arithmetic (+ - * / unary -) and ordering comparisons. `plume run`
-- then evaluates the first row of each distinct text part (every non-number cell) with its numbers
-- tracked: each operation on a tracked number is executed and appended to a tape, each comparison is
-- executed and appended as a guard. The host replays the tape on the numbers of later rows with the same
-- text part: the same floating-point operations in the same order, so the same bits. A row whose
-- guards come out differently is recorded as another path of the key (the host keeps a few). Anything
-- else done with a tracked number that asks a metamethod or a library function (tostring, math.floor,
-- %, ..) breaks the recording and the key is always evaluated by the script; what asks nothing (`==`
-- with a plain number, a table key, rawequal) the recorder cannot see, which is why the contract
-- forbids it (Docs/DSL.md).

-- The recorder runs in C (CLuaShim.h, "Operation recorder"): its metamethods run for every operation
-- on a tracked number, and written here in Lua they made a recording cost three plain evaluations.
-- A plain number met in an operation becomes a constant of the tape; integers beyond 2^53 (not exact
-- as doubles) and NaN end the recording, as does anything else done with a tracked number.
local untrackable = RC.fail

-- While a row is recorded, the model's `type`, `tonumber`, `math.type` and `math.tointeger` answer for a
-- tracked number as for the number (other library functions refuse a table, which ends the
-- recording). They are swapped in only then: a Lua wrapper around `type` costs a third of a plain row.
-- Hence a replay model calls them as globals (loading one that keeps a copy is an error, see COPIES).
local tracked_builtins = {
  type = vtype,
  tonumber = function(v, base)
    if base == nil and is_tracked(v) then return v end
    return tonumber(v, base)
  end,
  math_type = function(x)
    if is_tracked(x) then return "float" end
    return math.type(x)
  end,
  math_tointeger = function(x)
    if is_tracked(x) then untrackable() end
    return math.tointeger(x)
  end,
}

local function swap_builtins(def, on)
  local d = def
  while d do
    local env = d.env
    env.type = on and tracked_builtins.type or type
    env.tonumber = on and tracked_builtins.tonumber or tonumber
    env.math.type = on and tracked_builtins.math_type or math.type
    env.math.tointeger = on and tracked_builtins.math_tointeger or math.tointeger
    d = d.parent
  end
end

-- Copies of the swapped builtins a replay model must not make (they would miss the swap).
local COPIES = { "[=,{]%s*type%s*[,;})\n]", "[=,{]%s*type%s*$", "[=,{]%s*tonumber%s*[,;})\n]", "[=,{]%s*tonumber%s*$",
                 "[=,{]%s*math%.type%s*[,;})\n]", "[=,{]%s*math%.type%s*$", "[=,{]%s*math%.tointeger%s*[,;})\n]",
                 "[=,{]%s*math%.tointeger%s*$" }

-- file:line of the first copy of a swapped builtin in the sources of `def` and its parents, or nil.
local function builtin_copy(def)
  local d = def
  while d do
    for chunk, source in pairs(d.sources) do
      -- patterns are tried at every byte: plain searches cut the lines and say which need them
      local n, pos = 0, 1
      while pos <= #source do
        local nl = sfind(source, "\n", pos, true) or #source + 1
        n = n + 1
        local code = ssub(source, pos, nl - 1)
        pos = nl + 1
        if sfind(code, "--", 1, true) then code = sgsub(code, "%-%-.*$", "") end
        if sfind(code, "type", 1, true) or sfind(code, "tonumber", 1, true) or sfind(code, "tointeger", 1, true) then
          for _, pat in ipairs(COPIES) do
            if sfind(code, pat) then return chunk .. ":" .. n end
          end
        end
      end
    end
    d = d.parent
  end
  return nil
end

---------------------------------------------------------------------------------------------------
-- Trace

-- Names a run groups by: their traced values are kept even when nobody traces (see R.set_watch).
local watch, watched = nil, nil

function P.trace(name, value)
  if watch ~= nil and watch[name] then watched[name] = value end
  if tracing then
    if trace_values[name] == nil then trace_order[#trace_order + 1] = name end
    trace_values[name] = value
  end
  return value
end

function P.includes(key)
  return running ~= nil and running.included[key] == true
end

---------------------------------------------------------------------------------------------------
-- Units: decimal multiples; a conversion across dimensions is an error.

local UNITS = {
  B = { "bytes", 1 }, kB = { "bytes", 1e3 }, MB = { "bytes", 1e6 }, GB = { "bytes", 1e9 }, TB = { "bytes", 1e12 },
  bit = { "bytes", 1 / 8 }, kbit = { "bytes", 1e3 / 8 }, Mbit = { "bytes", 1e6 / 8 }, Gbit = { "bytes", 1e9 / 8 },
  Wh = { "energy", 1 }, kWh = { "energy", 1e3 }, MWh = { "energy", 1e6 }, J = { "energy", 1 / 3600 },
  g = { "mass", 1 }, kg = { "mass", 1e3 }, t = { "mass", 1e6 },
  s = { "time", 1 }, min = { "time", 60 }, h = { "time", 3600 },
}
P.units = {
  convert = function(value, from, to)
    local f, t = UNITS[from], UNITS[to]
    if not f then model_error("unknown unit '" .. tostring(from) .. "'", 2) end
    if not t then model_error("unknown unit '" .. tostring(to) .. "'", 2) end
    if f[1] ~= t[1] then model_error("cannot convert " .. from .. " (" .. f[1] .. ") to " .. to .. " (" .. t[1] .. ")", 2) end
    return value * f[2] / t[2]
  end,
  known = function(u) return UNITS[u] ~= nil end,
}

---------------------------------------------------------------------------------------------------
-- Grid intensity (host data)

P.grid = {
  intensity = function(country, region, utc)
    local v, source = H.grid(country, region, utc)
    return v, source
  end,
  annual = function(country) return H.annual(country) end,
}

---------------------------------------------------------------------------------------------------
-- Coefficients: read-only views that record reads and name unknown keys.

local PATH = setmetatable({}, { __mode = "k" })   -- view -> dotted path
local PACK_OF = setmetatable({}, { __mode = "k" })

local function closest(name, keys)
  local scored = {}
  for _, k in ipairs(keys) do
    -- a cheap similarity: shared prefix length, then length difference
    local n = 0
    while n < #k and n < #name and sbyte(k, n + 1) == sbyte(name, n + 1) do n = n + 1 end
    local contains = (sfind(k, name, 1, true) or sfind(name, k, 1, true)) and 100 or 0
    scored[#scored + 1] = { k, contains + n * 2 - math.abs(#k - #name) / 4 }
  end
  tsort(scored, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
  local out = {}
  for i = 1, math.min(3, #scored) do out[i] = scored[i][1] end
  return out
end

-- A model bug: reading a key the pack does not have. Names the closest keys; the error points at the
-- script line that read it (3 levels up: this function, the __index handler, the script).
local function unknown_coefficient(values, k, pack)
  local keys = {}
  for key in pairs(values) do keys[#keys + 1] = key end
  local near = closest(tostring(k), keys)
  model_error("unknown coefficient '" .. tostring(k) .. "' in pack " .. pack ..
    (#near > 0 and (" (closest: " .. tconcat(near, ", ") .. ")") or ""), 3)
end

-- A read-only view of `values` at `path`: reads go through `index` (a function or a table), pairs
-- yields what `get(view, key)` returns, writes are model errors.
local function new_view(values, path, pack, index, get)
  local view = setmetatable({}, {
    __index = index,
    __newindex = function(_, k)
      model_error("coefficients are read-only (attempt to set '" .. (path and (path .. ".") or "") .. tostring(k) .. "')", 2)
    end,
    __len = function() return #values end,
    __pairs = function(t)
      return function(_, k)
        local nk = next(values, k)
        if nk == nil then return nil end
        return nk, get(t, nk)
      end, t, nil
    end,
    __metatable = "coefficients",
  })
  PATH[view] = path
  PACK_OF[view] = pack
  return view
end

-- While recording (explain, coverage), every read runs a function that notes its path.
local function make_view(values, path, pack, top)
  local cache = {}
  return new_view(values, path, pack, function(_, k)
    local v = values[k]
    if v == nil then
      if top then unknown_coefficient(values, k, pack) end
      return nil
    end
    local full = path and (path .. "." .. tostring(k)) or tostring(k)
    if recording then accessed[full] = true end
    if type(v) == "table" then
      local w = cache[k]
      if not w then w = make_view(v, full, pack, false); cache[k] = w end
      return w
    end
    return v
  end, function(t, k) return t[k] end)
end

-- Without recording, reads go through tables (the VM's fast path), not functions: the view's
-- __index is a table holding the values, whose own __index only handles unknown top-level keys.
local function make_fast_view(values, path, pack, top)
  local cache = {}
  for k, v in pairs(values) do
    local full = path and (path .. "." .. tostring(k)) or tostring(k)
    cache[k] = type(v) == "table" and make_fast_view(v, full, pack, false) or v
  end
  if top then
    setmetatable(cache, { __index = function(_, k) unknown_coefficient(values, k, pack) end })
  end
  return new_view(values, path, pack, cache, function(_, k) return rawget(cache, k) end)
end

-- p.lookup(tbl, key): a required entry of a coefficient table.
function P.lookup(tbl, key)
  local v = tbl[key]
  if v == nil then
    local path = PATH[tbl] or "?"
    reject(key, "coefficient " .. path .. " has no entry '" .. tostring(key) .. "' (pack " .. (PACK_OF[tbl] or "?") .. ")")
  end
  return v
end

---------------------------------------------------------------------------------------------------
-- Inputs: declared fields are checked in declaration order before any hook runs.

local ISO = {}
for code in ("AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS " ..
  "BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE " ..
  "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM " ..
  "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC " ..
  "LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA " ..
  "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " ..
  "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO " ..
  "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK"):gmatch("%u%u") do
  ISO[code] = true
end
-- ISO 3166-1 alpha-2 (249 assigned codes) plus XK, the code in common use for Kosovo.
P.is_country = function(code) return type(code) == "string" and ISO[code] == true end

local function days_in_month(y, m)
  if m == 2 then return ((y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0) and 29 or 28 end
  return ({ 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[m]
end

-- ISO 8601 UTC date or date-time: YYYY-MM-DD [(T| )hh:mm[:ss[.f]] [Z|+00:00|+0000|-00:00|-0000]]
local function parse_datetime(s)
  if type(s) ~= "string" then return nil end
  local t = ascii_trim(s)
  local y, mo, d, rest = smatch(t, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) then return nil end
  local hh, mm, ss = 0, 0, 0
  if rest ~= "" then
    local sep, time = ssub(rest, 1, 1), ssub(rest, 2)
    if sep ~= "T" and sep ~= " " then return nil end
    local h, m, tail = smatch(time, "^(%d%d):(%d%d)(.*)$")
    if not h then return nil end
    local sec, tail2 = smatch(tail, "^:(%d%d)(.*)$")
    if sec then
      local frac_tail = smatch(tail2, "^%.%d+(.*)$")
      tail = frac_tail or tail2
      ss = tonumber(sec)
    end
    if tail ~= "" and tail ~= "Z" and tail ~= "+00:00" and tail ~= "+0000" and tail ~= "-00:00" and tail ~= "-0000" then
      return nil
    end
    hh, mm = tonumber(h), tonumber(m)
    if hh > 23 or mm > 59 or ss > 59 then return nil end
  end
  return { year = y, month = mo, day = d, hour = hh, minute = mm, second = ss }
end
P.parse_datetime = parse_datetime

local TYPES = { number = true, integer = true, string = true, boolean = true, enum = true, object = true,
                list = true, any = true, country = true, datetime = true }

local function check_input(decl, row, log)
  local name = decl.name
  local v = row[name]
  local origin = "INPUT"
  if v == nil and decl.default ~= nil then
    v = decl.default
    row[name] = v
    origin = "DEFAULT"
  end
  if v == nil then
    if decl.required then reject(name, name .. " is required") end
  else
    local t = decl.type
    if t == "number" or t == "integer" then
      if vtype(v) ~= "number" then reject(name, name .. " must be a number") end
      if not is_finite(v) then reject(name, name .. " must be finite") end
      if t == "integer" then
        local whole
        if is_tracked(v) then whole = RC.integer(v) else whole = v == math.floor(v) end
        if not whole then reject(name, name .. " must be an integer") end
      end
      if decl.min and v < decl.min then reject(name, name .. " must be >= " .. tostring(decl.min)) end
      if decl.max and v > decl.max then reject(name, name .. " must be <= " .. tostring(decl.max)) end
      if decl.gt and not (v > decl.gt) then reject(name, name .. " must be > " .. tostring(decl.gt)) end
      if decl.lt and not (v < decl.lt) then reject(name, name .. " must be < " .. tostring(decl.lt)) end
    elseif t == "string" or t == "enum" or t == "country" or t == "datetime" then
      if type(v) ~= "string" then reject(name, name .. " must be a string") end
      local n = decl.normalize
      if t == "country" then n = n or "upper" end
      if n == "trim" then v = ascii_trim(v)
      elseif n == "lower" then v = ascii_lower(ascii_trim(v))
      elseif n == "upper" then v = ascii_upper(ascii_trim(v)) end
      row[name] = v
      if t == "enum" and not decl.allowed[v] then
        reject(name, name .. ": unknown value '" .. v .. "' (expected one of " .. tconcat(decl.values, ", ") .. ")")
      end
      if t == "country" and not ISO[v] then reject(name, name .. ": unknown country code '" .. v .. "'") end
      if t == "datetime" and not parse_datetime(v) then
        reject(name, name .. ": '" .. v .. "' is not an ISO 8601 UTC date or date-time")
      end
    elseif t == "boolean" then
      if type(v) ~= "boolean" then reject(name, name .. " must be true or false") end
    elseif t == "object" then
      if not P.is_object(v) then reject(name, name .. " must be an object") end
    elseif t == "list" then
      if not P.is_list(v) then reject(name, name .. " must be a list") end
    end
  end
  if decl.check then decl.check(v, row, P, name) end
  if log then log[#log + 1] = { name = name, value = v, origin = v == nil and "ABSENT" or origin } end
end

---------------------------------------------------------------------------------------------------
-- Definitions

local defs = {}          -- "id@version" -> def (loaded once per state)
local loading = {}

local SAFE_GLOBALS = { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
  "type", "xpcall", "rawequal", "rawlen", "rawget", "setmetatable", "getmetatable", "print", "_VERSION" }

local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end

local define   -- forward

local function new_env(def, model_id)
  local env = {}
  for _, k in ipairs(SAFE_GLOBALS) do env[k] = _G[k] end
  env.string, env.table, env.math, env.utf8 = copy(string), copy(table), copy(math), copy(utf8)
  def.env = env
  -- an error a script catches while a row is recorded may have come from a tracked number
  env.pcall = function(...)
    local r = table.pack(pcall(...))
    if not r[1] and rec then RC.spoil() end
    return table.unpack(r, 1, r.n)
  end
  env.xpcall = function(f, h, ...)
    local r = table.pack(xpcall(f, h, ...))
    if not r[1] and rec then RC.spoil() end
    return table.unpack(r, 1, r.n)
  end
  env._G = env
  env.load = function(s, name, _, e) return load(s, name, "t", e or env) end
  env.plume = P
  local modules = { plume = P }
  env.require = function(name)
    if type(name) ~= "string" then model_error("require: module name must be a string", 2) end
    local m = modules[name]
    if m ~= nil then return m end
    local source, chunk = H.read_module(model_id, name)
    if not source then model_error(chunk, 2) end
    local fn, err = load(source, "@" .. chunk, "t", env)
    if not fn then error(err, 0) end
    def.sources[chunk] = source
    modules[name] = true     -- a module that requires itself sees `true`, as in standard Lua
    local value = fn(name)
    if value == nil then value = true end
    modules[name] = value
    def.files[#def.files + 1] = chunk
    return value
  end

  env.model = function(spec)
    if type(spec) ~= "table" then model_error("model { ... } expects a table", 2) end
    if def.declared then model_error("model { ... } may appear once per script", 2) end
    def.declared = true
    if spec.extends ~= nil then
      if type(spec.extends) ~= "string" then model_error("extends must be a model id", 2) end
      local parent = define(spec.extends, nil)
      -- inherit a copy of the parent's declarations; the child's statements then replace or append
      for k, v in pairs(parent.meta) do def.meta[k] = v end
      for _, n in ipairs(parent.input_order) do def.input_order[#def.input_order + 1] = n; def.inputs[n] = parent.inputs[n] end
      for _, n in ipairs(parent.cat_order) do def.cat_order[#def.cat_order + 1] = n; def.cats[n] = parent.cats[n] end
      for _, n in ipairs(parent.coeff_order) do def.coeff_order[#def.coeff_order + 1] = n; def.coeffs[n] = parent.coeffs[n] end
      def.validate, def.prepare = parent.validate, parent.prepare
      def.chain = { parent.id }
      for _, id in ipairs(parent.chain) do def.chain[#def.chain + 1] = id end
      for _, f in ipairs(parent.files) do def.files[#def.files + 1] = f end
      def.parent = parent
      env.parent = {
        validate = parent.validate, prepare = parent.prepare, categories = parent.cats, inputs = parent.inputs,
        model = parent.meta,
      }
    end
    for k, v in pairs(spec) do def.meta[k] = v end
    def.meta.extends = spec.extends
    def.declared_at = H.where(2)
  end

  -- input "x" {...}, coefficient "x" {...}, category "x" {...}: a name, then a table of fields. A name
  -- declared again (a parent's, with extends) is replaced in place, keeping its position.
  local function statement(what, order, store, fill)
    return function(name)
      if type(name) ~= "string" then model_error(what .. " expects a name", 2) end
      local at = H.where(2)
      return function(spec)
        if type(spec) ~= "table" then model_error(what .. " '" .. name .. "' expects a table", 2) end
        local decl = copy(spec)
        decl.at = at
        fill(decl, name, spec)
        if not store[name] then order[#order + 1] = name end
        store[name] = decl
      end
    end
  end

  env.input = statement("input", def.input_order, def.inputs, function(decl, name)
    decl.name = name
    decl.type = decl.type or "any"
    if decl.values then
      decl.allowed = {}
      for _, v in ipairs(decl.values) do decl.allowed[v] = true end
    end
  end)
  env.coefficient = statement("coefficient", def.coeff_order, def.coeffs, function(decl, name)
    decl.name = name
  end)
  env.category = statement("category", def.cat_order, def.cats, function(decl, key, spec)
    decl.key = key
    decl.compute = decl.compute or spec[1]
  end)
  return env
end

-- Loads model `id` at `version` (nil = model.lua). Definitions are cached per state.
define = function(id, version)
  local key = id .. "@" .. tostring(version)
  if defs[key] then return defs[key] end
  if loading[key] then error("model " .. id .. ": extends chain loops back to itself", 0) end
  loading[key] = true
  local source, chunk = H.read_model(id, version)
  if not source then loading[key] = nil; error(chunk, 0) end
  local def = { id = id, meta = {}, inputs = {}, input_order = {}, cats = {}, cat_order = {}, chain = {},
                coeffs = {}, coeff_order = {}, files = { chunk }, sources = { [chunk] = source } }
  local env = new_env(def, id)
  local fn, err = load(source, "@" .. chunk, "t", env)
  if not fn then loading[key] = nil; error(err, 0) end
  local ok, e = pcall(fn)
  loading[key] = nil
  if not ok then error(e, 0) end
  if not def.declared then error(chunk .. ": the script never calls model { ... }", 0) end
  if def.meta.replay == true then
    local at = builtin_copy(def)
    if at then
      error(at .. ": a replay model calls type, tonumber, math.type and math.tointeger by name; "
        .. "keeping a copy of one hides tracked numbers from it (Docs/DSL.md, \"Replay\")", 0)
    end
  end
  -- hooks defined by this script replace the inherited ones
  if rawget(env, "validate") ~= nil then def.validate = env.validate end
  if rawget(env, "prepare") ~= nil then def.prepare = env.prepare end
  def.version = def.meta.version
  if version ~= nil and tostring(def.version) ~= tostring(version) then
    error(chunk .. ": declares version " .. tostring(def.version) .. ", expected " .. tostring(version), 0)
  end
  def.categories = def.meta.categories or def.cat_order
  -- per-row work lists, computed once
  def.input_list, def.active_inputs = {}, {}
  for _, n in ipairs(def.input_order) do
    local d = def.inputs[n]
    def.input_list[#def.input_list + 1] = d
    if d.type ~= "any" or d.required or d.default ~= nil or d.check ~= nil then
      def.active_inputs[#def.active_inputs + 1] = d
    end
  end
  for _, k in ipairs(def.cat_order) do
    local cat = def.cats[k]
    if cat.usage_name == nil then
      -- declarations may be shared with a parent: store the names on a copy
      local copy_ = {}
      for ck, cv in pairs(cat) do copy_[ck] = cv end
      copy_.usage_name, copy_.embodied_name = k .. ".usage", k .. ".embodied"
      def.cats[k] = copy_
    end
  end
  def.included = {}
  for _, k in ipairs(def.categories) do def.included[k] = true end
  defs[key] = def
  return def
end

function R.define(id, version)
  local def = define(id, version)
  return def
end

-- Static checks of a definition: every problem, each with file:line where known.
function R.check(def)
  local problems = {}
  local function add(at, msg) problems[#problems + 1] = (at and (at .. ": ") or "") .. msg end
  local m = def.meta
  if m.id ~= def.id then add(def.declared_at, "model id '" .. tostring(m.id) .. "' does not match its folder '" .. def.id .. "'") end
  if type(m.version) ~= "string" then add(def.declared_at, "model version must be a string") end
  for _, f in ipairs({ "title", "source" }) do
    if type(m[f]) ~= "string" or m[f] == "" then add(def.declared_at, "model { " .. f .. " = ... } is missing") end
  end
  if m.replay ~= nil and type(m.replay) ~= "boolean" then add(def.declared_at, "model { replay = ... } must be true or false") end
  if type(m.packs) ~= "table" or #m.packs == 0 then add(def.declared_at, "model { packs = {...} } must list at least one pack") end
  local seen = {}
  for _, k in ipairs(def.categories) do
    if not def.cats[k] then add(def.declared_at, "category '" .. tostring(k) .. "' is listed but never declared") end
    if seen[k] then add(def.declared_at, "category '" .. tostring(k) .. "' is listed twice") end
    seen[k] = true
  end
  for _, k in ipairs(def.cat_order) do
    local c = def.cats[k]
    if type(c.compute) ~= "function" then add(c.at, "category '" .. k .. "' has no compute function") end
    if c.unit ~= nil and c.unit ~= "g" then add(c.at, "category '" .. k .. "' must be in grams (unit = \"g\")") end
    if not smatch(k, "^[%a_][%w_]*[%.%w_]*$") then add(c.at, "category key '" .. k .. "' is not a dotted name") end
  end
  for _, n in ipairs(def.input_order) do
    local d = def.inputs[n]
    if not TYPES[d.type] then add(d.at, "input '" .. n .. "': unknown type '" .. tostring(d.type) .. "'") end
    if d.type == "enum" and type(d.values) ~= "table" then add(d.at, "input '" .. n .. "': enum needs values = {...}") end
    if d.unit ~= nil and type(d.unit) ~= "string" then add(d.at, "input '" .. n .. "': unit must be a string") end
    for _, b in ipairs({ "min", "max", "gt", "lt" }) do
      if d[b] ~= nil and type(d[b]) ~= "number" then add(d.at, "input '" .. n .. "': " .. b .. " must be a number") end
    end
    if d.check ~= nil and type(d.check) ~= "function" then add(d.at, "input '" .. n .. "': check must be a function") end
  end
  for _, n in ipairs(def.coeff_order) do
    local d = def.coeffs[n]
    if type(d.unit) ~= "string" then add(d.at, "coefficient '" .. n .. "': unit = \"...\" is required") end
  end
  if def.prepare ~= nil and type(def.prepare) ~= "function" then add(def.declared_at, "prepare must be a function") end
  if def.validate ~= nil and type(def.validate) ~= "function" then add(def.declared_at, "validate must be a function") end
  return problems
end

-- A plain description for the host (plume models / check / docs).
function R.describe(def)
  local m = def.meta
  local out = {
    id = def.id, version = def.version, title = m.title, framework = m.framework, source = m.source,
    extends = m.extends, packs = m.packs or {}, categories = def.categories, chain = def.chain,
    replay = m.replay == true,
    files = def.files, declared = {}, inputs = {}, coefficients = {},
  }
  for _, n in ipairs(def.coeff_order) do
    local d = def.coeffs[n]
    out.coefficients[#out.coefficients + 1] = { name = n, unit = d.unit, doc = d.doc, at = d.at }
  end
  for _, k in ipairs(def.cat_order) do
    local c = def.cats[k]
    out.declared[#out.declared + 1] = { key = k, split = c.split == true, unit = c.unit or "g", doc = c.doc, at = c.at }
  end
  for _, n in ipairs(def.input_order) do
    local d = def.inputs[n]
    out.inputs[#out.inputs + 1] = { name = n, type = d.type, unit = d.unit, doc = d.doc, required = d.required == true,
      default = d.default, min = d.min, max = d.max, values = d.values, at = d.at }
  end
  return out
end

---------------------------------------------------------------------------------------------------
-- Binding and evaluation

-- Binds a definition to resolved coefficient values (a plain table from the host).
function R.bind(def, values, pack_id)
  local inst = {
    def = def, pack = pack_id,
    c = recording and make_view(values, nil, pack_id, true) or make_fast_view(values, nil, pack_id, true),
    included = def.included,
    model = { id = def.id, version = def.version, pack = pack_id },
  }
  return inst
end

local function number_result(key, v, part)
  if vtype(v) ~= "number" then
    local cat = running.def.cats[key]
    error((cat.at and (cat.at .. ": ") or "") .. "category '" .. key .. "' returned " .. type(v) ..
      (part and (" as its " .. part .. " part") or "") .. ", expected a number of grams", 0)
  end
  return v
end

local function run_row(inst, row)
  local def = inst.def
  local c = inst.c
  P.model = inst.model
  -- Declarations that only document a field (type any, no default, no check) cost nothing per row,
  -- except when explaining, where every declared input is listed.
  for _, decl in ipairs(input_log and def.input_list or def.active_inputs) do check_input(decl, row, input_log) end
  if def.validate then def.validate(row, c, P) end
  local ctx = def.prepare and def.prepare(row, c, P) or {}
  if type(ctx) ~= "table" then error("prepare must return a table (ctx)", 0) end
  if ctx.row == nil then ctx.row = row end
  local values = {}
  for _, key in ipairs(def.cat_order) do
    local cat = def.cats[key]
    if cat.split then
      local u, e = cat.compute(ctx, c, P)
      u, e = number_result(key, u, "usage"), number_result(key, e, "embodied")
      if tracing and inst.included[key] then
        P.trace(cat.usage_name, u)
        P.trace(cat.embodied_name, e)
      end
      values[key] = u + e
    else
      values[key] = number_result(key, cat.compute(ctx, c, P))
    end
  end
  local out, total = {}, 0.0
  for i, key in ipairs(def.categories) do
    local v = values[key]
    out[i] = v
    total = total + v
  end
  return total, out
end

local function on_error(e)
  if is_reject(e) then return e end
  local message = type(e) == "string" and e or ("(error object is a " .. type(e) .. " value)")
  return { message = message, traceback = H.traceback(message, 2) }
end

-- Evaluates one row: "ok", total, v1..vn (included categories in order) | "reject", message, path
-- | "error", message, traceback.
-- The value a run groups a row by: what the model traced under that name (the resolved channel,
-- say), else the row's field after the model's normalisation, as text.
local function group_value(row, path)
  local v = watched[path]
  if v == nil then
    v = row
    for part in path:gmatch("[^.]+") do
      if type(v) ~= "table" then v = nil break end
      v = v[part]
    end
  end
  if is_tracked(v) then
    if rec then RC.spoil() end
    return ""
  end
  if v == nil or type(v) == "table" then return "" end
  if type(v) == "number" and v == math.floor(v) and v > -1e15 and v < 1e15 then return sformat("%d", v) end
  return tostring(v)
end

function R.eval(inst, row)
  running = inst
  if tracing then trace_values, trace_order, input_log = {}, {}, {} end
  if watch ~= nil then watched = {} end
  local ok, total, out = xpcall(run_row, on_error, inst, row)
  running = nil
  if ok then
    if watch ~= nil then
      local n = #out
      for i, path in ipairs(watch) do out[n + i] = group_value(row, path) end
    end
    return "ok", total, unpack(out)
  end
  if is_reject(total) then return "reject", total.message, total.path end
  return "error", total.message, total.traceback
end

-- Evaluates `row` with the numbers at `paths[i]` for i in `columns` tracked (see "Replay"). Returns
-- "tape", outputs (the operand codes of total, v1..vn) and the group texts, the tape itself staying
-- with the recorder for the host to read; "broken" when the script did something a tape cannot hold;
-- "untracked" when the row did not evaluate ok (the host then runs R.eval for its outcome).
function R.record(inst, row, paths, columns)
  RC.start(#columns)
  rec = true
  swap_builtins(inst.def, true)
  for i, c in ipairs(columns) do
    local path, t = paths[c], row
    for j = 1, #path - 1 do t = t[path[j]] end
    t[path[#path]] = RC.track(t[path[#path]], i)
  end
  local results = table.pack(R.eval(inst, row))
  swap_builtins(inst.def, false)
  rec = false
  local broken = RC.stop()
  -- a script error may be a tracked number refused by a library function: such keys run the script
  if broken or results[1] == "error" then return "broken" end
  if results[1] ~= "ok" then return "untracked" end
  local outs, groups = {}, {}
  local nvalues = #inst.def.categories + 1
  for i = 2, results.n do
    if i <= nvalues + 1 then
      local ok, code = pcall(RC.operand, results[i])
      if not ok then return "broken" end
      outs[#outs + 1] = code
    else
      groups[#groups + 1] = results[i]
    end
  end
  return "tape", outs, table.unpack(groups)
end

function R.set_tracing(on) tracing = on; if not on then trace_values, trace_order, input_log = nil, nil, nil end end
function R.set_recording(on) recording = on end

-- Group-by fields of a run: R.eval then returns, after the category values, one text per field.
function R.set_watch(fields)
  if fields == nil or #fields == 0 then watch = nil return end
  watch = {}
  for i, f in ipairs(fields) do watch[i] = f; watch[f] = true end
end

-- Traced values of the last row as an ordered list of {name, value}.
function R.traces()
  local out = {}
  if not trace_order then return out end
  for i, name in ipairs(trace_order) do out[i] = { name, trace_values[name] } end
  return out
end

function R.inputs()
  return input_log or {}
end

-- Coefficient paths read since the last call, sorted; clears the record.
function R.take_accessed()
  local out = {}
  for k in pairs(accessed) do out[#out + 1] = k end
  tsort(out)
  accessed = {}
  return out
end

R.null = NULL
return R
