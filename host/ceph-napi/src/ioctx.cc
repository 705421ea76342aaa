// IoCtx: object data calls over rados_aio_* completions, object listing (an ObjectList
// handle over rados_nobjects_list_*, paged on the libuv pool), and close.
#include "ioctx.h"

#include <cstdlib>
#include <cstring>

namespace ceph_napi {

// --- completions -------------------------------------------------------------------

static void OnAioComplete(rados_completion_t, void* arg) {
  // A librados finisher thread: hand the op to the JS thread.
  auto* p = static_cast<AioPending*>(arg);
  p->st->conn->Post(p);
}

rados_completion_t AioPending::MakeCompletion() {
  int rc = rados_aio_create_completion2(this, OnAioComplete, &comp);
  return rc < 0 ? nullptr : comp;
}

void AioPending::Complete(Napi::Env env) {
  Napi::HandleScope scope(env);
  int rc = rados_aio_get_return_value(comp);
  st->End();
  if (rc < 0) {
    Failed(env, rc);
    return;
  }
  try {
    deferred.Resolve(Result(env, rc));
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  }
}

void AioPending::Failed(Napi::Env env, int rc) { deferred.Reject(RadosError(env, what, rc).Value()); }

Napi::Value SubmitAio(Napi::Env env, AioPending* p, const std::function<int(rados_completion_t)>& submit) {
  Napi::Promise promise = p->deferred.Promise();
  rados_completion_t c = p->MakeCompletion();
  int rc = c == nullptr ? -ENOMEM : submit(c);
  if (rc < 0) {
    p->deferred.Reject(RadosError(env, p->what, rc).Value());
    delete p;
    return promise;
  }
  p->Submitted();
  return promise;
}

// --- IoCtx -----------------------------------------------------------------------

Napi::Function IoCtx::Define(Napi::Env env) {
  return DefineClass(env, "IoCtx", {
    InstanceMethod<&IoCtx::PoolId>("poolId"),
    InstanceMethod<&IoCtx::Write>("write"),
    InstanceMethod<&IoCtx::WriteFull>("writeFull"),
    InstanceMethod<&IoCtx::Append>("append"),
    InstanceMethod<&IoCtx::Read>("read"),
    InstanceMethod<&IoCtx::Remove>("remove"),
    InstanceMethod<&IoCtx::Stat>("stat"),
    InstanceMethod<&IoCtx::OpenList>("openList"),
    InstanceMethod<&IoCtx::Close>("close"),
    InstanceMethod<&IoCtx::WriteOp>("writeOp"),
    InstanceMethod<&IoCtx::ReadOp>("readOp"),
    InstanceMethod<&IoCtx::Watch>("watch"),
    InstanceMethod<&IoCtx::Unwatch>("unwatch"),
    InstanceMethod<&IoCtx::WatchCheck>("watchCheck"),
    InstanceMethod<&IoCtx::Notify>("notify"),
    InstanceMethod<&IoCtx::NotifyAck>("notifyAck"),
    InstanceMethod<&IoCtx::LockExclusive>("lockExclusive"),
    InstanceMethod<&IoCtx::LockShared>("lockShared"),
    InstanceMethod<&IoCtx::Unlock>("unlock"),
    InstanceMethod<&IoCtx::BreakLock>("breakLock"),
    InstanceMethod<&IoCtx::ListLockers>("listLockers"),
  });
}

// Only Rados.openIoCtx constructs these (it passes the state as an External).
IoCtx::IoCtx(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IoCtx>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "IoCtx objects come from Rados.openIoCtx()");
  }
  st = *info[0].As<Napi::External<std::shared_ptr<IoState>>>().Data();
}

// Collected without close(): the IoState (shared with pending ops and lists) destroys the
// handle when its last user goes.
IoCtx::~IoCtx() = default;

void IoCtx::Check(Napi::Env env) {
  if (st->closing || st->io == nullptr || st->conn->shutDown) throw RadosError(env, "ioctx " + st->pool, -ESHUTDOWN);
}

Napi::Value IoCtx::PoolId(const Napi::CallbackInfo& info) {
  Check(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(rados_ioctx_get_id(st->io)));
}

// write(oid, data, offset): librados copies `data` at submit, so JS may reuse it at once.
Napi::Value IoCtx::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  std::string data = BytesOf(info[1], "data");
  uint64_t off = U64Arg(info, 2, "offset");
  auto* p = new SimpleAio(st, env, "rados_aio_write " + oid);
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) { return rados_aio_write(io, oid.c_str(), c, data.data(), data.size(), off); });
}

Napi::Value IoCtx::WriteFull(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  std::string data = BytesOf(info[1], "data");
  auto* p = new SimpleAio(st, env, "rados_aio_write_full " + oid);
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) { return rados_aio_write_full(io, oid.c_str(), c, data.data(), data.size()); });
}

Napi::Value IoCtx::Append(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  std::string data = BytesOf(info[1], "data");
  auto* p = new SimpleAio(st, env, "rados_aio_append " + oid);
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) { return rados_aio_append(io, oid.c_str(), c, data.data(), data.size()); });
}

namespace {
// Reads into a malloc'd buffer handed to JS without a copy (shrunk to what was read).
class ReadAio : public AioPending {
 public:
  ReadAio(std::shared_ptr<IoState> st, Napi::Env env, std::string what, size_t len)
      : AioPending(std::move(st), env, std::move(what)), buf(static_cast<char*>(malloc(len ? len : 1))) {}
  ~ReadAio() override { free(buf); }
  Napi::Value Result(Napi::Env env, int rc) override {
    char* data = buf;
    buf = nullptr;
    if (rc > 0) {
      char* shrunk = static_cast<char*>(realloc(data, rc));
      if (shrunk) data = shrunk;
    }
    return OwnedBuffer(env, data, rc);
  }
  char* buf;
};

class StatAio : public AioPending {
 public:
  using AioPending::AioPending;
  Napi::Value Result(Napi::Env env, int) override {
    auto o = Napi::Object::New(env);
    o.Set("size", Napi::Number::New(env, static_cast<double>(size)));
    o.Set("mtime", Napi::Number::New(env, static_cast<double>(mtime) * 1000));
    o.Set("version", Napi::Number::New(env, static_cast<double>(rados_aio_get_version(comp))));
    return o;
  }
  uint64_t size = 0;
  time_t mtime = 0;
};
}  // namespace

Napi::Value IoCtx::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  uint64_t off = U64Arg(info, 1, "offset");
  uint64_t len = U64Arg(info, 2, "length");
  if (len > (1ull << 31)) throw RadosError(env, "rados_aio_read " + oid, -EINVAL);
  if (len == 0) {
    // Length 0 means "the whole object" to the OSD, which would overrun our buffer.
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Napi::Buffer<char>::New(env, 0));
    return d.Promise();
  }
  auto* p = new ReadAio(st, env, "rados_aio_read " + oid, len);
  if (p->buf == nullptr) {
    delete p;
    throw RadosError(env, "rados_aio_read " + oid, -ENOMEM);
  }
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) { return rados_aio_read(io, oid.c_str(), c, p->buf, len, off); });
}

Napi::Value IoCtx::Remove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  auto* p = new SimpleAio(st, env, "rados_aio_remove " + oid);
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) { return rados_aio_remove(io, oid.c_str(), c); });
}

// stat(oid) → { size, mtime (ms, whole seconds: the C API's time_t), version }.
Napi::Value IoCtx::Stat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  auto* p = new StatAio(st, env, "rados_aio_stat " + oid);
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) { return rados_aio_stat(io, oid.c_str(), c, &p->size, &p->mtime); });
}

Napi::Value IoCtx::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (st->closing || st->io == nullptr) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  st->closing = true;
  auto s = st;
  auto done = [s, deferred, env] {
    if (!s->conn->shutDown) s->Destroy();
    deferred.Resolve(env.Undefined());
  };
  if (st->inflight == 0) done();
  else st->onIdle.push_back(done);
  return deferred.Promise();
}

// --- ObjectList ----------------------------------------------------------------------

namespace {

struct ListState {
  std::shared_ptr<IoState> st;
  rados_list_ctx_t ctx = nullptr;
  bool busy = false;
  bool done = false;
  void Close() {
    // A list context belongs to its ioctx: close it while the ioctx still exists.
    if (ctx != nullptr && st->io != nullptr) rados_nobjects_list_close(ctx);
    ctx = nullptr;
  }
  ~ListState() { Close(); }
};

class ObjectList : public Napi::ObjectWrap<ObjectList> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ObjectList", {
      InstanceMethod<&ObjectList::Next>("next"),
      InstanceMethod<&ObjectList::Close>("close"),
    });
  }

  explicit ObjectList(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ObjectList>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "ObjectList objects come from IoCtx.openList()");
    ls_ = *info[0].As<Napi::External<std::shared_ptr<ListState>>>().Data();
  }


 private:
  std::shared_ptr<ListState> ls_;

  // next(max) → { names: string[], done: boolean }: up to `max` names, on the libuv pool
  // (rados_nobjects_list_next2 blocks while it fetches a page from an OSD).
  Napi::Value Next(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t max = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 1000;
    if (ls_->busy) throw Napi::Error::New(env, "ObjectList.next: a call is already in progress");
    if (ls_->st->closing || ls_->st->io == nullptr || ls_->st->conn->shutDown) throw RadosError(env, "object list", -ESHUTDOWN);
    auto names = std::make_shared<std::vector<std::string>>();
    auto ls = ls_;
    if (ls->done || ls->ctx == nullptr) {
      auto d = Napi::Promise::Deferred::New(env);
      auto o = Napi::Object::New(env);
      o.Set("names", Napi::Array::New(env, 0));
      o.Set("done", Napi::Boolean::New(env, true));
      d.Resolve(o);
      return d.Promise();
    }
    ls->busy = true;
    return IoWorker(env, ls->st, "rados_nobjects_list_next2",
                    [ls, names, max] {
                      while (names->size() < max) {
                        const char *entry, *key, *nspace;
                        size_t elen, klen, nlen;
                        int rc = rados_nobjects_list_next2(ls->ctx, &entry, &key, &nspace, &elen, &klen, &nlen);
                        if (rc == -ENOENT) {
                          ls->done = true;
                          break;
                        }
                        if (rc < 0) {
                          ls->busy = false;
                          return rc;
                        }
                        names->emplace_back(entry, elen);
                      }
                      ls->busy = false;
                      return 0;
                    },
                    [ls, names](Napi::Env env) {
                      auto o = Napi::Object::New(env);
                      auto arr = Napi::Array::New(env, names->size());
                      for (size_t i = 0; i < names->size(); i++) arr.Set(i, Napi::String::New(env, (*names)[i]));
                      o.Set("names", arr);
                      o.Set("done", Napi::Boolean::New(env, ls->done));
                      if (ls->done) ls->Close();
                      return o;
                    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!ls_->busy) ls_->Close();
    ls_->done = true;
    return info.Env().Undefined();
  }
};

}  // namespace

// openList(): an ObjectList over the pool's default namespace.
Napi::Value IoCtx::OpenList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  auto ls = std::make_shared<ListState>();
  ls->st = st;
  int rc = rados_nobjects_list_open(st->io, &ls->ctx);
  if (rc < 0) throw RadosError(env, "rados_nobjects_list_open", rc);
  auto holder = Napi::External<std::shared_ptr<ListState>>::New(env, new std::shared_ptr<ListState>(ls),
                                                                 [](Napi::Env, std::shared_ptr<ListState>* p) { delete p; });
  return env.GetInstanceData<AddonData>()->listCtor.New({holder});
}

Napi::Function InitIoCtx(Napi::Env env, AddonData* data) {
  Napi::Function f = IoCtx::Define(env);
  data->ioctxCtor = Napi::Persistent(f);
  return f;
}

Napi::Function InitObjectList(Napi::Env env, AddonData* data) {
  Napi::Function f = ObjectList::Define(env);
  data->listCtor = Napi::Persistent(f);
  return f;
}

}  // namespace ceph_napi
