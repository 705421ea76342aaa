// cls_lock through librados' lock calls. They are synchronous in the C API, so each runs
// in an IoWorker on the libuv pool.
#include <sys/time.h>

#include <cstring>

#include "ioctx.h"

namespace ceph_napi {

namespace {

std::string OptStr(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string();
}

uint64_t OptU64(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && !info[i].IsUndefined() ? ParseU64(info.Env(), info[i], "duration") : 0;
}

// Duration in ms; 0 = no expiry (a null timeval for librados).
struct Duration {
  bool set = false;
  struct timeval tv {};
  explicit Duration(uint64_t ms) {
    if (ms > 0) {
      set = true;
      tv.tv_sec = static_cast<time_t>(ms / 1000);
      tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    }
  }
  struct timeval* ptr() { return set ? &tv : nullptr; }
};

}  // namespace

// lockExclusive(oid, name, cookie, description?, durationMs?, flags?)
Napi::Value IoCtx::LockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid"), name = StrArg(info, 1, "name"), cookie = StrArg(info, 2, "cookie");
  std::string desc = OptStr(info, 3);
  Duration d(OptU64(info, 4));
  uint8_t flags = info.Length() > 5 && info[5].IsNumber() ? static_cast<uint8_t>(info[5].As<Napi::Number>().Uint32Value()) : 0;
  auto s = st;
  return IoWorker(env, st, "rados_lock_exclusive " + oid, [s, oid, name, cookie, desc, d, flags]() mutable {
    return rados_lock_exclusive(s->io, oid.c_str(), name.c_str(), cookie.c_str(), desc.c_str(), d.ptr(), flags);
  }, nullptr);
}

// lockShared(oid, name, cookie, tag, description?, durationMs?, flags?)
Napi::Value IoCtx::LockShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid"), name = StrArg(info, 1, "name"), cookie = StrArg(info, 2, "cookie");
  std::string tag = StrArg(info, 3, "tag"), desc = OptStr(info, 4);
  Duration d(OptU64(info, 5));
  uint8_t flags = info.Length() > 6 && info[6].IsNumber() ? static_cast<uint8_t>(info[6].As<Napi::Number>().Uint32Value()) : 0;
  auto s = st;
  return IoWorker(env, st, "rados_lock_shared " + oid, [s, oid, name, cookie, tag, desc, d, flags]() mutable {
    return rados_lock_shared(s->io, oid.c_str(), name.c_str(), cookie.c_str(), tag.c_str(), desc.c_str(), d.ptr(), flags);
  }, nullptr);
}

Napi::Value IoCtx::Unlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid"), name = StrArg(info, 1, "name"), cookie = StrArg(info, 2, "cookie");
  auto s = st;
  return IoWorker(env, st, "rados_unlock " + oid, [s, oid, name, cookie] {
    return rados_unlock(s->io, oid.c_str(), name.c_str(), cookie.c_str());
  }, nullptr);
}

// breakLock(oid, name, client ('client.4123'), cookie)
Napi::Value IoCtx::BreakLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid"), name = StrArg(info, 1, "name"), client = StrArg(info, 2, "client"),
              cookie = StrArg(info, 3, "cookie");
  auto s = st;
  return IoWorker(env, st, "rados_break_lock " + oid, [s, oid, name, client, cookie] {
    return rados_break_lock(s->io, oid.c_str(), name.c_str(), client.c_str(), cookie.c_str());
  }, nullptr);
}

// listLockers(oid, name) → { exclusive, tag, lockers: [{ client, cookie, addr }] }
Napi::Value IoCtx::ListLockers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid"), name = StrArg(info, 1, "name");
  struct Out {
    int exclusive = 0;
    std::string tag;
    std::vector<std::string> clients, cookies, addrs;
  };
  auto out = std::make_shared<Out>();
  auto s = st;
  return IoWorker(env, st, "rados_list_lockers " + oid,
                  [s, oid, name, out] {
                    size_t cap = 4096;
                    for (;;) {
                      std::vector<char> tag(cap), clients(cap), cookies(cap), addrs(cap);
                      size_t tl = cap, cl = cap, kl = cap, al = cap;
                      ssize_t n = rados_list_lockers(s->io, oid.c_str(), name.c_str(), &out->exclusive, tag.data(), &tl,
                                                     clients.data(), &cl, cookies.data(), &kl, addrs.data(), &al);
                      if (n == -ERANGE) {
                        cap *= 4;
                        continue;
                      }
                      if (n < 0) return static_cast<int>(n);
                      out->tag = std::string(tag.data(), strnlen(tag.data(), tl));
                      // Each list is NUL-separated, one entry per locker.
                      auto split = [n](const std::vector<char>& b, std::vector<std::string>& v) {
                        const char* p = b.data();
                        for (ssize_t i = 0; i < n; i++, p += strlen(p) + 1) v.emplace_back(p);
                      };
                      split(clients, out->clients);
                      split(cookies, out->cookies);
                      split(addrs, out->addrs);
                      return 0;
                    }
                  },
                  [out](Napi::Env env) {
                    auto o = Napi::Object::New(env);
                    o.Set("exclusive", Napi::Boolean::New(env, out->exclusive != 0));
                    o.Set("tag", out->tag);
                    auto arr = Napi::Array::New(env, out->clients.size());
                    for (size_t i = 0; i < out->clients.size(); i++) {
                      auto l = Napi::Object::New(env);
                      l.Set("client", out->clients[i]);
                      l.Set("cookie", out->cookies[i]);
                      l.Set("addr", out->addrs[i]);
                      arr.Set(static_cast<uint32_t>(i), l);
                    }
                    o.Set("lockers", arr);
                    return o;
                  });
}

}  // namespace ceph_napi
