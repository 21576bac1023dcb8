#include "engine/expression.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace sevex::engine {

const char* TruthName(Truth t) {
  switch (t) {
    case Truth::kTrue: return "true";
    case Truth::kFalse: return "false";
    default: return "unknown";
  }
}

namespace {

enum class Tok : uint8_t {
  kEnd, kNumber, kIdent, kLParen, kRParen, kLBrace, kRBrace, kComma,
  kPlus, kMinus, kStar, kSlash, kLt, kLe, kGt, kGe, kEq, kNe,
};

struct Token {
  Tok kind;
  int offset;  // in the expression text
  absl::string_view text;
  double number = 0;
};

const char* TokName(Tok t) {
  switch (t) {
    case Tok::kEnd: return "end of expression";
    case Tok::kNumber: return "a number";
    case Tok::kIdent: return "a name";
    case Tok::kLParen: return "'('";
    case Tok::kRParen: return "')'";
    case Tok::kLBrace: return "'{'";
    case Tok::kRBrace: return "'}'";
    case Tok::kComma: return "','";
    case Tok::kPlus: return "'+'";
    case Tok::kMinus: return "'-'";
    case Tok::kStar: return "'*'";
    case Tok::kSlash: return "'/'";
    case Tok::kLt: return "'<'";
    case Tok::kLe: return "'<='";
    case Tok::kGt: return "'>'";
    case Tok::kGe: return "'>='";
    case Tok::kEq: return "'=='";
    case Tok::kNe: return "'!='";
  }
  return "?";
}

int EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string TypeName(const ExprType& t, const AttributeRegistry& registry) {
  switch (t.kind) {
    case ExprType::kNumber: return "a number";
    case ExprType::kBool: return "a boolean";
    case ExprType::kEnum: return absl::StrCat("a value of ", registry.name(t.enum_slot));
  }
  return "?";
}

}  // namespace

// Recursive-descent parser that emits postfix code as it goes. One instance per expression
// text; definitions are parsed by nested instances writing into the same program.
class ExpressionParser {
 public:
  struct Shared {
    const AttributeRegistry& registry;
    const Definitions& defines;
    std::vector<Expression::Instr> code;
    absl::flat_hash_set<int> reads;
    std::vector<std::string> expanding;  // definitions being inlined, for cycle detection
    int depth = 0;
    int max_depth = 0;
    int nesting = 0;  // parentheses, 'not', unary '-', calls and definitions open around the parser
  };

  ExpressionParser(absl::string_view text, SourceLocation where, Shared& shared)
      : text_(text), where_(std::move(where)), s_(shared) {}

  absl::StatusOr<ExprType> ParseAll() {
    RETURN_IF_ERROR(Lex());
    ASSIGN_OR_RETURN(ExprType t, ParseOr());
    if (Peek().kind != Tok::kEnd) {
      return Error(Peek(), absl::StrCat("unexpected ", Describe(Peek()),
                                        "; expected an operator or the end of the expression"));
    }
    return t;
  }

 private:
  using Op = Expression::Op;

  absl::Status Lex() {
    size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      Token t{Tok::kEnd, static_cast<int>(i), {}};
      if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < text_.size() &&
                                                          std::isdigit(static_cast<unsigned char>(text_[i + 1])))) {
        size_t j = i;
        std::string digits;
        while (j < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[j])) ||
                                    text_[j] == '.' || text_[j] == '_')) {
          if (text_[j] != '_') digits.push_back(text_[j]);
          ++j;
        }
        if (j < text_.size() && (text_[j] == 'e' || text_[j] == 'E')) {
          digits.push_back('e');
          ++j;
          if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) digits.push_back(text_[j++]);
          while (j < text_.size() && std::isdigit(static_cast<unsigned char>(text_[j]))) {
            digits.push_back(text_[j++]);
          }
        }
        t.kind = Tok::kNumber;
        t.text = text_.substr(i, j - i);
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), t.number);
        if (ec != std::errc() || end != digits.data() + digits.size() ||
            (j < text_.size() && std::isalpha(static_cast<unsigned char>(text_[j])))) {
          return ErrorAtOffset(static_cast<int>(i),
                               absl::StrCat("malformed number '", text_.substr(i, j - i + 1), "'"));
        }
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[j])) || text_[j] == '_')) ++j;
        t.kind = Tok::kIdent;
        t.text = text_.substr(i, j - i);
        i = j;
      } else {
        const char n = i + 1 < text_.size() ? text_[i + 1] : '\0';
        int len = 1;
        switch (c) {
          case '(': t.kind = Tok::kLParen; break;
          case ')': t.kind = Tok::kRParen; break;
          case '{': t.kind = Tok::kLBrace; break;
          case '}': t.kind = Tok::kRBrace; break;
          case ',': t.kind = Tok::kComma; break;
          case '+': t.kind = Tok::kPlus; break;
          case '-': t.kind = Tok::kMinus; break;
          case '*': t.kind = Tok::kStar; break;
          case '/': t.kind = Tok::kSlash; break;
          case '<':
            t.kind = n == '=' ? Tok::kLe : Tok::kLt;
            len = n == '=' ? 2 : 1;
            break;
          case '>':
            t.kind = n == '=' ? Tok::kGe : Tok::kGt;
            len = n == '=' ? 2 : 1;
            break;
          case '=':
            if (n != '=') return ErrorAtOffset(static_cast<int>(i), "'=' is not an operator; compare with '=='");
            t.kind = Tok::kEq;
            len = 2;
            break;
          case '!':
            if (n != '=') return ErrorAtOffset(static_cast<int>(i), "'!' is not an operator; negate with 'not'");
            t.kind = Tok::kNe;
            len = 2;
            break;
          case '&':
            return ErrorAtOffset(static_cast<int>(i), "'&' is not an operator; use 'and'");
          case '|':
            return ErrorAtOffset(static_cast<int>(i), "'|' is not an operator; use 'or'");
          default:
            return ErrorAtOffset(static_cast<int>(i), absl::StrCat("unexpected character '", std::string(1, c), "'"));
        }
        t.text = text_.substr(i, len);
        i += len;
      }
      tokens_.push_back(t);
    }
    tokens_.push_back(Token{Tok::kEnd, static_cast<int>(text_.size()), {}});
    return absl::OkStatus();
  }

  const Token& Peek(int ahead = 0) const {
    const size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsWord(const Token& t, absl::string_view w) const { return t.kind == Tok::kIdent && t.text == w; }
  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kIdent || t.kind == Tok::kNumber) return absl::StrCat("'", t.text, "'");
    return TokName(t.kind);
  }

  absl::Status ErrorAtOffset(int offset, absl::string_view message) const {
    return ErrorAt(where_.Advanced(offset), message);
  }
  absl::Status Error(const Token& t, absl::string_view message) const {
    return ErrorAtOffset(t.offset, message);
  }

  absl::Status Expect(Tok kind, absl::string_view context) {
    if (Peek().kind != kind) {
      return Error(Peek(), absl::StrCat("expected ", TokName(kind), " ", context, ", found ", Describe(Peek())));
    }
    Next();
    return absl::OkStatus();
  }

  // One level of nesting, closed when it goes out of scope. The parser recurses once per level,
  // so the level is bounded before the recursion; and definitions can double the program at
  // each level (`a := b + b`, `b := c + c`, …), so the program's size is bounded before a
  // definition is inlined.
  class Level {
   public:
    explicit Level(Shared& s) : s_(s) { ++s_.nesting; }
    ~Level() { --s_.nesting; }
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;

   private:
    Shared& s_;
  };
  absl::Status CheckNesting(const Token& at) const {
    if (s_.nesting > Expression::kMaxNesting) {
      return Error(at, absl::StrCat("expression nests too deeply (more than ", Expression::kMaxNesting,
                                    " levels of parentheses, 'not', '-', calls and definitions)"));
    }
    return absl::OkStatus();
  }

  void Emit(Expression::Instr in, int stack_effect) {
    s_.code.push_back(in);
    s_.depth += stack_effect;
    s_.max_depth = std::max(s_.max_depth, s_.depth);
  }

  absl::Status NeedType(const ExprType& got, ExprType::Kind want, const Token& at, absl::string_view what) {
    if (got.kind == want) return absl::OkStatus();
    const char* wanted = want == ExprType::kNumber ? "a number" : want == ExprType::kBool ? "a boolean" : "an enum";
    return Error(at, absl::StrCat(what, " expects ", wanted, ", got ", TypeName(got, s_.registry)));
  }

  absl::StatusOr<ExprType> ParseOr() {
    const Token& first = Peek();
    ASSIGN_OR_RETURN(ExprType t, ParseAnd());
    while (IsWord(Peek(), "or")) {
      Next();
      RETURN_IF_ERROR(NeedType(t, ExprType::kBool, first, "'or'"));
      const size_t jump = s_.code.size();
      Emit({Op::kJumpIfKnownTrue}, 0);
      const Token& rhs_at = Peek();
      ASSIGN_OR_RETURN(ExprType r, ParseAnd());
      RETURN_IF_ERROR(NeedType(r, ExprType::kBool, rhs_at, "'or'"));
      Emit({Op::kOr}, -1);
      s_.code[jump].slot = static_cast<int32_t>(s_.code.size());
    }
    return t;
  }

  absl::StatusOr<ExprType> ParseAnd() {
    const Token& first = Peek();
    ASSIGN_OR_RETURN(ExprType t, ParseNot());
    while (IsWord(Peek(), "and")) {
      Next();
      RETURN_IF_ERROR(NeedType(t, ExprType::kBool, first, "'and'"));
      const size_t jump = s_.code.size();
      Emit({Op::kJumpIfKnownFalse}, 0);
      const Token& rhs_at = Peek();
      ASSIGN_OR_RETURN(ExprType r, ParseNot());
      RETURN_IF_ERROR(NeedType(r, ExprType::kBool, rhs_at, "'and'"));
      Emit({Op::kAnd}, -1);
      s_.code[jump].slot = static_cast<int32_t>(s_.code.size());
    }
    return t;
  }

  absl::StatusOr<ExprType> ParseNot() {
    if (IsWord(Peek(), "not")) {
      const Level level(s_);
      RETURN_IF_ERROR(CheckNesting(Next()));
      const Token& at = Peek();
      ASSIGN_OR_RETURN(ExprType t, ParseNot());
      RETURN_IF_ERROR(NeedType(t, ExprType::kBool, at, "'not'"));
      Emit({Op::kNot}, 0);
      return t;
    }
    return ParseComparison();
  }

  absl::StatusOr<ExprType> ParseComparison() {
    const Token& lhs_at = Peek();
    ASSIGN_OR_RETURN(ExprType lhs, ParseSum(-1));
    const Token& op = Peek();
    const bool negated_in = IsWord(op, "not") && IsWord(Peek(1), "in");
    if (IsWord(op, "in") || negated_in) {
      Next();
      if (negated_in) Next();
      if (lhs.kind != ExprType::kEnum) {
        return Error(lhs_at, absl::StrCat("'in' tests an enum attribute, got ", TypeName(lhs, s_.registry)));
      }
      RETURN_IF_ERROR(Expect(Tok::kLBrace, "after 'in'"));
      uint64_t mask = 0;
      while (true) {
        const Token& v = Peek();
        if (v.kind != Tok::kIdent) {
          return Error(v, absl::StrCat("expected a value of ", s_.registry.name(lhs.enum_slot), ", found ", Describe(v)));
        }
        ASSIGN_OR_RETURN(int ordinal, EnumValue(lhs.enum_slot, v));
        mask |= uint64_t{1} << ordinal;
        Next();
        if (Peek().kind == Tok::kComma) {
          Next();
          continue;
        }
        RETURN_IF_ERROR(Expect(Tok::kRBrace, "to close the set"));
        break;
      }
      Emit({Op::kIn, -1, 0, mask}, 0);
      if (negated_in) Emit({Op::kNot}, 0);
      return ExprType{ExprType::kBool};
    }
    Op cmp;
    switch (op.kind) {
      case Tok::kLt: cmp = Op::kLt; break;
      case Tok::kLe: cmp = Op::kLe; break;
      case Tok::kGt: cmp = Op::kGt; break;
      case Tok::kGe: cmp = Op::kGe; break;
      case Tok::kEq: cmp = Op::kEq; break;
      case Tok::kNe: cmp = Op::kNe; break;
      default: return lhs;
    }
    Next();
    const Token& rhs_at = Peek();
    ASSIGN_OR_RETURN(ExprType rhs, ParseSum(lhs.kind == ExprType::kEnum ? lhs.enum_slot : -1));
    const bool ordering = cmp != Op::kEq && cmp != Op::kNe;
    if (lhs.kind != rhs.kind || (lhs.kind == ExprType::kEnum && lhs.enum_slot != rhs.enum_slot)) {
      return Error(rhs_at, absl::StrCat(Describe(op), " compares ", TypeName(lhs, s_.registry),
                                        " with ", TypeName(rhs, s_.registry), "; both sides must be of one type"));
    }
    if (ordering && lhs.kind == ExprType::kBool) {
      return Error(op, absl::StrCat(Describe(op), " does not order booleans; use == or !="));
    }
    if (ordering && lhs.kind == ExprType::kEnum && !s_.registry.def(lhs.enum_slot).ordered()) {
      return Error(op, absl::StrCat(s_.registry.name(lhs.enum_slot), " is not an ordered enum; use ==, != or 'in'"));
    }
    Emit({cmp}, -1);
    return ExprType{ExprType::kBool};
  }

  absl::StatusOr<ExprType> ParseSum(int enum_hint) {
    const Token& first = Peek();
    ASSIGN_OR_RETURN(ExprType t, ParseProduct(enum_hint));
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      const Token& op = Next();
      RETURN_IF_ERROR(NeedType(t, ExprType::kNumber, first, Describe(op)));
      const Token& rhs_at = Peek();
      ASSIGN_OR_RETURN(ExprType r, ParseProduct(-1));
      RETURN_IF_ERROR(NeedType(r, ExprType::kNumber, rhs_at, Describe(op)));
      Emit({op.kind == Tok::kPlus ? Op::kAdd : Op::kSub}, -1);
    }
    return t;
  }

  absl::StatusOr<ExprType> ParseProduct(int enum_hint) {
    const Token& first = Peek();
    ASSIGN_OR_RETURN(ExprType t, ParseUnary(enum_hint));
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash) {
      const Token& op = Next();
      RETURN_IF_ERROR(NeedType(t, ExprType::kNumber, first, Describe(op)));
      const Token& rhs_at = Peek();
      ASSIGN_OR_RETURN(ExprType r, ParseUnary(-1));
      RETURN_IF_ERROR(NeedType(r, ExprType::kNumber, rhs_at, Describe(op)));
      Emit({op.kind == Tok::kStar ? Op::kMul : Op::kDiv}, -1);
    }
    return t;
  }

  absl::StatusOr<ExprType> ParseUnary(int enum_hint) {
    if (Peek().kind == Tok::kMinus) {
      const Level level(s_);
      const Token& op = Next();
      RETURN_IF_ERROR(CheckNesting(op));
      const Token& at = Peek();
      ASSIGN_OR_RETURN(ExprType t, ParseUnary(-1));
      RETURN_IF_ERROR(NeedType(t, ExprType::kNumber, at, Describe(op)));
      Emit({Op::kNeg}, 0);
      return t;
    }
    return ParsePrimary(enum_hint);
  }

  absl::StatusOr<int> EnumValue(int slot, const Token& t) {
    if (std::optional<int> ordinal = s_.registry.EnumOrdinal(slot, t.text)) return *ordinal;
    return Error(t, absl::StrCat("'", t.text, "' is not a value of ", s_.registry.name(slot), " (one of: ",
                                 absl::StrJoin(s_.registry.def(slot).values(), ", "), ")"));
  }

  absl::StatusOr<ExprType> ParsePrimary(int enum_hint) {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kNumber:
        Next();
        Emit({Op::kConst, -1, t.number}, +1);
        return ExprType{ExprType::kNumber};
      case Tok::kLParen: {
        const Level level(s_);
        RETURN_IF_ERROR(CheckNesting(Next()));
        ASSIGN_OR_RETURN(ExprType inner, ParseOr());
        RETURN_IF_ERROR(Expect(Tok::kRParen, "to close '('"));
        return inner;
      }
      case Tok::kIdent:
        break;
      default:
        return Error(t, absl::StrCat("expected a value, an attribute or '(', found ", Describe(t)));
    }
    Next();
    if (t.text == "true" || t.text == "false") {
      Emit({Op::kConst, -1, t.text == "true" ? 1.0 : 0.0}, +1);
      return ExprType{ExprType::kBool};
    }
    if (Peek().kind == Tok::kLParen) return ParseCall(t);
    if (t.text == "and" || t.text == "or" || t.text == "not" || t.text == "in") {
      return Error(t, absl::StrCat("expected a value before '", t.text, "'"));
    }
    if (enum_hint >= 0) {
      if (std::optional<int> ordinal = s_.registry.EnumOrdinal(enum_hint, t.text)) {
        Emit({Op::kConst, -1, static_cast<double>(*ordinal)}, +1);
        return ExprType{ExprType::kEnum, enum_hint};
      }
    }
    if (auto it = s_.defines.find(t.text); it != s_.defines.end()) return Inline(t, it->second);
    if (std::optional<int> slot = s_.registry.Find(t.text)) {
      s_.reads.insert(*slot);
      Emit({Op::kLoad, *slot}, +1);
      const v1::AttributeDef& def = s_.registry.def(*slot);
      switch (def.type()) {
        case v1::AttributeDef::ENUM: return ExprType{ExprType::kEnum, *slot};
        case v1::AttributeDef::BOOLEAN: return ExprType{ExprType::kBool};
        default: return ExprType{ExprType::kNumber};
      }
    }
    if (enum_hint >= 0) {
      ASSIGN_OR_RETURN(int ignored, EnumValue(enum_hint, t));
      (void)ignored;
    }
    return Error(t, absl::StrCat("unknown attribute '", t.text, "'", Suggest(t.text),
                                 " (not in the attribute registry, nor a definition of this policy)"));
  }

  std::string Suggest(absl::string_view name) const {
    std::string best;
    int best_d = 3;
    for (int i = 0; i < s_.registry.size(); ++i) {
      const int d = EditDistance(name, s_.registry.name(i));
      if (d < best_d) {
        best_d = d;
        best = s_.registry.name(i);
      }
    }
    for (const auto& [def_name, def] : s_.defines) {
      const int d = EditDistance(name, def_name);
      if (d < best_d) {
        best_d = d;
        best = def_name;
      }
    }
    return best.empty() ? "" : absl::StrCat(" (did you mean '", best, "'?)");
  }

  absl::StatusOr<ExprType> Inline(const Token& at, const Definition& def) {
    const std::string name(at.text);
    if (std::find(s_.expanding.begin(), s_.expanding.end(), name) != s_.expanding.end()) {
      return Error(at, absl::StrCat("definition '", name, "' refers to itself (through ",
                                    absl::StrJoin(s_.expanding, " -> "), ")"));
    }
    const Level level(s_);
    RETURN_IF_ERROR(CheckNesting(at));
    if (s_.code.size() > Expression::kMaxCode) {
      return Error(at, absl::StrCat("definitions expand to more than ", Expression::kMaxCode,
                                    " steps of compiled code"));
    }
    s_.expanding.push_back(name);
    ExpressionParser nested(def.text, def.where, s_);
    absl::StatusOr<ExprType> t = nested.ParseAll();
    s_.expanding.pop_back();
    return t;
  }

  absl::StatusOr<ExprType> ParseCall(const Token& fn) {
    const Level level(s_);
    RETURN_IF_ERROR(CheckNesting(fn));
    RETURN_IF_ERROR(Expect(Tok::kLParen, "after a function name"));
    if (fn.text == "present") {
      const Token& a = Peek();
      std::optional<int> slot = a.kind == Tok::kIdent ? s_.registry.Find(a.text) : std::nullopt;
      if (!slot) return Error(a, absl::StrCat("present() takes an attribute name, found ", Describe(a)));
      Next();
      s_.reads.insert(*slot);
      RETURN_IF_ERROR(Expect(Tok::kRParen, "to close present("));
      Emit({Op::kPresent, *slot}, +1);
      return ExprType{ExprType::kBool};
    }
    if (fn.text != "min" && fn.text != "max") {
      return Error(fn, absl::StrCat("unknown function '", fn.text, "' (known: min, max, present)"));
    }
    const Op op = fn.text == "min" ? Op::kMin : Op::kMax;
    int args = 0;
    while (true) {
      const Token& at = Peek();
      ASSIGN_OR_RETURN(ExprType t, ParseSum(-1));
      RETURN_IF_ERROR(NeedType(t, ExprType::kNumber, at, absl::StrCat(fn.text, "()")));
      if (++args > 1) Emit({op}, -1);
      if (Peek().kind == Tok::kComma) {
        Next();
        continue;
      }
      RETURN_IF_ERROR(Expect(Tok::kRParen, absl::StrCat("to close ", fn.text, "(")));
      break;
    }
    if (args < 2) return Error(fn, absl::StrCat(fn.text, "() takes at least two arguments"));
    return ExprType{ExprType::kNumber};
  }

  absl::string_view text_;
  SourceLocation where_;
  Shared& s_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

absl::StatusOr<Expression> Expression::Compile(absl::string_view text,
                                               const AttributeRegistry& registry,
                                               const Definitions& defines,
                                               const SourceLocation& where) {
  ExpressionParser::Shared shared{registry, defines, {}, {}, {}, 0, 0};
  ExpressionParser parser(text, where, shared);
  ASSIGN_OR_RETURN(ExprType type, parser.ParseAll());
  if (shared.max_depth > kMaxStack) {
    return ErrorAt(where, absl::StrCat("expression nests too deeply (", shared.max_depth,
                                       " operands pending; at most ", kMaxStack, ")"));
  }
  if (shared.code.size() > kMaxCode) {
    return ErrorAt(where,
                   absl::StrCat("expression compiles to ", shared.code.size(), " steps; at most ", kMaxCode));
  }
  Expression e;
  e.text_ = std::string(text);
  e.type_ = type;
  e.code_ = std::move(shared.code);
  e.reads_.assign(shared.reads.begin(), shared.reads.end());
  std::sort(e.reads_.begin(), e.reads_.end());
  return e;
}

Expression::Value Expression::Run(const AttributeSet& attrs) const {
  Value stack[kMaxStack];
  int sp = 0;
  const size_t n = code_.size();
  for (size_t pc = 0; pc < n; ++pc) {
    const Instr& in = code_[pc];
    switch (in.op) {
      case Op::kJumpIfKnownFalse:
        if (stack[sp - 1].known && stack[sp - 1].v == 0) pc = static_cast<size_t>(in.slot) - 1;
        break;
      case Op::kJumpIfKnownTrue:
        if (stack[sp - 1].known && stack[sp - 1].v != 0) pc = static_cast<size_t>(in.slot) - 1;
        break;
      case Op::kConst:
        stack[sp++] = {in.k, true};
        break;
      case Op::kLoad:
        stack[sp++] = attrs.has(in.slot) ? Value{attrs.value(in.slot), true} : Value{0, false};
        break;
      case Op::kPresent:
        stack[sp++] = {attrs.has(in.slot) ? 1.0 : 0.0, true};
        break;
      case Op::kNeg:
        stack[sp - 1].v = -stack[sp - 1].v;
        break;
      case Op::kNot:
        stack[sp - 1].v = stack[sp - 1].v != 0 ? 0.0 : 1.0;
        break;
      case Op::kIn: {
        Value& a = stack[sp - 1];
        a.v = (in.mask >> static_cast<int>(a.v)) & 1 ? 1.0 : 0.0;
        break;
      }
      case Op::kAnd: {
        const Value b = stack[--sp];
        Value& a = stack[sp - 1];
        if ((a.known && a.v == 0) || (b.known && b.v == 0)) {
          a = {0, true};
        } else {
          a = {1, a.known && b.known};
        }
        break;
      }
      case Op::kOr: {
        const Value b = stack[--sp];
        Value& a = stack[sp - 1];
        if ((a.known && a.v != 0) || (b.known && b.v != 0)) {
          a = {1, true};
        } else {
          a = {0, a.known && b.known};
        }
        break;
      }
      default: {
        const Value b = stack[--sp];
        Value& a = stack[sp - 1];
        a.known = a.known && b.known;
        switch (in.op) {
          case Op::kAdd: a.v += b.v; break;
          case Op::kSub: a.v -= b.v; break;
          case Op::kMul: a.v *= b.v; break;
          case Op::kDiv:
            if (b.v == 0) {
              a = {0, false};
            } else {
              a.v /= b.v;
            }
            break;
          case Op::kMin: a.v = std::min(a.v, b.v); break;
          case Op::kMax: a.v = std::max(a.v, b.v); break;
          case Op::kLt: a.v = a.v < b.v; break;
          case Op::kLe: a.v = a.v <= b.v; break;
          case Op::kGt: a.v = a.v > b.v; break;
          case Op::kGe: a.v = a.v >= b.v; break;
          case Op::kEq: a.v = a.v == b.v; break;
          case Op::kNe: a.v = a.v != b.v; break;
          default: break;
        }
      }
    }
  }
  return stack[0];
}

Truth Expression::Test(const AttributeSet& attrs) const {
  const Value v = Run(attrs);
  if (!v.known) return Truth::kUnknown;
  return v.v != 0 ? Truth::kTrue : Truth::kFalse;
}

std::optional<double> Expression::Number(const AttributeSet& attrs) const {
  const Value v = Run(attrs);
  if (!v.known) return std::nullopt;
  return v.v;
}

bool Expression::IsConstantTrue() const {
  return type_.kind == ExprType::kBool && code_.size() == 1 && code_[0].op == Op::kConst &&
         code_[0].k != 0;
}

bool Expression::SameProgram(const Expression& other) const { return code_ == other.code_; }

}  // namespace sevex::engine
