// Package script runs Lua scenarios in sandboxed gopher-lua VMs and offers
// them to the orchestrator as request sources and load calculators.
//
// # Scenarios
//
// Load reads and compiles a scenario file once; every VM made from the
// Scenario shares the compiled code. A scenario defines any of these
// global functions:
//
//   - request() returns a request table {method=, path=, query=,
//     headers=, body=} (a request source, see RequestSource).
//   - rps(round) returns the next round's rate, or nil to end the test (a
//     load calculator, see LoadCalculator).
//   - setup(options) runs once per VM after the top level. options holds
//     the -scenario-options pairs as strings (options.users == "10") and
//     the built-in flags' values under options.flags, with '-' in flag
//     names turned into '_' (options.flags.min_rps). Durations are
//     seconds. "flags" is therefore not allowed as a scenario option.
//   - reset() runs when the request source is reset.
//   - observe(result) runs for every finished round (calculators only).
//
// Validate reports which roles a scenario defines and fails when it
// defines neither request nor rps.
//
// # Sessions and reloading
//
// A Session is one run's use of a scenario file: it reads and compiles the
// file once and derives the roles, the file's SHA-256 and every VM of the
// run from that read. The ReloadableSource and ReloadableCalculator it
// builds are what the orchestrator runs. Session.Watch re-reads the file
// and, when its content changed and every role still builds from the new
// version, queues the new versions to take over at the next BeginRound;
// Session.Close releases them all.
//
// # Sandbox
//
// A VM opens only: the base library without dofile, loadfile, load,
// loadstring, module, getfenv and setfenv (print goes to the logger,
// collectgarbage only answers "count", require is replaced); table;
// string (rep, format and gsub bounded by VMConfig.MaxStringBytes and a format
// width or precision of at most two digits; find, match, gmatch and gsub
// guarded so that a pathological pattern cannot stall the host); math
// (random and randomseed use the VM's generator, seeded from
// VMConfig.Seed and shared with imager.random); os with time, clock, date
// and difftime only; and coroutine. There is no io, debug, package or
// channel library.
//
// require(name) loads imager.* modules (package lualib) and otherwise maps
// "a.b" to the file a/b.lua of the scenario folder. The file must resolve
// inside that folder (os.Root; symlinks may not leave it) and be Lua
// source text: precompiled chunks are refused. Modules are compiled once
// per Scenario and run once per VM (each VM caches require's results, as
// package.loaded does).
//
// # Limits
//
// Every call into Lua (the top level, setup, request, rps, observe,
// reset) runs under VMConfig.CallTimeout (default 1s) and a memory guard
// (VMConfig.MemoryLimit, default 256 MiB of heap growth during the call).
// A timer per VM checks the running call every 10ms and cancels the VM's
// context when a limit is broken; gopher-lua checks that context before
// every instruction, so the call fails with an error such as
// "scenario.lua:7: request() exceeded the 1s call time limit" (errors.Is
// ErrTimeLimit or ErrMemoryLimit). The memory guard samples the process
// heap: it is a safety net against runaway allocation, not an exact
// per-VM account. On top of it each call has a memory budget
// (lualib.Budget): every built-in that can build a large string or table
// (`..`, which compile rewrites into a guarded call, string.rep, format,
// gsub, char, upper, lower, reverse, table.concat, table.sort and the
// imager.json, encoding, url, data and log modules) charges its result
// before allocating it, and a result larger than what the call has left
// fails the call with an ErrMemoryLimit error naming the built-in, even
// inside pcall. The guard's samples correct the budget with the measured
// heap growth. Built-ins that loop in Go check the call's context as they
// go; unpack and string.byte return at most 65536 values. The call stack
// is bounded (MaxCallDepth), so runaway recursion fails with "stack
// overflow".
//
// After a call breaks a limit, its VM discards its Lua state and rebuilds
// it, re-running the top level and setup, before the next call: the VM
// stays usable but the scenario's Lua variables start over. Ordinary Lua
// errors leave the state as it is.
//
// # Errors
//
// Errors name the scenario file and line: a syntax error the line of the
// mistake, a runtime error the failing statement, a bad return value the
// line where the function is defined, and they say what was expected, for
// example
//
//	scenario.lua:10: request() returned field "heders": unknown field (want method, path, query, headers, body)
//
// # Concurrency
//
// A VM is for one goroutine at a time and keeps its own Lua state. A
// RequestSource with several VMs runs them in parallel in NextBatch, so a
// scenario's Lua variables are per VM, as in wrk's per-thread Lua states.
package script
