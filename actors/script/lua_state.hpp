#pragma once

// One loaded version of a routing script: a lua_State with the libraries a
// script may use (sandboxed unless configured otherwise), a memory limit, and
// an instruction budget per resumption. Plain C++ over the Lua C API, no CAF.

#include <lua.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace centralita::actors::lua {

/// Owns a lua_State. The VM pointer (what the API functions find through
/// lua_getextraspace) is set by the owner.
class state {
public:
  /// `memory_limit` bytes for everything this state allocates; `gauge` (may be
  /// null) follows the bytes in use.
  state(bool sandbox, std::size_t memory_limit, std::atomic<int64_t>* gauge);
  ~state();
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  lua_State* L() const noexcept { return L_; }
  std::size_t bytes() const noexcept { return used_; }

  /// Compiles `text` (text chunks only, never bytecode) and runs its top level.
  /// The error is Lua's message ("name:line: ...").
  bool load(std::string_view name, std::string_view text, std::string& error);

  /// Whether the global `name` is a function.
  bool has_function(const char* name) const;

  /// Instructions a coroutine may run before the next yield or end (counted
  /// by a hook every `hook_step` instructions). Call before each resume.
  void refill(uint32_t budget) noexcept { budget_ = static_cast<int64_t>(budget); }
  bool budget_exhausted() const noexcept { return exhausted_; }
  void clear_exhausted() noexcept { exhausted_ = false; }

  static constexpr int hook_step = 1000;

  /// The state object of any thread of this state.
  static state& of(lua_State* L) noexcept;

  void* owner = nullptr;  ///< the script VM using this state

private:
  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept;
  static void count_hook(lua_State* L, lua_Debug* ar);
  void open_libraries(bool sandbox);

  lua_State* L_ = nullptr;
  std::size_t used_ = 0;
  std::size_t limit_;
  std::atomic<int64_t>* gauge_;
  int64_t budget_ = 0;
  bool exhausted_ = false;
};

/// `message` followed by Lua's stack traceback of coroutine `co`.
std::string traceback(lua_State* co, std::string_view message);

} // namespace centralita::actors::lua
