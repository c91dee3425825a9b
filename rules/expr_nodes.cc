#include "rules/expr_nodes.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "rules/named_list.h"
#include "rules/text_normalizer.h"

namespace txscreen::rules {
namespace {

int64_t Saturate(__int128 v) {
  if (v > std::numeric_limits<int64_t>::max()) {
    return std::numeric_limits<int64_t>::max();
  }
  if (v < std::numeric_limits<int64_t>::min()) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(v);
}

class ConstInt final : public Expr {
 public:
  ConstInt(Type type, int64_t value) : Expr(type), value_(value) {}
  int64_t EvalInt(const EvalContext&) const override { return value_; }
  bool IsConstant() const override { return true; }

 private:
  int64_t value_;
};

class ConstString final : public Expr {
 public:
  explicit ConstString(std::string value)
      : Expr(StringType()), value_(std::move(value)) {}
  int64_t EvalInt(const EvalContext&) const override { return 0; }
  absl::string_view EvalString(const EvalContext&) const override {
    return value_;
  }
  bool IsConstant() const override { return true; }

 private:
  std::string value_;
};

class Field final : public Expr {
 public:
  explicit Field(const FieldDef* f) : Expr(f->type), f_(f) {}
  const FieldDef* def() const { return f_; }
  int64_t EvalInt(const EvalContext& ctx) const override {
    return f_->get_int != nullptr ? f_->get_int(ctx) : 0;
  }
  absl::string_view EvalString(const EvalContext& ctx) const override {
    return f_->get_string != nullptr ? f_->get_string(ctx)
                                     : absl::string_view();
  }

 private:
  const FieldDef* f_;
};

class Present final : public Expr {
 public:
  explicit Present(const FieldDef* f) : Expr(BoolType()), f_(f) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return f_->present == nullptr || f_->present(ctx);
  }

 private:
  const FieldDef* f_;
};

class Window final : public Expr {
 public:
  Window(int index, Type type) : Expr(type), index_(index) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return ctx.window_values != nullptr ? ctx.window_values->Value(index_)
                                        : ctx.windows[index_];
  }

 private:
  int index_;
};

class Score final : public Expr {
 public:
  explicit Score(int index) : Expr(IntType()), index_(index) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return ctx.scores[index_];
  }

 private:
  int index_;
};

class Memo final : public Expr {
 public:
  Memo(int slot, ExprPtr e)
      : Expr(e->type()),
        bit_(uint64_t{1} << slot),
        slot_(slot),
        e_(std::move(e)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    if (ctx.memo_valid & bit_) return ctx.memo[slot_];
    const int64_t v = e_->EvalInt(ctx);
    ctx.memo[slot_] = v;
    ctx.memo_valid |= bit_;
    if (v != 0) ctx.memo_true |= bit_;
    return v;
  }
  uint64_t bit() const { return bit_; }
  int slot() const { return slot_; }

 private:
  uint64_t bit_;
  int slot_;
  ExprPtr e_;
};

// An operand that may be shared (a Memo): once its value is known in this
// transaction it is read from the context without a virtual call. The
// window filters and rule conditions of a pack are mostly conjunctions of
// shared tests (`tx.type != 'REVERSAL'`, `tx.direction == 'OUT'`, ...), so
// most operands evaluated are such reads.
struct Operand {
  explicit Operand(const Expr* expr) : e(expr) {
    if (const auto* memo = dynamic_cast<const Memo*>(expr)) {
      bit = memo->bit();
      slot = memo->slot();
    }
  }
  int64_t Eval(const EvalContext& ctx) const {
    if (ctx.memo_valid & bit) return ctx.memo[slot];  // never when bit is 0
    return e->EvalInt(ctx);
  }
  const Expr* e;
  uint64_t bit = 0;
  int slot = 0;
};

class Not final : public Expr {
 public:
  explicit Not(ExprPtr a)
      : Expr(BoolType()), a_(std::move(a)), operand_(a_.get()) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return operand_.Eval(ctx) == 0;
  }

 private:
  ExprPtr a_;
  Operand operand_;
};

// `a and b and c ...` (or `or`) as one node over all operands, left to
// right, stopping at the first that decides: one virtual call per operand
// instead of two per level of a binary tree. The operands already known in
// this transaction (shared ones evaluated by an earlier expression) are
// tested all at once first, from the context's bits: a window filter or
// rule condition that shares a false test with one evaluated before (most
// of them: the tests of type, direction, currency) ends there, without a
// walk.
class Logical final : public Expr {
 public:
  Logical(bool is_and, std::vector<ExprPtr> operands)
      : Expr(BoolType()), is_and_(is_and), operands_(std::move(operands)) {
    ops_.reserve(operands_.size());
    for (const ExprPtr& e : operands_) {
      ops_.emplace_back(e.get());
      shared_ |= ops_.back().bit;
    }
  }
  int64_t EvalInt(const EvalContext& ctx) const override {
    const uint64_t known = ctx.memo_valid & shared_;
    const uint64_t known_true = ctx.memo_true & known;
    if (is_and_ ? known_true != known : known_true != 0) return !is_and_;
    for (const Operand& op : ops_) {
      if (op.bit & known) continue;  // known not to decide
      if ((op.Eval(ctx) != 0) != is_and_) return !is_and_;
    }
    return is_and_;
  }

 private:
  bool is_and_;
  uint64_t shared_ = 0;            // the memo bits of the shared operands
  std::vector<ExprPtr> operands_;  // owns what ops_ points to
  std::vector<Operand> ops_;
};

class Negate final : public Expr {
 public:
  explicit Negate(ExprPtr a) : Expr(a->type()), a_(std::move(a)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return Saturate(-static_cast<__int128>(a_->EvalInt(ctx)));
  }

 private:
  ExprPtr a_;
};

template <typename T>
bool Compare(CmpOp op, const T& a, const T& b) {
  switch (op) {
    case CmpOp::kEq:
      return a == b;
    case CmpOp::kNe:
      return a != b;
    case CmpOp::kLt:
      return a < b;
    case CmpOp::kLe:
      return a <= b;
    case CmpOp::kGt:
      return a > b;
    case CmpOp::kGe:
      return a >= b;
  }
  return false;
}

class CompareScalar final : public Expr {
 public:
  CompareScalar(CmpOp op, ExprPtr a, int64_t sa, ExprPtr b, int64_t sb)
      : Expr(BoolType()),
        op_(op),
        a_(std::move(a)),
        b_(std::move(b)),
        sa_(sa),
        sb_(sb) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    __int128 a = static_cast<__int128>(a_->EvalInt(ctx)) * sa_;
    __int128 b = static_cast<__int128>(b_->EvalInt(ctx)) * sb_;
    return Compare(op_, a, b);
  }

 private:
  CmpOp op_;
  ExprPtr a_, b_;
  int64_t sa_, sb_;
};

class CompareString final : public Expr {
 public:
  CompareString(CmpOp op, ExprPtr a, ExprPtr b)
      : Expr(BoolType()), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return Compare(op_, a_->EvalString(ctx), b_->EvalString(ctx));
  }

 private:
  CmpOp op_;
  ExprPtr a_, b_;
};

// Specialised comparisons for the common shapes, chosen by the factories
// below: a field or any int against a constant, with the operator fixed at
// compile time (no switch, no 128-bit products, fewer virtual calls).
template <CmpOp Op>
bool CompareAs(int64_t a, int64_t b) {
  if constexpr (Op == CmpOp::kEq) return a == b;
  if constexpr (Op == CmpOp::kNe) return a != b;
  if constexpr (Op == CmpOp::kLt) return a < b;
  if constexpr (Op == CmpOp::kLe) return a <= b;
  if constexpr (Op == CmpOp::kGt) return a > b;
  if constexpr (Op == CmpOp::kGe) return a >= b;
}

template <CmpOp Op>
class CompareFieldConst final : public Expr {
 public:
  CompareFieldConst(ExprPtr field, int64_t (*get)(const EvalContext&),
                    int64_t k)
      : Expr(BoolType()), field_(std::move(field)), get_(get), k_(k) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return CompareAs<Op>(get_(ctx), k_);
  }

 private:
  ExprPtr field_;  // kept for ownership; read through get_
  int64_t (*get_)(const EvalContext&);
  int64_t k_;
};

template <CmpOp Op>
class CompareConst final : public Expr {
 public:
  CompareConst(ExprPtr a, int64_t k)
      : Expr(BoolType()), a_(std::move(a)), k_(k) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return CompareAs<Op>(a_->EvalInt(ctx), k_);
  }

 private:
  ExprPtr a_;
  int64_t k_;
};

template <CmpOp Op>
class CompareUnscaled final : public Expr {
 public:
  CompareUnscaled(ExprPtr a, ExprPtr b)
      : Expr(BoolType()), a_(std::move(a)), b_(std::move(b)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return CompareAs<Op>(a_->EvalInt(ctx), b_->EvalInt(ctx));
  }

 private:
  ExprPtr a_, b_;
};

// `field == 'text'` and `field != 'text'`.
class EqualsFieldText final : public Expr {
 public:
  EqualsFieldText(ExprPtr field, absl::string_view (*get)(const EvalContext&),
                  std::string text, bool equal)
      : Expr(BoolType()),
        field_(std::move(field)),
        get_(get),
        text_(std::move(text)),
        equal_(equal) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return (get_(ctx) == text_) == equal_;
  }

 private:
  ExprPtr field_;
  absl::string_view (*get_)(const EvalContext&);
  std::string text_;
  bool equal_;
};

// `value in (...)` where every listed value is in [0, 64): one bit test.
class InSmallSet final : public Expr {
 public:
  InSmallSet(ExprPtr v, uint64_t bits, bool negated)
      : Expr(BoolType()), v_(std::move(v)), bits_(bits), negated_(negated) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    const uint64_t v = static_cast<uint64_t>(v_->EvalInt(ctx));
    const bool found = v < 64 && ((bits_ >> v) & 1) != 0;
    return found != negated_;
  }

 private:
  ExprPtr v_;
  uint64_t bits_;
  bool negated_;
};

class Arith final : public Expr {
 public:
  Arith(ArithOp op, Type result, ExprPtr a, ExprPtr b, int64_t sa, int64_t sb,
        int64_t factor)
      : Expr(result),
        op_(op),
        a_(std::move(a)),
        b_(std::move(b)),
        sa_(sa),
        sb_(sb),
        factor_(factor) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    __int128 a = a_->EvalInt(ctx);
    __int128 b = b_->EvalInt(ctx);
    switch (op_) {
      case ArithOp::kAdd:
        return Saturate(a * sa_ + b * sb_);
      case ArithOp::kSub:
        return Saturate(a * sa_ - b * sb_);
      case ArithOp::kMul:
        // Both operands are int64 and factor <= 10^6, so a * b fits.
        return Saturate(a * b / factor_);
      case ArithOp::kDiv:
        if (b == 0) {
          ++ctx.division_by_zero;
          return 0;
        }
        return Saturate(a * factor_ / b);
    }
    return 0;
  }

 private:
  ArithOp op_;
  ExprPtr a_, b_;
  int64_t sa_, sb_, factor_;
};

class MinMax final : public Expr {
 public:
  MinMax(bool is_max, ExprPtr a, ExprPtr b)
      : Expr(a->type()), is_max_(is_max), a_(std::move(a)), b_(std::move(b)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    int64_t a = a_->EvalInt(ctx), b = b_->EvalInt(ctx);
    return is_max_ ? std::max(a, b) : std::min(a, b);
  }

 private:
  bool is_max_;
  ExprPtr a_, b_;
};

class Abs final : public Expr {
 public:
  explicit Abs(ExprPtr a) : Expr(a->type()), a_(std::move(a)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    __int128 v = a_->EvalInt(ctx);
    return Saturate(v < 0 ? -v : v);
  }

 private:
  ExprPtr a_;
};

class InScalarSet final : public Expr {
 public:
  InScalarSet(ExprPtr v, std::vector<int64_t> set, bool negated)
      : Expr(BoolType()),
        v_(std::move(v)),
        set_(std::move(set)),
        negated_(negated) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    int64_t v = v_->EvalInt(ctx);
    bool found = std::find(set_.begin(), set_.end(), v) != set_.end();
    return found != negated_;
  }

 private:
  ExprPtr v_;
  std::vector<int64_t> set_;
  bool negated_;
};

class InStringSet final : public Expr {
 public:
  InStringSet(ExprPtr v, std::vector<std::string> set, bool negated)
      : Expr(BoolType()),
        v_(std::move(v)),
        set_(std::move(set)),
        negated_(negated) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    absl::string_view v = v_->EvalString(ctx);
    bool found = false;
    for (const std::string& s : set_) {
      if (s == v) {
        found = true;
        break;
      }
    }
    return found != negated_;
  }

 private:
  ExprPtr v_;
  std::vector<std::string> set_;
  bool negated_;
};

// The normalised form of a string operand, cached per transaction when the
// operand is a transaction field with a slot.
absl::string_view Normalized(const Expr& e, int slot, const EvalContext& ctx) {
  const TextNormalizer& normalizer = TextNormalizer::Get();
  if (slot >= 0) {
    const uint32_t bit = 1u << slot;
    if ((ctx.normalized_valid & bit) == 0) {
      const absl::string_view text = e.EvalString(ctx);
      if (normalizer.IsAsciiFixedPoint(text)) {
        ctx.normalized_view[slot] = text;  // lives as long as the context
      } else {
        normalizer.Normalize(text, &ctx.normalized[slot]);
        ctx.normalized_view[slot] = ctx.normalized[slot];
      }
      ctx.normalized_valid |= bit;
    }
    return ctx.normalized_view[slot];
  }
  const absl::string_view text = e.EvalString(ctx);
  if (normalizer.IsAsciiFixedPoint(text)) return text;
  normalizer.Normalize(text, &ctx.scratch);
  return ctx.scratch;
}

class InList final : public Expr {
 public:
  InList(ExprPtr v, int slot, const NamedList* list, bool negated)
      : Expr(BoolType()),
        v_(std::move(v)),
        slot_(slot),
        list_(list),
        negated_(negated) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    absl::string_view n = Normalized(*v_, slot_, ctx);
    bool found = !n.empty() && list_->ContainsExact(n);
    return found != negated_;
  }

 private:
  ExprPtr v_;
  int slot_;
  const NamedList* list_;
  bool negated_;
};

class ContainsAny final : public Expr {
 public:
  ContainsAny(ExprPtr text, int slot, const NamedList* list)
      : Expr(BoolType()), text_(std::move(text)), slot_(slot), list_(list) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    absl::string_view n = Normalized(*text_, slot_, ctx);
    return !n.empty() && list_->ContainsPhraseIn(n);
  }

 private:
  ExprPtr text_;
  int slot_;
  const NamedList* list_;
};

class MatchedPhrase final : public Expr {
 public:
  MatchedPhrase(ExprPtr text, int slot, const NamedList* list)
      : Expr(StringType()), text_(std::move(text)), slot_(slot), list_(list) {}
  int64_t EvalInt(const EvalContext&) const override { return 0; }
  absl::string_view EvalString(const EvalContext& ctx) const override {
    absl::string_view n = Normalized(*text_, slot_, ctx);
    return n.empty() ? absl::string_view() : list_->FindPhraseIn(n);
  }

 private:
  ExprPtr text_;
  int slot_;
  const NamedList* list_;
};

class If final : public Expr {
 public:
  If(ExprPtr c, ExprPtr a, ExprPtr b)
      : Expr(a->type()), c_(std::move(c)), a_(std::move(a)), b_(std::move(b)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return c_->EvalBool(ctx) ? a_->EvalInt(ctx) : b_->EvalInt(ctx);
  }
  absl::string_view EvalString(const EvalContext& ctx) const override {
    return c_->EvalBool(ctx) ? a_->EvalString(ctx) : b_->EvalString(ctx);
  }

 private:
  ExprPtr c_, a_, b_;
};

class Contains final : public Expr {
 public:
  Contains(ExprPtr text, int slot, std::string literal)
      : Expr(BoolType()),
        text_(std::move(text)),
        slot_(slot),
        literal_(std::move(literal)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    absl::string_view n = Normalized(*text_, slot_, ctx);
    return n.find(literal_) != absl::string_view::npos;
  }

 private:
  ExprPtr text_;
  int slot_;
  std::string literal_;
};

class StartsWith final : public Expr {
 public:
  StartsWith(ExprPtr text, std::string prefix)
      : Expr(BoolType()), text_(std::move(text)), prefix_(std::move(prefix)) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    absl::string_view t = text_->EvalString(ctx);
    return t.substr(0, prefix_.size()) == prefix_;
  }

 private:
  ExprPtr text_;
  std::string prefix_;
};

class Prefix final : public Expr {
 public:
  Prefix(ExprPtr text, int n)
      : Expr(StringType()), text_(std::move(text)), n_(n) {}
  int64_t EvalInt(const EvalContext&) const override { return 0; }
  absl::string_view EvalString(const EvalContext& ctx) const override {
    absl::string_view t = text_->EvalString(ctx);
    // A code shorter than the prefix has no province: "" rather than a part.
    if (t.size() < static_cast<size_t>(n_)) return absl::string_view();
    return t.substr(0, n_);
  }

 private:
  ExprPtr text_;
  int n_;
};

class DurationUnits final : public Expr {
 public:
  DurationUnits(ExprPtr d, int64_t unit)
      : Expr(IntType()), d_(std::move(d)), unit_(unit) {}
  int64_t EvalInt(const EvalContext& ctx) const override {
    return d_->EvalInt(ctx) / unit_;
  }

 private:
  ExprPtr d_;
  int64_t unit_;
};

}  // namespace

ExprPtr MakeConstInt(Type type, int64_t value) {
  return std::make_unique<ConstInt>(type, value);
}
ExprPtr MakeConstString(std::string value) {
  return std::make_unique<ConstString>(std::move(value));
}
ExprPtr MakeField(const FieldDef* field) {
  return std::make_unique<Field>(field);
}
ExprPtr MakePresent(const FieldDef* field) {
  return std::make_unique<Present>(field);
}
ExprPtr MakeWindow(int index, Type type) {
  return std::make_unique<Window>(index, type);
}
ExprPtr MakeScore(int index) { return std::make_unique<Score>(index); }
ExprPtr MakeNot(ExprPtr operand) {
  return std::make_unique<Not>(std::move(operand));
}
ExprPtr MakeLogical(bool is_and, std::vector<ExprPtr> operands) {
  return std::make_unique<Logical>(is_and, std::move(operands));
}
ExprPtr MakeNegate(ExprPtr operand) {
  return std::make_unique<Negate>(std::move(operand));
}
namespace {

template <template <CmpOp> class Node, typename... Args>
ExprPtr ByOp(CmpOp op, Args&&... args) {
  switch (op) {
    case CmpOp::kEq:
      return std::make_unique<Node<CmpOp::kEq>>(std::forward<Args>(args)...);
    case CmpOp::kNe:
      return std::make_unique<Node<CmpOp::kNe>>(std::forward<Args>(args)...);
    case CmpOp::kLt:
      return std::make_unique<Node<CmpOp::kLt>>(std::forward<Args>(args)...);
    case CmpOp::kLe:
      return std::make_unique<Node<CmpOp::kLe>>(std::forward<Args>(args)...);
    case CmpOp::kGt:
      return std::make_unique<Node<CmpOp::kGt>>(std::forward<Args>(args)...);
    case CmpOp::kGe:
      return std::make_unique<Node<CmpOp::kGe>>(std::forward<Args>(args)...);
  }
  return nullptr;
}

CmpOp Mirrored(CmpOp op) {
  switch (op) {
    case CmpOp::kLt:
      return CmpOp::kGt;
    case CmpOp::kLe:
      return CmpOp::kGe;
    case CmpOp::kGt:
      return CmpOp::kLt;
    case CmpOp::kGe:
      return CmpOp::kLe;
    default:
      return op;
  }
}

}  // namespace

ExprPtr MakeCompareScalar(CmpOp op, ExprPtr a, int64_t scale_a, ExprPtr b,
                          int64_t scale_b) {
  if (scale_a == 1 && a->IsConstant() && !b->IsConstant()) {
    // `5 < x` is `x > 5`.
    std::swap(a, b);
    std::swap(scale_a, scale_b);
    op = Mirrored(op);
  }
  if (scale_a == 1 && b->IsConstant()) {
    // a op b * scale_b, with the right side worked out now when it fits.
    const __int128 k =
        static_cast<__int128>(b->EvalInt(EvalContext())) * scale_b;
    if (k >= std::numeric_limits<int64_t>::min() &&
        k <= std::numeric_limits<int64_t>::max()) {
      const auto* field = dynamic_cast<const Field*>(a.get());
      if (field != nullptr && field->def()->get_int != nullptr) {
        auto get = field->def()->get_int;
        return ByOp<CompareFieldConst>(op, std::move(a), get,
                                       static_cast<int64_t>(k));
      }
      return ByOp<CompareConst>(op, std::move(a), static_cast<int64_t>(k));
    }
  }
  if (scale_a == 1 && scale_b == 1) {
    return ByOp<CompareUnscaled>(op, std::move(a), std::move(b));
  }
  return std::make_unique<CompareScalar>(op, std::move(a), scale_a,
                                         std::move(b), scale_b);
}
ExprPtr MakeCompareString(CmpOp op, ExprPtr a, ExprPtr b) {
  if ((op == CmpOp::kEq || op == CmpOp::kNe) && a->IsConstant() &&
      !b->IsConstant()) {
    std::swap(a, b);
  }
  const auto* field = dynamic_cast<const Field*>(a.get());
  if ((op == CmpOp::kEq || op == CmpOp::kNe) && field != nullptr &&
      field->def()->get_string != nullptr && b->IsConstant()) {
    auto get = field->def()->get_string;
    std::string text(b->EvalString(EvalContext()));
    return std::make_unique<EqualsFieldText>(std::move(a), get, std::move(text),
                                             op == CmpOp::kEq);
  }
  return std::make_unique<CompareString>(op, std::move(a), std::move(b));
}
ExprPtr MakeArith(ArithOp op, Type result, ExprPtr a, ExprPtr b,
                  int64_t scale_a, int64_t scale_b, int64_t factor) {
  return std::make_unique<Arith>(op, result, std::move(a), std::move(b),
                                 scale_a, scale_b, factor);
}
ExprPtr MakeMinMax(bool is_max, ExprPtr a, ExprPtr b) {
  return std::make_unique<MinMax>(is_max, std::move(a), std::move(b));
}
ExprPtr MakeAbs(ExprPtr a) { return std::make_unique<Abs>(std::move(a)); }
ExprPtr MakeInScalarSet(ExprPtr value, std::vector<int64_t> set, bool negated) {
  if (std::all_of(set.begin(), set.end(),
                  [](int64_t v) { return v >= 0 && v < 64; })) {
    uint64_t bits = 0;
    for (int64_t v : set) bits |= uint64_t{1} << v;
    return std::make_unique<InSmallSet>(std::move(value), bits, negated);
  }
  return std::make_unique<InScalarSet>(std::move(value), std::move(set),
                                       negated);
}
ExprPtr MakeInStringSet(ExprPtr value, std::vector<std::string> set,
                        bool negated) {
  return std::make_unique<InStringSet>(std::move(value), std::move(set),
                                       negated);
}
ExprPtr MakeInList(ExprPtr value, int slot, const NamedList* list,
                   bool negated) {
  return std::make_unique<InList>(std::move(value), slot, list, negated);
}
ExprPtr MakeContainsAny(ExprPtr text, int slot, const NamedList* list) {
  return std::make_unique<ContainsAny>(std::move(text), slot, list);
}
ExprPtr MakeContains(ExprPtr text, int slot, std::string normalized_literal) {
  return std::make_unique<Contains>(std::move(text), slot,
                                    std::move(normalized_literal));
}
ExprPtr MakeMatchedPhrase(ExprPtr text, int slot, const NamedList* list) {
  return std::make_unique<MatchedPhrase>(std::move(text), slot, list);
}
ExprPtr MakeIf(ExprPtr condition, ExprPtr a, ExprPtr b) {
  return std::make_unique<If>(std::move(condition), std::move(a), std::move(b));
}
ExprPtr MakeStartsWith(ExprPtr text, std::string prefix) {
  return std::make_unique<StartsWith>(std::move(text), std::move(prefix));
}
ExprPtr MakePrefix(ExprPtr text, int n) {
  return std::make_unique<Prefix>(std::move(text), n);
}
ExprPtr MakeMemo(int slot, ExprPtr e) {
  return std::make_unique<Memo>(slot, std::move(e));
}
ExprPtr MakeDurationUnits(ExprPtr duration, int64_t unit_micros) {
  return std::make_unique<DurationUnits>(std::move(duration), unit_micros);
}

}  // namespace txscreen::rules
