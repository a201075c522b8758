#include "actors/script/lua_state.hpp"

#include <cstdlib>
#include <string>
#include <cstring>

namespace centralita::actors::lua {

state::state(bool sandbox, std::size_t memory_limit, std::atomic<int64_t>* gauge)
  : limit_(memory_limit), gauge_(gauge) {
  L_ = lua_newstate(&state::allocate, this);
  if (L_ == nullptr)
    return;
  *static_cast<state**>(lua_getextraspace(L_)) = this;  // threads copy it
  open_libraries(sandbox);
  // Threads created later inherit the hook (lua_newthread copies it).
  lua_sethook(L_, &state::count_hook, LUA_MASKCOUNT, hook_step);
}

state::~state() {
  if (L_ != nullptr)
    lua_close(L_);
}

state& state::of(lua_State* L) noexcept {
  return **static_cast<state**>(lua_getextraspace(L));
}

void* state::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
  auto* self = static_cast<state*>(ud);
  std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    self->used_ -= old;
    if (self->gauge_ != nullptr)
      self->gauge_->fetch_sub(static_cast<int64_t>(old), std::memory_order_relaxed);
    return nullptr;
  }
  if (nsize > old && self->used_ + (nsize - old) > self->limit_)
    return nullptr;  // Lua raises "not enough memory" in the script
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr)
    return nullptr;
  self->used_ = self->used_ - old + nsize;
  if (self->gauge_ != nullptr)
    self->gauge_->fetch_add(static_cast<int64_t>(nsize) - static_cast<int64_t>(old),
                            std::memory_order_relaxed);
  return p;
}

void state::count_hook(lua_State* L, lua_Debug*) {
  auto& self = of(L);
  self.budget_ -= self.exhausted_ ? 1 : hook_step;
  if (self.budget_ < 0) {
    if (!self.exhausted_) {
      // From now on every instruction of this thread fails: a pcall that
      // catches the error cannot keep the loop going (the instruction after
      // it raises again, up to the coroutine's top).
      self.exhausted_ = true;
      lua_sethook(L, &state::count_hook, LUA_MASKCOUNT, 1);
    }
    lua_Debug ar;
    std::string where;
    if (lua_getstack(L, 0, &ar) != 0 && lua_getinfo(L, "Sl", &ar) != 0 && ar.currentline > 0)
      where = std::string(ar.short_src) + ":" + std::to_string(ar.currentline) + ": ";
    lua_pushfstring(L, "%sinstruction limit exceeded (a runaway loop?)", where.c_str());
    lua_error(L);
  }
}

namespace {

// load() of text only: bytecode can crash the VM.
int lua_load_text(lua_State* L) {
  std::size_t len = 0;
  const char* chunk = luaL_checklstring(L, 1, &len);
  const char* name = luaL_optstring(L, 2, "=(load)");
  int status = luaL_loadbufferx(L, chunk, len, name, "t");
  if (status != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (!lua_isnone(L, 4)) {  // env
    lua_pushvalue(L, 4);
    if (lua_setupvalue(L, -2, 1) == nullptr)
      lua_pop(L, 1);
  }
  return 1;
}

void remove_field(lua_State* L, const char* table, const char* field) {
  if (lua_getglobal(L, table) == LUA_TTABLE) {
    lua_pushnil(L);
    lua_setfield(L, -2, field);
  }
  lua_pop(L, 1);
}

} // namespace

void state::open_libraries(bool sandbox) {
  if (!sandbox) {
    luaL_openlibs(L_);
    return;
  }
  static const luaL_Reg libs[] = {
    {LUA_GNAME, luaopen_base},     {LUA_TABLIBNAME, luaopen_table},
    {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_OSLIBNAME, luaopen_os},
  };
  for (auto& lib : libs) {
    luaL_requiref(L_, lib.name, lib.func, 1);
    lua_pop(L_, 1);
  }
  // Base: nothing that reads files or loads bytecode.
  for (const char* f : {"dofile", "loadfile"}) {
    lua_pushnil(L_);
    lua_setglobal(L_, f);
  }
  lua_pushcfunction(L_, lua_load_text);
  lua_setglobal(L_, "load");
  // print: the script VM makes it write to the log (install_api).
  remove_field(L_, LUA_STRLIBNAME, "dump");
  // os: only the clock and dates.
  for (const char* f : {"execute", "exit", "getenv", "remove", "rename", "setlocale",
                        "tmpname"})
    remove_field(L_, LUA_OSLIBNAME, f);
}

bool state::load(std::string_view name, std::string_view text, std::string& error) {
  std::string chunk = "@" + std::string(name);
  if (luaL_loadbufferx(L_, text.data(), text.size(), chunk.c_str(), "t") != LUA_OK) {
    error = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return false;
  }
  refill(100000000);  // the top level may build tables; still bounded
  if (lua_pcall(L_, 0, 0, 0) != LUA_OK) {
    error = lua_tostring(L_, -1) != nullptr ? lua_tostring(L_, -1) : "error object is not a string";
    lua_pop(L_, 1);
    return false;
  }
  return true;
}

bool state::has_function(const char* name) const {
  bool yes = lua_getglobal(L_, name) == LUA_TFUNCTION;
  lua_pop(L_, 1);
  return yes;
}

std::string traceback(lua_State* co, std::string_view message) {
  std::string msg(message);
  lua_State* L = state::of(co).L();
  luaL_traceback(L, co, msg.c_str(), 0);
  std::string out = lua_tostring(L, -1);
  lua_pop(L, 1);
  return out;
}

} // namespace centralita::actors::lua
