// Compound operations: an array of step objects `{ op: '…', … }` becomes one
// rados_write_op_t / rados_read_op_t, submitted with rados_aio_*_op_operate. librados
// copies inputs when a step is added; outputs (buffers, iterators, per-step return
// values) live in the pending op until it completes.
#include <cstdlib>
#include <cstring>
#include <deque>

#include "ioctx.h"

namespace ceph_napi {

namespace {

Napi::Object StepAt(Napi::Env env, Napi::Array steps, uint32_t i) {
  Napi::Value v = steps.Get(i);
  if (!v.IsObject()) throw Napi::TypeError::New(env, "op step " + std::to_string(i) + " must be an object");
  return v.As<Napi::Object>();
}

std::string Str(Napi::Object o, const char* k) {
  Napi::Value v = o.Get(k);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("step field '") + k + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

uint64_t U64(Napi::Object o, const char* k) { return ParseU64(o.Env(), o.Get(k), k); }

uint8_t CmpOf(Napi::Object o) {
  uint64_t c = U64(o, "cmp");
  if (c < LIBRADOS_CMPXATTR_OP_EQ || c > LIBRADOS_CMPXATTR_OP_LTE) throw Napi::TypeError::New(o.Env(), "cmp must be 1..6 (LIBRADOS_CMPXATTR_OP_*)");
  return static_cast<uint8_t>(c);
}

std::vector<std::string> StrList(Napi::Object o, const char* k) {
  Napi::Value v = o.Get(k);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("step field '") + k + "' must be an array");
  auto a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(BytesOf(a.Get(i), k));
  return out;
}

Napi::Array EntriesOf(Napi::Env env, rados_omap_iter_t it) {
  auto arr = Napi::Array::New(env);
  uint32_t n = 0;
  for (;;) {
    char *key = nullptr, *val = nullptr;
    size_t klen = 0, vlen = 0;
    if (rados_omap_get_next2(it, &key, &val, &klen, &vlen) < 0 || key == nullptr) break;
    auto pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, key, klen));
    pair.Set(1u, Napi::Buffer<char>::Copy(env, val ? val : "", vlen));
    arr.Set(n++, pair);
  }
  return arr;
}

class WriteOpAio : public AioPending {
 public:
  WriteOpAio(std::shared_ptr<IoState> st, Napi::Env env, std::string what)
      : AioPending(std::move(st), env, std::move(what)), op(rados_create_write_op()) {}
  ~WriteOpAio() override { rados_release_write_op(op); }
  Napi::Value Result(Napi::Env env, int) override {
    auto o = Napi::Object::New(env);
    o.Set("version", Napi::Number::New(env, static_cast<double>(rados_aio_get_version(comp))));
    return o;
  }
  rados_write_op_t op;
  std::deque<int> prvals;
};

// One output slot per read step.
struct ReadSlot {
  std::string kind;
  int prval = 0;
  char* buf = nullptr;
  size_t bytes = 0;
  uint64_t size = 0;
  time_t mtime = 0;
  rados_omap_iter_t omap = nullptr;
  unsigned char more = 0;
  rados_xattrs_iter_t xattrs = nullptr;
  char* out = nullptr;
  size_t outLen = 0;
};

class ReadOpAio : public AioPending {
 public:
  ReadOpAio(std::shared_ptr<IoState> st, Napi::Env env, std::string what)
      : AioPending(std::move(st), env, std::move(what)), op(rados_create_read_op()) {}
  ~ReadOpAio() override {
    rados_release_read_op(op);
    for (auto& s : slots) {
      free(s.buf);
      if (s.omap) rados_omap_get_end(s.omap);
      if (s.xattrs) rados_getxattrs_end(s.xattrs);
      if (s.out) rados_buffer_free(s.out);
    }
  }
  Napi::Value Result(Napi::Env env, int) override {
    auto results = Napi::Array::New(env, slots.size());
    for (size_t i = 0; i < slots.size(); i++) {
      auto& s = slots[i];
      auto r = Napi::Object::New(env);
      r.Set("op", s.kind);
      r.Set("prval", Napi::Number::New(env, s.prval));
      if (s.prval >= 0) {
        if (s.kind == "read") {
          char* data = s.buf;
          s.buf = nullptr;
          if (s.bytes > 0) {
            char* shrunk = static_cast<char*>(realloc(data, s.bytes));
            if (shrunk) data = shrunk;
          }
          r.Set("data", OwnedBuffer(env, data, s.bytes));
        } else if (s.kind == "stat") {
          r.Set("size", Napi::Number::New(env, static_cast<double>(s.size)));
          r.Set("mtime", Napi::Number::New(env, static_cast<double>(s.mtime) * 1000));
        } else if (s.kind == "omap_get_vals" || s.kind == "omap_get_vals_by_keys") {
          r.Set("entries", EntriesOf(env, s.omap));
          if (s.kind == "omap_get_vals") r.Set("more", Napi::Boolean::New(env, s.more != 0));
        } else if (s.kind == "getxattrs") {
          auto arr = Napi::Array::New(env);
          uint32_t n = 0;
          for (;;) {
            const char *name = nullptr, *val = nullptr;
            size_t len = 0;
            if (rados_getxattrs_next(s.xattrs, &name, &val, &len) < 0 || name == nullptr) break;
            auto pair = Napi::Array::New(env, 2);
            pair.Set(0u, Napi::String::New(env, name));
            pair.Set(1u, Napi::Buffer<char>::Copy(env, val ? val : "", len));
            arr.Set(n++, pair);
          }
          r.Set("xattrs", arr);
        } else if (s.kind == "exec") {
          r.Set("data", Napi::Buffer<char>::Copy(env, s.out ? s.out : "", s.outLen));
        }
      }
      results.Set(static_cast<uint32_t>(i), r);
    }
    auto o = Napi::Object::New(env);
    o.Set("version", Napi::Number::New(env, static_cast<double>(rados_aio_get_version(comp))));
    o.Set("results", results);
    return o;
  }
  rados_read_op_t op;
  std::deque<ReadSlot> slots;
};

}  // namespace

// writeOp(oid, steps[], flags?) → { version }: one atomic rados_write_op_t.
Napi::Value IoCtx::WriteOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "steps must be an array");
  auto steps = info[1].As<Napi::Array>();
  int flags = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  std::unique_ptr<WriteOpAio> p(new WriteOpAio(st, env, "rados_write_op_operate " + oid));
  rados_write_op_t op = p->op;
  for (uint32_t i = 0; i < steps.Length(); i++) {
    Napi::Object s = StepAt(env, steps, i);
    std::string kind = Str(s, "op");
    if (kind == "assert_exists") {
      rados_write_op_assert_exists(op);
    } else if (kind == "assert_version") {
      rados_write_op_assert_version(op, U64(s, "version"));
    } else if (kind == "cmpxattr") {
      std::string name = Str(s, "name"), val = BytesOf(s.Get("value"), "value");
      rados_write_op_cmpxattr(op, name.c_str(), CmpOf(s), val.data(), val.size());
    } else if (kind == "omap_cmp") {
      std::string key = Str(s, "key"), val = BytesOf(s.Get("value"), "value");
      p->prvals.push_back(0);
      rados_write_op_omap_cmp2(op, key.data(), CmpOf(s), val.data(), key.size(), val.size(), &p->prvals.back());
    } else if (kind == "create") {
      rados_write_op_create(op, s.Get("exclusive").ToBoolean() ? LIBRADOS_CREATE_EXCLUSIVE : LIBRADOS_CREATE_IDEMPOTENT, nullptr);
    } else if (kind == "write") {
      std::string d = BytesOf(s.Get("data"), "data");
      rados_write_op_write(op, d.data(), d.size(), U64(s, "offset"));
    } else if (kind == "write_full") {
      std::string d = BytesOf(s.Get("data"), "data");
      rados_write_op_write_full(op, d.data(), d.size());
    } else if (kind == "append") {
      std::string d = BytesOf(s.Get("data"), "data");
      rados_write_op_append(op, d.data(), d.size());
    } else if (kind == "truncate") {
      rados_write_op_truncate(op, U64(s, "size"));
    } else if (kind == "zero") {
      uint64_t len = U64(s, "length");
      // The 16.2 OSD asserts on a zero-length CEPH_OSD_OP_ZERO (osd crash): never send one.
      if (len > 0) rados_write_op_zero(op, U64(s, "offset"), len);
    } else if (kind == "remove") {
      rados_write_op_remove(op);
    } else if (kind == "setxattr") {
      std::string name = Str(s, "name"), val = BytesOf(s.Get("value"), "value");
      rados_write_op_setxattr(op, name.c_str(), val.data(), val.size());
    } else if (kind == "rmxattr") {
      std::string name = Str(s, "name");
      rados_write_op_rmxattr(op, name.c_str());
    } else if (kind == "omap_set") {
      auto keys = StrList(s, "keys"), vals = StrList(s, "values");
      if (keys.size() != vals.size()) throw Napi::TypeError::New(env, "omap_set: keys and values differ in length");
      std::vector<const char*> k, v;
      std::vector<size_t> kl, vl;
      for (size_t j = 0; j < keys.size(); j++) {
        k.push_back(keys[j].data());
        kl.push_back(keys[j].size());
        v.push_back(vals[j].data());
        vl.push_back(vals[j].size());
      }
      rados_write_op_omap_set2(op, k.data(), v.data(), kl.data(), vl.data(), keys.size());
    } else if (kind == "omap_rm") {
      auto keys = StrList(s, "keys");
      std::vector<const char*> k;
      std::vector<size_t> kl;
      for (auto& key : keys) {
        k.push_back(key.data());
        kl.push_back(key.size());
      }
      rados_write_op_omap_rm_keys2(op, k.data(), kl.data(), keys.size());
    } else if (kind == "omap_clear") {
      rados_write_op_omap_clear(op);
    } else if (kind == "exec") {
      std::string cls = Str(s, "cls"), method = Str(s, "method");
      std::string in = s.Has("input") && !s.Get("input").IsUndefined() ? BytesOf(s.Get("input"), "input") : std::string();
      p->prvals.push_back(0);
      rados_write_op_exec(op, cls.c_str(), method.c_str(), in.data(), in.size(), &p->prvals.back());
    } else {
      throw Napi::TypeError::New(env, "unknown write step '" + kind + "'");
    }
    if (s.Get("failok").ToBoolean()) rados_write_op_set_flags(op, LIBRADOS_OP_FLAG_FAILOK);
  }
  auto io = st->io;
  WriteOpAio* raw = p.release();
  return SubmitAio(env, raw, [&](rados_completion_t c) { return rados_aio_write_op_operate(op, io, c, oid.c_str(), nullptr, flags); });
}

// readOp(oid, steps[], flags?) → { version, results: [{ op, prval, … }] }.
Napi::Value IoCtx::ReadOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "steps must be an array");
  auto steps = info[1].As<Napi::Array>();
  int flags = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  std::unique_ptr<ReadOpAio> p(new ReadOpAio(st, env, "rados_read_op_operate " + oid));
  rados_read_op_t op = p->op;
  for (uint32_t i = 0; i < steps.Length(); i++) {
    Napi::Object s = StepAt(env, steps, i);
    std::string kind = Str(s, "op");
    p->slots.emplace_back();
    ReadSlot& slot = p->slots.back();
    slot.kind = kind;
    if (kind == "assert_exists") {
      rados_read_op_assert_exists(op);
    } else if (kind == "assert_version") {
      rados_read_op_assert_version(op, U64(s, "version"));
    } else if (kind == "cmpxattr") {
      std::string name = Str(s, "name"), val = BytesOf(s.Get("value"), "value");
      rados_read_op_cmpxattr(op, name.c_str(), CmpOf(s), val.data(), val.size());
    } else if (kind == "omap_cmp") {
      std::string key = Str(s, "key"), val = BytesOf(s.Get("value"), "value");
      rados_read_op_omap_cmp2(op, key.data(), CmpOf(s), val.data(), key.size(), val.size(), &slot.prval);
    } else if (kind == "read") {
      uint64_t len = U64(s, "length");
      if (len > (1ull << 31)) throw RadosError(env, "read op", -EINVAL);
      slot.buf = static_cast<char*>(malloc(len ? len : 1));
      if (!slot.buf) throw RadosError(env, "read op", -ENOMEM);
      // Length 0 means "to the end of the object" to the OSD, which would overrun the
      // buffer: a zero-length read step reads nothing and is not sent.
      if (len > 0) rados_read_op_read(op, U64(s, "offset"), len, slot.buf, &slot.bytes, &slot.prval);
    } else if (kind == "stat") {
      rados_read_op_stat(op, &slot.size, &slot.mtime, &slot.prval);
    } else if (kind == "getxattrs") {
      rados_read_op_getxattrs(op, &slot.xattrs, &slot.prval);
    } else if (kind == "omap_get_vals") {
      Napi::Value after = s.Get("after"), prefix = s.Get("prefix");
      std::string a = after.IsString() ? after.As<Napi::String>().Utf8Value() : std::string();
      std::string pr = prefix.IsString() ? prefix.As<Napi::String>().Utf8Value() : std::string();
      rados_read_op_omap_get_vals2(op, after.IsString() ? a.c_str() : nullptr, prefix.IsString() ? pr.c_str() : nullptr,
                                   U64(s, "max"), &slot.omap, &slot.more, &slot.prval);
    } else if (kind == "omap_get_vals_by_keys") {
      auto keys = StrList(s, "keys");
      std::vector<const char*> k;
      std::vector<size_t> kl;
      for (auto& key : keys) {
        k.push_back(key.data());
        kl.push_back(key.size());
      }
      rados_read_op_omap_get_vals_by_keys2(op, k.data(), keys.size(), kl.data(), &slot.omap, &slot.prval);
    } else if (kind == "exec") {
      std::string cls = Str(s, "cls"), method = Str(s, "method");
      std::string in = s.Has("input") && !s.Get("input").IsUndefined() ? BytesOf(s.Get("input"), "input") : std::string();
      rados_read_op_exec(op, cls.c_str(), method.c_str(), in.data(), in.size(), &slot.out, &slot.outLen, &slot.prval);
    } else {
      throw Napi::TypeError::New(env, "unknown read step '" + kind + "'");
    }
    if (s.Get("failok").ToBoolean()) rados_read_op_set_flags(op, LIBRADOS_OP_FLAG_FAILOK);
  }
  auto io = st->io;
  ReadOpAio* raw = p.release();
  return SubmitAio(env, raw, [&](rados_completion_t c) { return rados_aio_read_op_operate(op, io, c, oid.c_str(), flags); });
}

}  // namespace ceph_napi
