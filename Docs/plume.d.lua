---@meta plume

-- Type annotations for Plume model scripts (Models/<id>/*.lua), for lua-language-server.
-- This file is never loaded by Plume; it only describes what a script sees at run time (the runtime is
-- Sources/PlumeCore/Resources/prelude.lua, the contract is Docs/DSL.md). Point the language server at it
-- with `"workspace.library": ["Docs/plume.d.lua"]` in .luarc.json (the repository root has one).
--
-- A script runs in a sandbox: the base library without dofile, loadfile, rawset, collectgarbage
-- (load accepts text only), copies of string, table, math and utf8, the globals declared below, and
-- `require` for "plume" and the .lua modules of the model's own folder.

---------------------------------------------------------------------------------------------------
-- Values

---A delivery row: the parsed JSON / YAML object or typed CSV record. Declared inputs are checked (and
---normalised in place) before any hook runs; undeclared fields are still present. A null value or an
---empty CSV cell is absent (`nil`).
---@alias plume.Row table<string, any>

---The shared state `prepare` returns and every category's `compute` receives. Plume sets `ctx.row` to the
---row when `prepare` did not; without `prepare`, `ctx` is `{ row = row }`.
---@class plume.Ctx
---@field row plume.Row
---@field [string] any

---The bound coefficients: a read-only view of the pack after overlays, `--set` values and (in vectors)
---per-case overrides. `c.key` of a key the pack lacks is a model error naming the closest keys; a missing
---entry of a nested table reads as `nil` (use `p.lookup` when a missing entry must reject the row).
---Assigning to it is an error. Every read is recorded for `plume explain` and coverage.
---@alias plume.Coefficients table<string, any>

---The marker of a JSON/YAML null entry inside a list (a null object member is simply absent).
---@class plume.Null

---@alias plume.InputType
---| "number"   # a Lua number, finite, within min/max/gt/lt
---| "integer"  # a finite number with no fractional part
---| "string"
---| "boolean"
---| "enum"     # a string in `values` (after `normalize`)
---| "object"   # a mapping
---| "list"     # a sequence
---| "any"      # no type check (the default)
---| "country"  # a string normalised to upper case (default) that is an ISO 3166-1 alpha-2 code or XK
---| "datetime" # an ISO 8601 UTC date or date-time string, see p.parse_datetime

---@alias plume.Normalize
---| "trim"  # ASCII trim
---| "lower" # ASCII trim, then ASCII lower case
---| "upper" # ASCII trim, then ASCII upper case

---------------------------------------------------------------------------------------------------
-- Declarations

---The table given to `model { ... }`.
---@class plume.ModelSpec
---@field id string Must equal the model's folder name.
---@field version string `model.lua` holds the default version; `model-<version>.lua` must declare `<version>`.
---@field title string Shown by `plume models` and `plume explain`.
---@field framework? string Name of the framework.
---@field source string Citation of the methodology.
---@field packs string[] Pack ids this version accepts; the first is the default.
---@field categories? string[] The included categories in output order (default: every declared category, in declaration order).
---@field extends? string Id of a model to start from; its declarations and hooks are inherited and `parent` is set.
---@field replay? boolean Numbers reach the results only through arithmetic and ordering comparisons, so `plume run` may replay recorded arithmetic (Docs/DSL.md, section 6).
---@field [string] any

---The table given to `input "<name>" { ... }`.
---@class plume.InputSpec
---@field type? plume.InputType Default "any".
---@field required? boolean Absent is an error `<name> is required`.
---@field default? any Used when the field is absent (explain shows DEFAULT).
---@field min? number Inclusive lower bound.
---@field max? number Inclusive upper bound.
---@field gt? number Exclusive lower bound.
---@field lt? number Exclusive upper bound.
---@field values? string[] Allowed values of an enum.
---@field normalize? plume.Normalize For string, enum, country and datetime inputs; the result replaces the row's value.
---@field unit? string Documentation.
---@field doc? string Documentation.
---@field check? fun(value: any, row: plume.Row, p: plume, path: string) Custom check after the built-in ones, also called when the value is absent (`value == nil`); reject with `p.reject`.

---The table given to `category "<key>" { ... }`.
---@class plume.CategorySpec
---@field compute? fun(ctx: plume.Ctx, c: plume.Coefficients, p: plume): number, number? Grams CO2e for the whole row; `usage, embodied` when `split`.
---@field [1]? fun(ctx: plume.Ctx, c: plume.Coefficients, p: plume): number, number? The compute function may also be the table's first element.
---@field split? boolean The category has usage and embodied parts, traced as `<key>.usage` and `<key>.embodied`.
---@field unit? "g" Categories are always in grams.
---@field doc? string Documentation.

---The table given to `coefficient "<key>" { ... }`.
---@class plume.CoefficientSpec
---@field unit string Required: the unit the model expects; a pack with another unit (or without the key) is a load-time error.
---@field doc? string Documentation.

---Declares the model. Call it exactly once per script.
---@param spec plume.ModelSpec
function model(spec) end

---Declares a row field. Inputs are checked in declaration order before `validate`; the first failing check
---rejects the row with a message containing the field name. Redeclaring a parent's input replaces it in place.
---Usage: `input "impressions" { type = "number", required = true, min = 0 }`
---@param name string
---@return fun(spec: plume.InputSpec)
function input(name) end

---Declares an output category. Every declared category is computed for every row, in declaration order;
---only those in `model{ categories = ... }` are reported and summed into `total`.
---Usage: `category "creativeDelivery.dataTransfer" { split = true, compute = function(ctx, c, p) ... end }`
---@param key string A dotted name.
---@return fun(spec: plume.CategorySpec)
function category(key) end

---Declares a pack key the model reads and its unit, so a missing key or a unit mismatch is caught when the
---model is bound, before any row.
---Usage: `coefficient "default_device_watts" { unit = "W" }`
---@param key string A top-level pack key.
---@return fun(spec: plume.CoefficientSpec)
function coefficient(key) end

---------------------------------------------------------------------------------------------------
-- Hooks (define them as globals; both are optional; a child's definitions replace the parent's)

---Cross-field rules, run after the input checks and before `prepare`. Reject with `p.reject`.
---@param row plume.Row
---@param c plume.Coefficients
---@param p plume
function validate(row, c, p) end

---Resolution steps shared by several categories. Returns the `ctx` every `compute` receives.
---@param row plume.Row
---@param c plume.Coefficients
---@param p plume
---@return plume.Ctx ctx
function prepare(row, c, p) end

---What a script that uses `extends` sees of its parent: wrap rather than copy.
---@class plume.Parent
---@field validate? fun(row: plume.Row, c: plume.Coefficients, p: plume)
---@field prepare? fun(row: plume.Row, c: plume.Coefficients, p: plume): plume.Ctx
---@field categories table<string, plume.CategorySpec> The parent's category declarations by key (`.compute` is the function).
---@field inputs table<string, plume.InputSpec> The parent's input declarations by name.
---@field model plume.ModelSpec The parent's `model{}` fields.

---Set only in a script whose `model{}` has `extends`.
---@type plume.Parent
parent = nil

---------------------------------------------------------------------------------------------------
-- The host module: `p` in hooks and compute functions, also `require "plume"` and the global `plume`

---@class plume.Units
local units = {}

---Converts between units of the same dimension (decimal multiples): bytes `B kB MB GB TB bit kbit Mbit Gbit`,
---energy `Wh kWh MWh J`, mass `g kg t`, time `s min h`. An unknown unit or a conversion across dimensions is
---a model error.
---@param value number
---@param from string
---@param to string
---@return number
function units.convert(value, from, to) end

---Whether `convert` knows the unit.
---@param unit string
---@return boolean
function units.known(unit) end

---@class plume.Grid
local grid = {}

---Host grid intensity in gCO2e/kWh and a source string: the hourly store for (country, region, UTC hour)
---when one is configured (`--grid-db`), else the built-in annual value of the country (ISO alpha-2), else
---the world default 472.94. See Docs/GRID.md. Only the scope3 family uses it.
---@param country? string ISO 3166-1 alpha-2 code.
---@param region? string Sub-national zone of the hourly store; its series is tried before the country's.
---@param utc_datetime? string ISO 8601 UTC date or date-time.
---@return number gco2e_per_kwh
---@return string source
function grid.intensity(country, region, utc_datetime) end

---The built-in annual Ember value for an ISO alpha-2 (or alpha-3) code, or nil.
---@param country string
---@return number|nil
function grid.annual(country) end

---@class plume.ModelInfo
---@field id string
---@field version string
---@field pack string Id of the bound pack.

---@class plume
---@field null plume.Null The value of a null entry inside a list.
---@field units plume.Units
---@field grid plume.Grid
---@field model plume.ModelInfo The running model, set for each row.
local p = {}

---Records a named intermediate value (string, number or boolean) for `plume explain` and vector
---`expect_trace`, and returns the value unchanged. Names are flat dotted strings; tracing the same name again
---replaces the value. Costs nothing when nobody is tracing.
---@generic T
---@param name string
---@param value T
---@return T
function p.trace(name, value) end

---Rejects the row: it goes to the rejects file with `message` (nothing is prefixed, so put the field path in
---the message). Does not return.
---@param path string The field path (for the rejects file).
---@param message? string Defaults to `path`.
---@return nil
function p.reject(path, message) end

---`tbl[key]` of a coefficient table, or rejects the row with
---`coefficient <path> has no entry '<key>' (pack <id>)` when the entry is missing.
---@param tbl table A table read from `c`.
---@param key any
---@return any
function p.lookup(tbl, key) end

---The keys of a row object in input order (keys with a null value included); for a table a script made,
---its keys sorted by their text. Not a table: an empty list.
---@param t any
---@return any[]
function p.keys(t) end

---True for a Lua number (finite or not), never for a string or boolean.
---@param v any
---@return boolean
function p.is_number(v) end

---True for a number that is neither NaN nor an infinity.
---@param v any
---@return boolean
function p.is_finite(v) end

---True for a list: the host marks the tables it pushed, so JSON `[]` and `{}` differ; for a table a script
---made, a sequence (an empty table counts as both list and object). `p.null` is neither.
---@param v any
---@return boolean
function p.is_list(v) end

---True for an object (mapping); see `is_list` for how tables are told apart.
---@param v any
---@return boolean
function p.is_object(v) end

---True for one of the 249 assigned ISO 3166-1 alpha-2 codes or XK (exact, upper case).
---@param code any
---@return boolean
function p.is_country(code) end

---The double of a string in the decimal grammar of Docs/VECTORS.md (after ASCII trimming), else nil.
---Hexadecimal, inf/nan and digit separators are refused. Non-strings give nil.
---@param s any
---@return number|nil
function p.parse_number(s) end

---@class plume.DateTime
---@field year integer
---@field month integer
---@field day integer
---@field hour integer
---@field minute integer
---@field second integer

---Parses an ISO 8601 UTC date or date-time: `YYYY-MM-DD`, optionally followed by `T` or one space and
---`hh:mm[:ss[.fraction]]` and `Z`, `+00:00`, `+0000`, `-00:00` or `-0000`. The date must exist in the
---calendar. Returns nil for anything else.
---@param s any
---@return plume.DateTime|nil
function p.parse_datetime(s) end

---Removes ASCII white space (space, tab, LF, VT, FF, CR) at both ends.
---@param s string
---@return string
function p.ascii_trim(s) end

---Lower-cases A-Z only.
---@param s string
---@return string
function p.ascii_lower(s) end

---Upper-cases a-z only.
---@param s string
---@return string
function p.ascii_upper(s) end

---Whether the running framework reports category `key` (it is in `model{ categories = ... }`).
---@param key string
---@return boolean
function p.includes(key) end

---The host module, also available as `require "plume"`.
plume = p

return p
