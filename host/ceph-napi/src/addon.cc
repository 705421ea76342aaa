// Module entry point and the shared helpers of common.h.
#include "common.h"

#include <cstring>
#include <string.h>

namespace ceph_napi {

Napi::Error RadosError(Napi::Env env, const std::string& what, int rc) {
  int e = rc < 0 ? -rc : rc;
  const char* name = strerrorname_np(e);
  Napi::Error err = Napi::Error::New(env, what + ": " + strerror(e) + " (" + std::to_string(-e) + ")");
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("code", Napi::String::New(env, name ? name : ("E" + std::to_string(e))));
  err.Set("syscall", Napi::String::New(env, what));
  return err;
}

void CallJs(Napi::Env env, Napi::Function, Conn* conn, Pending* p) {
  std::unique_ptr<Pending> owned(p);
  if (env == nullptr) {
    // The channel is being torn down: drop the work (its promise can no longer settle).
    return;
  }
  bool counted = p->counted;
  try {
    p->Complete(env);
  } catch (const Napi::Error& e) {
    // A throwing JS callback must not take the process down from a completion.
    e.ThrowAsJavaScriptException();
  }
  if (counted) conn->End();
}

void Conn::Begin() {
  if (inflight++ == 0 && channelLive && !refd) {
    channel.Ref(Napi::Env(env));
    refd = true;
  }
}

void Conn::End() {
  if (--inflight == 0) {
    if (channelLive && refd) {
      channel.Unref(Napi::Env(env));
      refd = false;
    }
    auto waiters = std::move(onIdle);
    onIdle.clear();
    for (auto& w : waiters) w();
  }
}

bool Conn::Post(Pending* p) {
  if (envGone.load()) return false;
  return channel.NonBlockingCall(p) == napi_ok;
}

Napi::Promise FnWorker::Run(Napi::Env env, std::string what, Work work, Ok ok, Fin fin) {
  auto* w = new FnWorker(env, std::move(what), std::move(work), std::move(ok), std::move(fin));
  Napi::Promise promise = w->deferred_.Promise();
  w->Queue();
  return promise;
}

FnWorker::FnWorker(Napi::Env env, std::string what, Work work, Ok ok, Fin fin)
    : Napi::AsyncWorker(env, "ceph-napi"),
      deferred_(Napi::Promise::Deferred::New(env)),
      what_(std::move(what)),
      work_(std::move(work)),
      ok_(std::move(ok)),
      fin_(std::move(fin)) {}

void FnWorker::Execute() {
  rc_ = work_();
  if (rc_ < 0) SetError("rados");
}

void FnWorker::OnOK() {
  Napi::HandleScope scope(Env());
  if (fin_) fin_();
  try {
    deferred_.Resolve(ok_ ? ok_(Env()) : Env().Undefined());
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void FnWorker::OnError(const Napi::Error&) {
  Napi::HandleScope scope(Env());
  if (fin_) fin_();
  deferred_.Reject(RadosError(Env(), what_, rc_).Value());
}

Napi::Promise IoWorker(Napi::Env env, std::shared_ptr<IoState> st, std::string what, FnWorker::Work work, FnWorker::Ok ok) {
  st->Begin();
  return FnWorker::Run(env, std::move(what), std::move(work), std::move(ok), [st] {
    st->End();
    st->conn->End();
  });
}

std::string StrArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

uint64_t ParseU64(Napi::Env env, Napi::Value v, const char* name) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
      throw Napi::TypeError::New(env, std::string(name) + " must be a non-negative integer");
    }
    return static_cast<uint64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t r = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::TypeError::New(env, std::string(name) + " out of range");
    return r;
  }
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    char* end = nullptr;
    errno = 0;
    unsigned long long r = strtoull(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || s[0] == '-') {
      throw Napi::TypeError::New(env, std::string(name) + " must be a decimal integer string");
    }
    return r;
  }
  throw Napi::TypeError::New(env, std::string(name) + " must be a number, bigint or decimal string");
}

uint64_t U64Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length()) throw Napi::TypeError::New(info.Env(), std::string(name) + " is required");
  return ParseU64(info.Env(), info[i], name);
}

std::string BytesOf(Napi::Value v, const char* name) {
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  }
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    if (t.TypedArrayType() == napi_uint8_array) {
      auto u = v.As<Napi::Uint8Array>();
      return std::string(reinterpret_cast<const char*>(u.Data()), u.ByteLength());
    }
  }
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a Buffer, Uint8Array or string");
}

Napi::Buffer<char> OwnedBuffer(Napi::Env env, char* data, size_t len) {
  if (len == 0 || data == nullptr) {
    free(data);
    return Napi::Buffer<char>::New(env, 0);
  }
  return Napi::Buffer<char>::New(env, data, len, [](Napi::Env, char* d) { free(d); });
}

std::string U64Str(uint64_t v) { return std::to_string(v); }

}  // namespace ceph_napi

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace ceph_napi;
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  exports.Set("Rados", InitRados(env, data));
  exports.Set("IoCtx", InitIoCtx(env, data));
  exports.Set("ObjectList", InitObjectList(env, data));
  int major = 0, minor = 0, extra = 0;
  rados_version(&major, &minor, &extra);
  exports.Set("libradosVersion", Napi::String::New(env, std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(extra)));
  return exports;
}

}  // namespace

NODE_API_MODULE(ceph_napi, Init)
